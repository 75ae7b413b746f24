"""Network stack: a private VPC with the endpoints SageMaker needs, or an imported one."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms

from stacks.config import ConfigError, ExistingVpcConfig, NetworkConfig
from stacks.constructs.network import INTERFACE_ENDPOINTS, MLFLOW_ENDPOINT, Network
from tests.synth import Synthesized

SERVICES = {
    "sagemaker.api",
    "sagemaker.runtime",
    "sts",
    "logs",
    "monitoring",
    "ecr.api",
    "ecr.dkr",
    "servicequotas",
    "aws.sagemaker.experiments",  # SageMaker MLflow (experiments.private_endpoint)
}


def _service(endpoint: dict[str, Any]) -> str:
    """``com.amazonaws.<region>.<service>`` (region-agnostic: a Join), reduced to ``<service>``;
    ``aws.sagemaker.<region>.<service>`` to ``aws.sagemaker.<service>``."""
    parts = endpoint["Properties"]["ServiceName"]["Fn::Join"][1]
    assert parts[1] == {"Ref": "AWS::Region"}
    if parts[0] == "aws.sagemaker.":
        return f"aws.sagemaker.{str(parts[2]).removeprefix('.')}"
    assert parts[0] == "com.amazonaws."
    return str(parts[2]).removeprefix(".")


def test_dev_vpc_is_private_in_two_zones_without_nat(dev: Synthesized) -> None:
    (vpc,) = dev.resources("network", "AWS::EC2::VPC").values()
    assert vpc["Properties"]["CidrBlock"] == "10.40.0.0/16"
    subnets = dev.resources("network", "AWS::EC2::Subnet").values()
    assert len(subnets) == 2
    assert all(s["Properties"]["MapPublicIpOnLaunch"] is False for s in subnets)
    # Zones come from Fn::GetAZs (no context lookup at synth), one subnet in each.
    zones = [s["Properties"]["AvailabilityZone"] for s in subnets]
    assert zones == [{"Fn::Select": [i, {"Fn::GetAZs": ""}]} for i in range(2)]
    for absent in ("AWS::EC2::NatGateway", "AWS::EC2::InternetGateway", "AWS::EC2::EIP"):
        assert not dev.resources("network", absent)


def test_prod_uses_its_configured_cidr(prod: Synthesized) -> None:
    (vpc,) = prod.resources("network", "AWS::EC2::VPC").values()
    assert vpc["Properties"]["CidrBlock"] == "10.41.0.0/16"


def test_interface_endpoints_and_s3_gateway(dev: Synthesized) -> None:
    endpoints = dev.resources("network", "AWS::EC2::VPCEndpoint").values()
    interface = [e for e in endpoints if e["Properties"].get("VpcEndpointType") == "Interface"]
    gateway = [e for e in endpoints if e["Properties"].get("VpcEndpointType") != "Interface"]
    assert {_service(e) for e in interface} == SERVICES
    assert len(INTERFACE_ENDPOINTS) + len(MLFLOW_ENDPOINT) == len(SERVICES)
    assert all(e["Properties"]["PrivateDnsEnabled"] is True for e in interface)
    (s3,) = gateway
    assert _service(s3) == "s3"


def test_endpoints_accept_only_https_from_the_vpc(dev: Synthesized) -> None:
    groups = dev.resources("network", "AWS::EC2::SecurityGroup")
    (endpoint_sg,) = [
        g for g in groups.values() if g["Properties"]["GroupDescription"].startswith("Interface")
    ]
    (ingress,) = endpoint_sg["Properties"]["SecurityGroupIngress"]
    assert ingress == {
        "CidrIp": "10.40.0.0/16",
        "Description": "HTTPS from the VPC",
        "FromPort": 443,
        "IpProtocol": "tcp",
        "ToPort": 443,
    }


def test_workload_group_talks_to_itself_and_https_out_only(dev: Synthesized) -> None:
    groups = dev.resources("network", "AWS::EC2::SecurityGroup")
    (workload_id,) = [
        k for k, g in groups.items() if "Studio" in g["Properties"]["GroupDescription"]
    ]
    egress = groups[workload_id]["Properties"]["SecurityGroupEgress"]
    assert [(e.get("CidrIp"), e["FromPort"], e["ToPort"]) for e in egress] == [
        ("0.0.0.0/0", 443, 443)
    ]
    (self_ingress,) = dev.resources("network", "AWS::EC2::SecurityGroupIngress").values()
    assert self_ingress["Properties"]["SourceSecurityGroupId"] == {
        "Fn::GetAtt": [workload_id, "GroupId"]
    }


def test_flow_logs_go_to_a_kms_encrypted_log_group(dev: Synthesized) -> None:
    (flow_log,) = dev.resources("network", "AWS::EC2::FlowLog").values()
    assert flow_log["Properties"]["TrafficType"] == "ALL"
    (group,) = dev.resources("network", "AWS::Logs::LogGroup").values()
    assert "PublishOutputFnGetAttDataKey" in json.dumps(group["Properties"]["KmsKeyId"])
    assert group["Properties"]["RetentionInDays"] == 30  # dev: cdk.json


def test_network_stack_is_stateless(dev: Synthesized) -> None:
    for resource in dev.templates["network"]["Resources"].values():
        assert resource.get("DeletionPolicy", "Delete") == "Delete"


# An imported VPC: its own tiny app (no cdk-nag, no Lambda assets), built once.


@pytest.fixture(scope="module")
def imported() -> dict[str, Any]:
    app = cdk.App()
    stack = cdk.Stack(app, "Imported")
    network = Network(
        stack,
        "Network",
        config=NetworkConfig(
            existing_vpc=ExistingVpcConfig(
                vpc_id="vpc-0123456789abcdef0",
                subnet_ids=("subnet-0123456789abcdef0", "subnet-0123456789abcdef1"),
                availability_zones=("eu-west-1a", "eu-west-1b"),
            )
        ),
        log_key=kms.Key(stack, "Key"),
        log_retention_days=30,
    )
    template: dict[str, Any] = app.synth().get_stack_by_name("Imported").template
    return {"network": network, "template": template}


def test_imported_vpc_uses_the_configured_ids_and_creates_no_network(
    imported: dict[str, Any],
) -> None:
    network: Network = imported["network"]
    assert network.resources.vpc.vpc_id == "vpc-0123456789abcdef0"
    assert [s.subnet_id for s in network.resources.subnets] == [
        "subnet-0123456789abcdef0",
        "subnet-0123456789abcdef1",
    ]
    types = {r["Type"] for r in imported["template"]["Resources"].values()}
    assert "AWS::EC2::VPC" not in types
    assert "AWS::EC2::VPCEndpoint" not in types
    (group,) = [
        r
        for r in imported["template"]["Resources"].values()
        if r["Type"] == "AWS::EC2::SecurityGroup"
    ]
    assert group["Properties"]["VpcId"] == "vpc-0123456789abcdef0"


def test_imported_vpc_needs_one_zone_per_subnet() -> None:
    stack = cdk.Stack()
    config = NetworkConfig(
        existing_vpc=ExistingVpcConfig(
            vpc_id="vpc-0123456789abcdef0",
            subnet_ids=("subnet-0123456789abcdef0",),
            availability_zones=("eu-west-1a", "eu-west-1b"),
        )
    )
    with pytest.raises(ConfigError, match=r"existing_vpc\.availability_zones.*one zone per"):
        Network(stack, "Network", config=config, log_key=kms.Key(stack, "K"), log_retention_days=1)


def test_configured_zones_must_be_two() -> None:
    stack = cdk.Stack()
    config = NetworkConfig(availability_zones=("eu-west-1a",))
    with pytest.raises(ConfigError, match=r"network\.availability_zones.*exactly 2 zones"):
        Network(stack, "Network", config=config, log_key=kms.Key(stack, "K"), log_retention_days=1)
