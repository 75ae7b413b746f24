"""Deployment stack: approval rule per group → SQS FIFO → deploy Lambda → DLQ, alarms, roles.

The rule's pattern is taken from the synthesized template and routed by moto's EventBridge
against real-shaped events, so the test checks what would be deployed.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mlops.deployment import names
from mlops.deployment import settings as env
from mlops.deployment.events import DETAIL_TYPE, ENDPOINT_DETAIL_TYPES
from mlops.deployment.settings import DeploySettings
from stacks.config import ConfigError, load_environment
from tests.deployment.events import package_event
from tests.synth import Synthesized, cdk_context

ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/{group}/{version}"


def _only(synth: Synthesized, resource_type: str) -> dict[str, Any]:
    (resource,) = synth.resources("deployment", resource_type).values()
    return resource


def _approval_rule(synth: Synthesized) -> dict[str, Any]:
    """The approval rule (the stack also holds the monitoring failure rule)."""
    (rule,) = (
        rule["Properties"]
        for rule in synth.resources("deployment", "AWS::Events::Rule").values()
        if "approval decisions" in rule["Properties"]["Description"]
    )
    properties: dict[str, Any] = rule
    return properties


def _queues(synth: Synthesized) -> dict[str, dict[str, Any]]:
    return {
        logical_id: queue["Properties"]
        for logical_id, queue in synth.resources("deployment", "AWS::SQS::Queue").items()
    }


def _statements(synth: Synthesized, role_fragment: str) -> list[dict[str, Any]]:
    for logical_id, policy in synth.resources("deployment", "AWS::IAM::Policy").items():
        if role_fragment in logical_id:
            statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
            return statements
    raise AssertionError(f"no policy for {role_fragment}")


def _rules(synth: Synthesized, detail_type: str) -> list[dict[str, Any]]:
    """The rules whose pattern matches ``detail_type``."""
    return [
        rule["Properties"]
        for rule in synth.resources("deployment", "AWS::Events::Rule").values()
        if detail_type in rule["Properties"]["EventPattern"]["detail-type"]
    ]


Route = Callable[[dict[str, Any]], list[dict[str, Any]]]


def _router(rule: dict[str, Any]) -> Iterator[Route]:
    """moto EventBridge with the synthesized rule (pattern, target parameters and input
    transformer), routing to an SQS queue that stands for the rule's target."""
    (target,) = rule["Targets"]
    with mock_aws():
        events = boto3.client("events", region_name="us-east-1")
        sqs = boto3.client("sqs", region_name="us-east-1")
        fifo = "SqsParameters" in target
        url = sqs.create_queue(
            QueueName="target.fifo" if fifo else "target",
            Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"} if fifo else {},
        )["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events.put_rule(Name="rule", EventPattern=json.dumps(rule["EventPattern"]))
        kept = {k: v for k, v in target.items() if k in ("SqsParameters", "InputTransformer")}
        routed_target: Any = {"Id": "target", "Arn": arn, **kept}
        events.put_targets(Rule="rule", Targets=[routed_target])

        def route(event: dict[str, Any]) -> list[dict[str, Any]]:
            events.put_events(
                Entries=[
                    {
                        "Source": event["source"],
                        "DetailType": event["detail-type"],
                        "Detail": json.dumps(event["detail"]),
                        "Resources": event["resources"],
                    }
                ]
            )
            received = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["MessageGroupId"]
            )
            return [dict(m) for m in received.get("Messages", [])]

        yield route


@pytest.fixture
def routed(dev: Synthesized) -> Iterator[Route]:
    (rule,) = _rules(dev, DETAIL_TYPE)
    yield from _router(rule)


@pytest.mark.parametrize(
    ("status", "group", "delivered"),
    [
        ("Approved", "mlops-dev-fraud-detection", True),
        ("Rejected", "mlops-dev-fraud-detection", True),
        ("PendingManualApproval", "mlops-dev-fraud-detection", False),
        ("Approved", "mlops-dev-another-group", False),
        # The same logical group in another environment sharing the account.
        ("Approved", "mlops-prod-fraud-detection", False),
        ("Approved", "fraud-detection", False),
    ],
)
def test_rule_pattern_routes_only_decisions_of_this_environments_groups(
    routed: Route, status: str, group: str, delivered: bool
) -> None:
    event = package_event(ARN.format(group=group, version=3), status, group=group)
    messages = routed(event)
    assert bool(messages) is delivered
    if delivered:
        assert messages[0]["Attributes"]["MessageGroupId"] == "fraud-detection"
        assert json.loads(messages[0]["Body"])["detail"]["ModelApprovalStatus"] == status


def test_other_detail_type_is_not_routed(routed: Route) -> None:
    event = package_event(ARN.format(group="mlops-dev-fraud-detection", version=1), "Approved")
    event["detail-type"] = "SageMaker Model Package Group State Change"
    assert routed(event) == []


