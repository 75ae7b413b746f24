"""The Studio clean-up custom resource handler: the provider framework's contract."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from lambdas.studio_cleanup import handler as studio_handler
from mlops.errors import InputError
from mlops.studio import ENV_STAGE, SAGEMAKER_OWNER_TAG

DOMAIN = "d-abc123def456"
VPC = "vpc-0123456789abcdef0"
STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/fraud-mlops-dev-studio/1"
APPS = {"ServiceToken": "arn:x", "Cleanup": "apps", "DomainId": DOMAIN}
STORAGE = {
    "ServiceToken": "arn:x",
    "Cleanup": "storage",
    "VpcId": VPC,
    "DomainArnPrefix": "arn:aws:sagemaker:us-east-1:123456789012:domain/",
}


def _event(request_type: str, properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "RequestType": request_type,
        "StackId": STACK_ID,
        "LogicalResourceId": "Cleanup",
        "ResourceType": "Custom::StudioAppsCleanup",
        "ResourceProperties": properties,
        **extra,
    }


@pytest.fixture
def stage(monkeypatch: pytest.MonkeyPatch) -> Any:
    def set_stage(value: str) -> None:
        monkeypatch.setenv(ENV_STAGE, value)

    return set_stage


class _Session:
    """A boto3 session whose clients are the stubbed ones given (AWS replaced, nothing else)."""

    def __init__(self, **clients: Any) -> None:
        self.clients = clients

    def client(self, name: str) -> Any:
        return self.clients[name]


def test_create_names_the_apps_resource_after_its_domain(stage: Any) -> None:
    stage("on_event")
    result = studio_handler.handler(_event("Create", APPS), None)
    assert result == {"PhysicalResourceId": f"studio-cleanup-apps-{DOMAIN}"}


def test_update_to_a_new_domain_gives_a_new_name(stage: Any) -> None:
    # A new name makes CloudFormation delete the old resource: the old domain is cleaned up.
    stage("on_event")
    event = _event(
        "Update",
        {**APPS, "DomainId": "d-new000000001"},
        PhysicalResourceId=f"studio-cleanup-apps-{DOMAIN}",
        OldResourceProperties=APPS,
    )
    assert studio_handler.handler(event, None) == {
        "PhysicalResourceId": "studio-cleanup-apps-d-new000000001"
    }


def test_storage_is_named_after_its_vpc_and_keeps_its_name(stage: Any) -> None:
    stage("on_event")
    result = studio_handler.handler(_event("Create", STORAGE), None)
    assert result == {"PhysicalResourceId": f"studio-cleanup-storage-{VPC}"}
    # An update (also from the older, domain-logical-id name) never renames it: a new name
    # would make CloudFormation delete the old resource.
    update = _event("Update", STORAGE, PhysicalResourceId="studio-cleanup-storage-StudioDomain1")
    assert studio_handler.handler(update, None) == {
        "PhysicalResourceId": "studio-cleanup-storage-StudioDomain1"
    }


def test_delete_keeps_the_physical_id(stage: Any) -> None:
    stage("on_event")
    event = _event("Delete", APPS, PhysicalResourceId="studio-cleanup-apps-x")
    assert studio_handler.handler(event, None) == {"PhysicalResourceId": "studio-cleanup-apps-x"}


@pytest.mark.parametrize("request_type", ["Create", "Update"])
def test_create_and_update_complete_at_once_without_aws_calls(
    stage: Any, request_type: str
) -> None:
    stage("is_complete")
    # No AWS client is stubbed or reachable: any call would fail the test.
    result = studio_handler.is_complete(
        _event(request_type, APPS),
        request_type,
        "apps",
        APPS,
        session=_Session(),  # type: ignore[arg-type]
    )
    assert result == {"IsComplete": True}


def test_delete_apps_polls_until_everything_is_gone() -> None:
    sagemaker = boto3.client("sagemaker", region_name="us-east-1")
    app = {
        "DomainId": DOMAIN,
        "UserProfileName": "alice",
        "AppType": "JupyterLab",
        "AppName": "default",
    }
    with Stubber(sagemaker) as stub:
        stub.add_response("list_apps", {"Apps": [{**app, "Status": "InService"}]})
        stub.add_response("delete_app", {})
        stub.add_response("list_apps", {"Apps": [{**app, "Status": "Deleted"}]})
        stub.add_response("list_spaces", {"Spaces": []})
        session: Any = _Session(sagemaker=sagemaker)
        event = _event("Delete", APPS, PhysicalResourceId="p")
        first = studio_handler.is_complete(event, "Delete", "apps", APPS, session=session)
        second = studio_handler.is_complete(event, "Delete", "apps", APPS, session=session)
        stub.assert_no_pending_responses()
    assert (first, second) == ({"IsComplete": False}, {"IsComplete": True})


def _storage_clients() -> dict[str, Any]:
    return {
        name: boto3.client(name, region_name="us-east-1") for name in ("sagemaker", "efs", "ec2")
    }


def test_delete_storage_of_a_vpc_without_domain_storage_is_complete() -> None:
    """Complete because the VPC was listed and holds no SageMaker storage, not by default."""
    clients = _storage_clients()
    with Stubber(clients["ec2"]) as ec2, Stubber(clients["efs"]) as efs:
        ec2.add_response(
            "describe_security_groups",
            {"SecurityGroups": []},
            {
                "Filters": [
                    {"Name": "vpc-id", "Values": [VPC]},
                    {"Name": "tag-key", "Values": [SAGEMAKER_OWNER_TAG]},
                ]
            },
        )
        efs.add_response("describe_file_systems", {"FileSystems": []}, {})
        event = _event("Delete", STORAGE, PhysicalResourceId="p")
        result = studio_handler.is_complete(
            event,
            "Delete",
            "storage",
            STORAGE,
            session=_Session(**clients),  # type: ignore[arg-type]
        )
        ec2.assert_no_pending_responses()
        efs.assert_no_pending_responses()
    assert result == {"IsComplete": True}


def test_delete_storage_never_succeeds_without_knowing() -> None:
    """Issue 12, defect 4: an answer it cannot read (here: access denied) is an error that
    the provider reports, never "nothing to clean up"."""
    clients = _storage_clients()
    with Stubber(clients["ec2"]) as ec2:
        ec2.add_client_error("describe_security_groups", "UnauthorizedOperation", "denied")
        event = _event("Delete", STORAGE, PhysicalResourceId="p")
        with pytest.raises(ClientError, match="UnauthorizedOperation"):
            studio_handler.is_complete(
                event,
                "Delete",
                "storage",
                STORAGE,
                session=_Session(**clients),  # type: ignore[arg-type]
            )


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (_event("Replace", APPS), "RequestType must be one of Create, Update, Delete"),
        (_event("Create", {"Cleanup": "all"}), "ResourceProperties.Cleanup must be one of"),
        (_event("Create", {"Cleanup": "apps", "DomainId": "x"}), "domain id must look like"),
        (_event("Create", {"Cleanup": "storage"}), "ResourceProperties.VpcId must look like"),
        (
            _event("Delete", {**STORAGE, "DomainArnPrefix": "arn:aws:sagemaker:::domain/"}),
            "ResourceProperties.DomainArnPrefix must look like",
        ),
        ({"RequestType": "Create"}, "ResourceProperties must be an object"),
    ],
)
def test_bad_events_fail_with_one_line(stage: Any, event: dict[str, Any], message: str) -> None:
    stage("on_event")
    with pytest.raises(InputError, match=message):
        studio_handler.handler(event, None)


def test_stage_must_be_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_STAGE, raising=False)
    with pytest.raises(InputError, match="environment variable CLEANUP_STAGE is not set"):
        studio_handler.handler(_event("Create", APPS), None)
