"""The Studio clean-up functions as they ship: both stages run from the synthesized assembly
(staged code + the mlops layer only), with the template's environment, on the events the CDK
provider framework sends them, built from the template's custom resource properties.

AWS is the moto server (EC2, EFS, SageMaker domains); apps and spaces, which moto lacks, are
stubs validated against SageMaker's service model.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.shipped.assembly import ACCOUNT, REGION, Assembly, PhysicalValues, ShippedFunction
from tests.shipped.fixtures import MotoServer
from tests.shipped.lambdas import invoke
from tests.studio.storage import apps_cleanup_passes, create_domain_storage
from tests.synth import Synthesized

DOMAIN = "d-0123456789ab"
DOMAIN_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:domain/{DOMAIN}"


@pytest.fixture
def assembly(dev: Synthesized) -> Assembly:
    return dev.assembly


def _function(assembly: Assembly, stage: str) -> ShippedFunction:
    return assembly.function(
        "studio", {"on_event": "CleanupOnEvent", "is_complete": "CleanupIsComplete"}[stage]
    )


def _event(
    assembly: Assembly, resource_type: str, request_type: str, values: PhysicalValues, **extra: Any
) -> dict[str, Any]:
    """A CloudFormation custom resource request for the template's resource of that type."""
    resources = assembly.templates["studio"]["Resources"]
    (logical_id,) = [k for k, r in resources.items() if r["Type"] == resource_type]
    properties = assembly.resolve("studio", resources[logical_id]["Properties"], values)
    return {
        "RequestType": request_type,
        "ServiceToken": properties["ServiceToken"],
        "ResponseURL": "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x",
        "StackId": assembly.resolve("studio", {"Ref": "AWS::StackId"}),
        "RequestId": "00000000-0000-4000-8000-000000000001",
        "LogicalResourceId": logical_id,
        "ResourceType": resource_type,
        "ResourceProperties": properties,
        **extra,
    }


def _pin_vpc(assembly: Assembly, vpc: str) -> PhysicalValues:
    """The Network stack's VPC is the one the test made in moto."""
    resources = assembly.templates["network"]["Resources"]
    (vpc_id,) = [k for k, r in resources.items() if r["Type"] == "AWS::EC2::VPC"]
    return PhysicalValues(pinned={f"network.{vpc_id}": vpc})


@pytest.mark.parametrize(
    ("resource_type", "name"),
    [
        ("Custom::StudioStorageCleanup", "studio-cleanup-storage-vpc-0123456789abcdef0"),
        ("Custom::StudioAppsCleanup", "studio-cleanup-apps-d-"),
    ],
)
def test_on_event_names_the_resource(
    assembly: Assembly, moto_server: MotoServer, resource_type: str, name: str
) -> None:
    values = _pin_vpc(assembly, "vpc-0123456789abcdef0")
    invocation = invoke(
        assembly,
        _function(assembly, "on_event"),
        _event(assembly, resource_type, "Create", values),
        endpoint_url=moto_server.endpoint_url,
        least_privilege_key="studio_cleanup.on_event",
    )
    assert invocation.returned()["PhysicalResourceId"].startswith(name)
    assert invocation.calls == []


@pytest.mark.parametrize(
    ("stage", "change", "message"),
    [
        ("on_event", {"Cleanup": "everything"}, "ResourceProperties.Cleanup must be one of"),
        ("is_complete", {"VpcId": "vpc-nope"}, "ResourceProperties.VpcId must look like"),
    ],
)
def test_a_bad_request_is_one_line(
    assembly: Assembly, moto_server: MotoServer, stage: str, change: dict[str, str], message: str
) -> None:
    event = _event(assembly, "Custom::StudioStorageCleanup", "Delete", PhysicalValues())
    event["ResourceProperties"] = {**event["ResourceProperties"], **change}
    invocation = invoke(
        assembly,
        _function(assembly, stage),
        event,
        endpoint_url=moto_server.endpoint_url,
        least_privilege_key=f"studio_cleanup.{stage}",
    )
    assert invocation.raised().startswith(f"InputError: {message}")
    assert invocation.calls == []


def test_a_stage_set_under_another_name_is_an_error(
    assembly: Assembly, moto_server: MotoServer
) -> None:
    invocation = invoke(
        assembly,
        _function(assembly, "on_event"),
        _event(assembly, "Custom::StudioAppsCleanup", "Create", PhysicalValues()),
        endpoint_url=moto_server.endpoint_url,
        environment_overrides={"CLEANUP_STAGE": "onEvent"},
    )
    assert invocation.raised() == (
        "InputError: environment variable CLEANUP_STAGE='onEvent' is invalid; "
        "allowed: on_event, is_complete"
    )


def test_apps_delete_polls_until_apps_then_spaces_are_gone(
    assembly: Assembly, moto_server: MotoServer
) -> None:
    event = _event(
        assembly, "Custom::StudioAppsCleanup", "Delete", PhysicalValues(), PhysicalResourceId="p"
    )
    answers = [
        invoke(
            assembly,
            _function(assembly, "is_complete"),
            event,
            endpoint_url=moto_server.endpoint_url,
            stubs=stubs,
            least_privilege_key="studio_cleanup.is_complete",
        ).returned()["IsComplete"]
        for stubs in apps_cleanup_passes(event["ResourceProperties"]["DomainId"])
    ]
    # Apps first; once they are gone the space; then nothing is left.
    assert answers == [False, False, True]


def test_storage_delete_removes_the_deleted_domains_storage_in_its_vpc(
    assembly: Assembly, moto_server: MotoServer
) -> None:
    ec2, efs = moto_server.client("ec2"), moto_server.client("efs")
    ours = create_domain_storage(ec2, efs, DOMAIN_ARN)
    theirs = create_domain_storage(
        ec2, efs, f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:domain/d-other0000001", cidr="10.9.0.0/16"
    )
    values = _pin_vpc(assembly, ours["vpc"])
    event = _event(
        assembly, "Custom::StudioStorageCleanup", "Delete", values, PhysicalResourceId="p"
    )
    answers = []
    for _ in range(3):
        invocation = invoke(
            assembly,
            _function(assembly, "is_complete"),
            event,
            endpoint_url=moto_server.endpoint_url,
            values=values,
            least_privilege_key="studio_cleanup.is_complete",
        )
        answers.append(invocation.returned()["IsComplete"])
    assert answers == [False, True, True]  # mount target first; then EFS and groups; no-op
    file_systems = {fs["FileSystemId"] for fs in efs.describe_file_systems()["FileSystems"]}
    assert file_systems == {theirs["efs"]}
    groups = {g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"]}
    assert not {ours["inbound"], ours["outbound"]} & groups
    assert {theirs["inbound"], theirs["outbound"]} <= groups
