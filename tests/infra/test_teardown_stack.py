"""Teardown stack (scheduled clean-up) and the Deployment stack's endpoint clean-up hook."""

from __future__ import annotations

from typing import Any

import pytest

from mlops.constants import TAG_ENVIRONMENT
from tests.synth import Synthesized

CLEANUP = "Scheduled clean-up of"


def _one(synth: Synthesized, stack: str, resource_type: str) -> tuple[str, dict[str, Any]]:
    (item,) = synth.resources(stack, resource_type).items()
    return item


def _function(synth: Synthesized, stack: str, description: str) -> tuple[str, dict[str, Any]]:
    (item,) = [
        (logical_id, fn)
        for logical_id, fn in synth.resources(stack, "AWS::Lambda::Function").items()
        if fn["Properties"].get("Description", "").startswith(description)
    ]
    return item


def _statements(synth: Synthesized, stack: str, role_id: str) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    for policy in synth.resources(stack, "AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else list(actions)


def test_schedule_uses_cron_and_time_zone_from_config(dev: Synthesized) -> None:
    _, schedule = _one(dev, "teardown", "AWS::Scheduler::Schedule")
    properties = schedule["Properties"]
    assert properties["ScheduleExpression"] == "cron(0 20 * * ? *)"  # cdk.json dev
    assert properties["ScheduleExpressionTimezone"] == "UTC"
    assert properties["State"] == "ENABLED"
    function_id, _ = _function(dev, "teardown", CLEANUP)
    target = properties["Target"]
    assert target["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    (queue_id, _) = _one(dev, "teardown", "AWS::SQS::Queue")
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue_id, "Arn"]}}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 2
    assert "KmsKeyArn" in properties


def test_schedule_role_may_invoke_only_the_cleanup_function(dev: Synthesized) -> None:
    function_id, _ = _function(dev, "teardown", CLEANUP)
    _, schedule = _one(dev, "teardown", "AWS::Scheduler::Schedule")
    role_id = schedule["Properties"]["Target"]["RoleArn"]["Fn::GetAtt"][0]
    statements = _statements(dev, "teardown", role_id)
    (statement,) = [s for s in statements if "lambda:InvokeFunction" in _actions(s)]
    assert statement["Resource"] == [
        {"Fn::GetAtt": [function_id, "Arn"]},
        {"Fn::Join": ["", [{"Fn::GetAtt": [function_id, "Arn"]}, ":*"]]},
    ]
    every_action = {a for s in _statements(dev, "teardown", role_id) for a in _actions(s)}
    assert every_action <= {
        "lambda:InvokeFunction",
        "sqs:SendMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
        "kms:Decrypt",
        "kms:Encrypt",
        "kms:ReEncrypt*",
        "kms:GenerateDataKey*",
        "kms:GenerateDataKey",
    }


def test_dead_letter_queue_is_kms_encrypted_with_the_data_key(dev: Synthesized) -> None:
    _, queue = _one(dev, "teardown", "AWS::SQS::Queue")
    key = queue["Properties"]["KmsMasterKeyId"]
    assert "DataKey" in str(key)


