"""Deployment stack: approval rule per group → SQS FIFO → deploy Lambda → DLQ, alarms, roles.

The rule's pattern is taken from the synthesized template and routed by moto's EventBridge
against real-shaped events, so the test checks what would be deployed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mlops.deployment import names
from mlops.deployment import settings as env
from tests.deployment.events import package_event
from tests.synth import Synthesized

ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/{group}/{version}"


def _only(synth: Synthesized, resource_type: str) -> dict[str, Any]:
    (resource,) = synth.resources("deployment", resource_type).values()
    return resource


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


@pytest.fixture
def routed(dev: Synthesized) -> Iterator[Any]:
    """moto EventBridge with the synthesized rule, routing to an SQS FIFO queue."""
    rule = _only(dev, "AWS::Events::Rule")["Properties"]
    (target,) = rule["Targets"]
    with mock_aws():
        events = boto3.client("events", region_name="us-east-1")
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(
            QueueName="deploy.fifo",
            Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
        )["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events.put_rule(Name="approvals", EventPattern=json.dumps(rule["EventPattern"]))
        events.put_targets(
            Rule="approvals",
            Targets=[{"Id": "queue", "Arn": arn, "SqsParameters": target["SqsParameters"]}],
        )

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


@pytest.mark.parametrize(
    ("status", "group", "delivered"),
    [
        ("Approved", "fraud-detection", True),
        ("Rejected", "fraud-detection", True),
        ("PendingManualApproval", "fraud-detection", False),
        ("Approved", "another-group", False),
    ],
)
def test_rule_pattern_routes_only_decisions_of_configured_groups(
    routed: Any, status: str, group: str, delivered: bool
) -> None:
    event = package_event(ARN.format(group=group, version=3), status, group=group)
    messages = routed(event)
    assert bool(messages) is delivered
    if delivered:
        assert messages[0]["Attributes"]["MessageGroupId"] == group
        assert json.loads(messages[0]["Body"])["detail"]["ModelApprovalStatus"] == status


def test_other_detail_type_is_not_routed(routed: Any) -> None:
    event = package_event(ARN.format(group="fraud-detection", version=1), "Approved")
    event["detail-type"] = "SageMaker Model Package Group State Change"
    assert routed(event) == []


def test_one_rule_per_group_with_its_message_group(dev: Synthesized) -> None:
    rule = _only(dev, "AWS::Events::Rule")["Properties"]
    assert rule["EventPattern"] == {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Model Package State Change"],
        "detail": {
            "ModelPackageGroupName": ["fraud-detection"],
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
        (dev, ("ml.m5.large", "1", "all_at_once")),
        (prod, ("ml.m5.xlarge", "2", "canary")),
    ):
        (function,) = [
            f
            for f in synth.resources("deployment", "AWS::Lambda::Function").values()
            if env.ENV_TRAFFIC_SHIFT in f["Properties"].get("Environment", {}).get("Variables", {})
        ]
        variables = function["Properties"]["Environment"]["Variables"]
        assert (
            variables[env.ENV_INSTANCE_TYPE],
            variables[env.ENV_INSTANCE_COUNT],
            variables[env.ENV_TRAFFIC_SHIFT],
        ) == expected
        assert variables[env.ENV_GROUPS] == "fraud-detection"


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


def test_deploy_role_passes_only_the_model_role(dev: Synthesized) -> None:
    statements = _statements(dev, "ApprovalsDeployRole")
    (passrole,) = [s for s in statements if s["Action"] == "iam:PassRole"]
    assert passrole["Resource"] == {"Fn::GetAtt": [_model_role_id(dev), "Arn"]}
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
    ]
    return role_id


def _network_value(synth: Synthesized, reference: Any) -> Any:
    """What a weak cross-stack reference (``Fn::GetStackOutput``) reads from the network."""
    output = reference["Fn::GetStackOutput"]
    assert output["StackName"] == synth.platform.network.stack_name
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
        separator, subnets = variables[env.ENV_SUBNET_IDS]["Fn::Join"]
        assert separator == ","
        subnet_values = [_network_value(synth, subnet) for subnet in subnets]
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
        assert synth.platform.network in synth.platform.deployment.dependencies


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