def test_one_rule_per_group_with_its_message_group(dev: Synthesized) -> None:
    (rule,) = _rules(dev, DETAIL_TYPE)
    assert rule["EventPattern"] == {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Model Package State Change"],
        "detail": {
            "ModelPackageGroupName": ["mlops-dev-fraud-detection"],
            "ModelApprovalStatus": ["Approved", "Rejected"],
        },
    }
    (target,) = rule["Targets"]
    assert target["SqsParameters"] == {"MessageGroupId": "fraud-detection"}
    assert "DeadLetterConfig" in target


def test_queue_is_fifo_deduplicated_encrypted_with_redrive(dev: Synthesized) -> None:
    queues = _queues(dev)
    (main,) = [q for q in queues.values() if "RedrivePolicy" in q]
    assert main["FifoQueue"] is True
    assert main["ContentBasedDeduplication"] is True
    assert main["RedrivePolicy"]["maxReceiveCount"] == 5
    assert main["VisibilityTimeout"] == 720  # 6x the 2-minute function timeout
    for queue in queues.values():
        assert "KmsMasterKeyId" in queue
    policies = dev.resources("deployment", "AWS::SQS::QueuePolicy").values()
    denies = [
        s
        for p in policies
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Deny"
    ]
    assert len(denies) == 3
    assert all(d["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for d in denies)


def test_function_reads_the_queue_one_message_at_a_time(dev: Synthesized) -> None:
    mapping = _only(dev, "AWS::Lambda::EventSourceMapping")["Properties"]
    assert mapping["BatchSize"] == 1
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_function_environment_matches_the_config(dev: Synthesized, prod: Synthesized) -> None:
    for synth, expected in (
        (dev, ("ml.m5.large", 1, "all_at_once")),
        (prod, ("ml.m5.xlarge", 2, "canary")),
    ):
        assembly = synth.assembly
        function = assembly.function("deployment", "ApprovalsDeploy")
        # Read the way the handler reads it (the template's values, intrinsics resolved).
        settings = DeploySettings.from_environment(assembly.environment(function))
        assert (settings.instance_type, settings.instance_count, settings.traffic_shift) == (
            expected
        )
        assert settings.groups == {"fraud-detection"}
        assert set(settings.package_groups) == {f"mlops-{settings.environment}-fraud-detection"}


def _with_deployment(**keys: Any) -> dict[str, Any]:
    context = copy.deepcopy(cdk_context("prod"))
    context["environments"]["prod"]["deployment"].update(keys)
    return context


def test_linear_steps_follow_sagemakers_range() -> None:
    # botocore UpdateEndpoint: LinearStepSize "must be 10-50% of the variant's total
    # instance count" (the canary may be smaller: "less than or equal to 50%").
    load_environment(_with_deployment(traffic_shift="canary", canary_percent=5))
    with pytest.raises(ConfigError, match=r"deployment\.linear_step_percent: got 5; .*10 to 50"):
        load_environment(_with_deployment(traffic_shift="linear", linear_step_percent=5))


def test_a_shift_that_cannot_finish_within_sagemakers_maximum_is_refused() -> None:
    load_environment(_with_deployment(traffic_shift="linear", linear_step_percent=20))
    with pytest.raises(ConfigError) as raised:
        load_environment(
            _with_deployment(traffic_shift="linear", linear_step_percent=10, bake_minutes=60)
        )
    assert str(raised.value) == (
        "config error at environments.prod.deployment.bake_minutes: got 60; a linear shift "
        "in 10% steps with this bake time needs a 41400 s update; allowed: at most 28800 s "
        "(UpdateEndpoint's MaximumExecutionTimeoutInSeconds): bake less or use larger steps"
    )


def test_rollback_alarms_watch_the_deterministic_endpoint(prod: Synthesized) -> None:
    alarms = {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in prod.resources("deployment", "AWS::CloudWatch::Alarm").values()
    }
    endpoint = names.endpoint_name("prod", "fraud-detection")
    for name, metric in zip(
        names.rollback_alarm_names("prod", "fraud-detection"),
        ("Invocation5XXErrors", "ModelLatency"),
        strict=True,
    ):
        alarm = alarms[name]
        assert alarm["MetricName"] == metric
        assert {"Name": "EndpointName", "Value": endpoint} in alarm["Dimensions"]
        assert alarm["TreatMissingData"] == "notBreaching"
        assert alarm["AlarmActions"]
    assert alarms[names.latency_alarm_name("prod", "fraud-detection")]["Threshold"] == 500_000
    assert "mlops-prod-deploy-dead-letters" in alarms


def test_deploy_role_passes_only_the_model_and_monitoring_roles(dev: Synthesized) -> None:
    statements = _statements(dev, "ApprovalsDeployRole")
    passed = [
        resource
        for s in statements
        if s["Action"] == "iam:PassRole"
        for resource in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
    ]
    (monitoring,) = [
        logical_id
        for logical_id in dev.templates["deployment"]["Resources"]
        if logical_id.startswith("MonitoringRole")
        and dev.templates["deployment"]["Resources"][logical_id]["Type"] == "AWS::IAM::Role"
    ]
    assert sorted(passed, key=str) == sorted(
        [{"Fn::GetAtt": [role, "Arn"]} for role in (_model_role_id(dev), monitoring)], key=str
    )
    for statement in statements:
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        assert not any(a == "*" or a.endswith(":*") for a in actions)


def test_deploy_role_changes_only_this_environments_resources(dev: Synthesized) -> None:
    (manage,) = [
        s for s in _statements(dev, "ApprovalsDeployRole") if s.get("Sid") == "ManageOwnEndpoints"
    ]
    resources = json.dumps(manage["Resource"])
    for kind in ("endpoint", "endpoint-config", "model"):
        assert f":{kind}/mlops-dev-*" in resources


def test_model_role_reads_models_and_writes_data_capture_only(dev: Synthesized) -> None:
    statements = {s.get("Sid"): s for s in _statements(dev, "ModelExecutionRole")}
    assert statements["ReadModels"]["Action"] == "s3:GetObject"
    assert json.dumps(statements["ReadModels"]["Resource"]).endswith('/models/*"]]}')
    assert statements["WriteDataCapture"]["Action"] == "s3:PutObject"
    assert json.dumps(statements["WriteDataCapture"]["Resource"]).endswith('/data-capture/*"]]}')


def _model_role_id(synth: Synthesized) -> str:
    (role_id,) = [
        logical_id
        for logical_id, role in synth.resources("deployment", "AWS::IAM::Role").items()
        if role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
        == {"Service": "sagemaker.amazonaws.com"}
        and logical_id.startswith("ModelExecutionRole")
    ]
    return role_id


def _network_value(synth: Synthesized, reference: Any) -> Any:
    """What a weak cross-stack reference (``Fn::GetStackOutput``) reads from the network."""
    output = reference["Fn::GetStackOutput"]
    assert output["StackName"] == synth.stack_name("network")
    return synth.templates["network"]["Outputs"][output["OutputName"]]["Value"]


def _network_resource(synth: Synthesized, value: Any) -> dict[str, Any]:
    logical_id = value["Ref"] if "Ref" in value else value["Fn::GetAtt"][0]
    resource: dict[str, Any] = synth.templates["network"]["Resources"][logical_id]
    return resource


def test_models_run_in_the_network_stacks_subnets_and_workload_group(
    dev: Synthesized, prod: Synthesized
) -> None:
    for synth in (dev, prod):
        (function,) = [
            f
            for f in synth.resources("deployment", "AWS::Lambda::Function").values()
            if env.ENV_SUBNET_IDS in f["Properties"].get("Environment", {}).get("Variables", {})
        ]
        variables = function["Properties"]["Environment"]["Variables"]
        separator, parts = variables[env.ENV_SUBNET_IDS]["Fn::Join"]
        assert (separator, parts[1::2]) == ("", [","])  # "<subnet 1>,<subnet 2>"
        subnet_values = [_network_value(synth, subnet) for subnet in parts[0::2]]
        assert len(subnet_values) == 2  # the workload subnets of both zones
        for value in subnet_values:
            subnet = _network_resource(synth, value)
            assert subnet["Type"] == "AWS::EC2::Subnet"
            assert subnet["Properties"]["MapPublicIpOnLaunch"] is False
        group_value = _network_value(synth, variables[env.ENV_SECURITY_GROUP_IDS])
        assert group_value["Fn::GetAtt"][1] == "GroupId"
        group = _network_resource(synth, group_value)
        assert group["Type"] == "AWS::EC2::SecurityGroup"
        assert "Studio apps and jobs" in group["Properties"]["GroupDescription"]
        assert "network" in synth.dependencies("deployment")


def test_model_role_creates_network_interfaces_in_this_vpc_only(dev: Synthesized) -> None:
    statements = {s.get("Sid"): s for s in _statements(dev, "ModelExecutionRole")}
    # ec2:Vpc is a key of the subnet and security group of CreateNetworkInterface and of an
    # existing interface, not of the interface being created (docs/security.md, "ec2:Vpc").
    created = statements["NewNetworkInterfaces"]
    assert created["Action"] == "ec2:CreateNetworkInterface"
    assert created["Resource"]["Fn::Join"][1][-1].endswith(":network-interface/*")
    in_subnets = statements["NetworkInterfacesInThisVpcsSubnets"]
    assert in_subnets["Action"] == "ec2:CreateNetworkInterface"
    existing = statements["ThisVpcsNetworkInterfacesOnly"]
    assert sorted(existing["Action"]) == [
        "ec2:CreateNetworkInterfacePermission",
        "ec2:DeleteNetworkInterface",
        "ec2:DeleteNetworkInterfacePermission",
    ]
    for statement in (in_subnets, existing):
        assert list(statement["Condition"]["ArnEquals"]) == ["ec2:Vpc"]
        (vpc_arn,) = statement["Condition"]["ArnEquals"].values()
        parts = vpc_arn["Fn::Join"][1]
        assert parts[-2] == ":vpc/"
        vpc = _network_resource(dev, _network_value(dev, parts[-1]))
        assert vpc["Type"] == "AWS::EC2::VPC"
    # The Describe calls have no resource-level permissions: read-only, unconditioned.
    describe = statements["DescribeNetworkForContainersInTheVpc"]
    assert describe["Resource"] == "*"
    assert all(action.startswith("ec2:Describe") for action in describe["Action"])


def test_endpoint_cleanup_runs_while_the_model_role_exists(dev: Synthesized) -> None:
    # SageMaker deletes the endpoints' network interfaces as the model role.
    (cleanup,) = dev.resources("deployment", "Custom::EndpointCleanup").values()
    model_role = _model_role_id(dev)
    assert model_role in cleanup["DependsOn"]
    assert any(d.startswith("ModelExecutionRoleDefaultPolicy") for d in cleanup["DependsOn"])


def _endpoint_event(detail_type: str, endpoint: str, status: str) -> dict[str, Any]:
    """Shaped like the examples of "Events that Amazon SageMaker AI sends to Amazon
    EventBridge" (endpoint state change; endpoint deployment state change)."""
    config = f"{endpoint}-v3-0a1b2c3d"
    detail: dict[str, Any] = {
        "EndpointName": endpoint,
        "EndpointArn": f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{endpoint}",
        "EndpointConfigName": f"{endpoint}-v2-99999999",
        "ProductionVariants": [{"VariantName": "primary", "DesiredInstanceCount": 1}],
        "EndpointStatus": status,
        "CreationTime": 1635195148181,
        "LastModifiedTime": 1635195148181,
        "Tags": {},
    }
    if detail_type.endswith("Deployment State Change"):
        detail["PendingDeploymentSummary"] = {"EndpointConfigName": config, "StartTime": 1}
    return {
        "source": "aws.sagemaker",
        "detail-type": detail_type,
        "resources": [detail["EndpointArn"]],
        "detail": detail,
    }


@pytest.fixture
def announced(dev: Synthesized) -> Iterator[Route]:
    (rule,) = _rules(dev, ENDPOINT_DETAIL_TYPES[0])
    yield from _router(rule)


@pytest.mark.parametrize("detail_type", ENDPOINT_DETAIL_TYPES)
@pytest.mark.parametrize(
    ("endpoint", "status", "announced_"),
    [
        ("mlops-dev-fraud-detection", "Failed", True),
        ("mlops-dev-fraud-detection", "UPDATE_ROLLBACK_FAILED", True),
        ("mlops-dev-fraud-detection", "OutOfService", True),
        ("mlops-dev-fraud-detection", "ROLLING_BACK", True),
        ("mlops-dev-fraud-detection", "IN_SERVICE", False),
        ("mlops-dev-fraud-detection", "UPDATING", False),
        # Other environments' endpoints, even with a name that starts like this one's.
        ("mlops-prod-fraud-detection", "Failed", False),
        ("mlops-dev2-fraud-detection", "Failed", False),
        ("mlops-dev-fraud-detection-2", "Failed", False),
    ],
)
def test_endpoint_trouble_of_this_environment_reaches_the_topic_with_the_versions(
    announced: Route, detail_type: str, endpoint: str, status: str, announced_: bool
) -> None:
    messages = announced(_endpoint_event(detail_type, endpoint, status))

    assert bool(messages) is announced_
    if announced_:
        (message,) = messages
        body = json.loads(message["Body"])
        assert body["summary"].startswith(
            f"dev: endpoint {endpoint} is {status} on config {endpoint}-v2-99999999"
        )
        # The failed version: the config being deployed, in the detail.
        if "PendingDeploymentSummary" in body["detail"]:
            pending = body["detail"]["PendingDeploymentSummary"]["EndpointConfigName"]
            assert pending == f"{endpoint}-v3-0a1b2c3d"


def test_undelivered_trouble_notifications_land_in_the_alarmed_queue(dev: Synthesized) -> None:
    (rule,) = _rules(dev, ENDPOINT_DETAIL_TYPES[0])
    (target,) = rule["Targets"]
    (approvals,) = _rules(dev, DETAIL_TYPE)
    assert target["DeadLetterConfig"] == approvals["Targets"][0]["DeadLetterConfig"]