def test_dead_letters_raise_an_alarm_that_notifies(dev: Synthesized) -> None:
    queue_id, _ = _one(dev, "teardown", "AWS::SQS::Queue")
    _, alarm = _one(dev, "teardown", "AWS::CloudWatch::Alarm")
    properties = alarm["Properties"]
    assert properties["AlarmName"] == "mlops-dev-teardown-dead-letters"
    assert properties["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}
    ]
    assert properties["Threshold"] == 1
    assert properties["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert "NotificationsTopic" in str(properties["AlarmActions"])


@pytest.mark.parametrize(
    ("env", "dry_run", "endpoint_idle_hours"), [("dev", "false", "12"), ("prod", "true", "168")]
)
def test_function_settings_come_from_config(
    request: pytest.FixtureRequest, env: str, dry_run: str, endpoint_idle_hours: str
) -> None:
    synth: Synthesized = request.getfixturevalue(env)
    _, function = _function(synth, "teardown", CLEANUP)
    variables = function["Properties"]["Environment"]["Variables"]
    assert variables["MLOPS_ENVIRONMENT"] == env
    assert variables["DRY_RUN"] == dry_run
    assert variables["ENDPOINT_IDLE_HOURS"] == endpoint_idle_hours
    assert variables["JOB_TTL_HOURS"] == "24"
    assert "REPORT_TOPIC_ARN" in variables
    assert function["Properties"]["Timeout"] == 900


def _mutations_are_tag_scoped(synth: Synthesized, stack: str, role_id: str) -> list[str]:
    """Every Delete/Stop action is limited by the environment tag, a name prefix, or is an
    app deletion (apps carry no platform tags); returns the mutating actions found."""
    found = []
    for statement in _statements(synth, stack, role_id):
        actions = _actions(statement)
        assert "*" not in actions and not any(a.endswith(":*") for a in actions)
        mutating = [a for a in actions if a.split(":")[1].startswith(("Delete", "Stop"))]
        if not mutating or not any(a.startswith("sagemaker:") for a in mutating):
            continue
        found += mutating
        condition = statement.get("Condition", {}).get("StringEquals", {})
        resources = str(statement["Resource"])
        assert (
            condition.get(f"aws:ResourceTag/{TAG_ENVIRONMENT}") == synth.config.name
            or f":pipeline/mlops-{synth.config.name}-*" in resources
            or ":app/*" in resources
        ), statement
        assert statement["Resource"] != "*"
    return found


def test_cleanup_function_acts_only_on_tagged_resources(dev: Synthesized) -> None:
    _, function = _function(dev, "teardown", CLEANUP)
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    mutating = _mutations_are_tag_scoped(dev, "teardown", role_id)
    assert set(mutating) == {
        "sagemaker:DeleteMonitoringSchedule",
        "sagemaker:DeleteEndpoint",
        "sagemaker:StopProcessingJob",
        "sagemaker:StopTrainingJob",
        "sagemaker:StopTransformJob",
        "sagemaker:StopAutoMLJob",
        "sagemaker:StopPipelineExecution",
        "sagemaker:DeleteApp",
    }


def test_endpoint_cleanup_runs_on_delete_after_the_deploy_pipeline(dev: Synthesized) -> None:
    resources = dev.templates["deployment"]["Resources"]
    cleanup_id, cleanup = _one(dev, "deployment", "Custom::EndpointCleanup")
    function_id = cleanup["Properties"]["ServiceToken"]["Fn::GetAtt"][0]
    role_id = resources[function_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    # Deleted before its own function, role and policy (they must exist while it runs) ...
    depends_on = set(cleanup["DependsOn"])
    assert {function_id, role_id} <= depends_on
    assert any(resources[d]["Type"] == "AWS::IAM::Policy" for d in depends_on)
    # ... and after the deploy function and its event source, which could create endpoints.
    for resource_type in ("AWS::Lambda::EventSourceMapping", "AWS::SQS::Queue"):
        dependants = [
            logical_id
            for logical_id, r in resources.items()
            if r["Type"] == resource_type and cleanup_id in r.get("DependsOn", [])
        ]
        assert dependants, f"no {resource_type} is deleted before the clean-up"
    assert cleanup["DeletionPolicy"] == "Delete"


def test_endpoint_cleanup_deletes_only_tagged_endpoints_configs_models_monitoring(
    dev: Synthesized,
) -> None:
    _, cleanup = _one(dev, "deployment", "Custom::EndpointCleanup")
    function_id = cleanup["Properties"]["ServiceToken"]["Fn::GetAtt"][0]
    function = dev.templates["deployment"]["Resources"][function_id]
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    mutating = _mutations_are_tag_scoped(dev, "deployment", role_id)
    assert set(mutating) == {
        "sagemaker:DeleteMonitoringSchedule",
        "sagemaker:DeleteEndpoint",
        "sagemaker:DeleteEndpointConfig",
        "sagemaker:DeleteDataQualityJobDefinition",
        "sagemaker:DeleteModelQualityJobDefinition",
        "sagemaker:DeleteModel",
    }
    assert function["Properties"]["Environment"]["Variables"]["MLOPS_ENVIRONMENT"] == "dev"


def test_teardown_stack_holds_nothing_stateful(dev: Synthesized) -> None:
    stateful = {"AWS::S3::Bucket", "AWS::KMS::Key", "AWS::SageMaker::ModelPackageGroup"}
    types = {r["Type"] for r in dev.templates["teardown"]["Resources"].values()}
    assert not types & stateful
