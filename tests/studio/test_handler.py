"""The Studio clean-up custom resource handler: the provider framework's contract."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from lambdas.studio_cleanup import handler as studio_handler
from mlops.errors import InputError

DOMAIN = "d-abc123def456"
STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/fraud-mlops-dev-studio/1"
APPS = {"ServiceToken": "arn:x", "Cleanup": "apps", "DomainId": DOMAIN}
STORAGE = {"ServiceToken": "arn:x", "Cleanup": "storage", "DomainLogicalId": "StudioDomain1"}


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
        monkeypatch.setenv(studio_handler.ENV_STAGE, value)

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


def test_storage_name_is_stable(stage: Any) -> None:
    stage("on_event")
    result = studio_handler.handler(_event("Create", STORAGE), None)
    assert result == {"PhysicalResourceId": "studio-cleanup-storage-StudioDomain1"}


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


def test_delete_storage_of_a_domain_never_created_is_complete() -> None:
    cloudformation = boto3.client("cloudformation", region_name="us-east-1")
    with Stubber(cloudformation) as stub:
        stub.add_client_error("describe_stack_resource", "ValidationError", "does not exist")
        session: Any = _Session(cloudformation=cloudformation)
        event = _event("Delete", STORAGE, PhysicalResourceId="p")
        result = studio_handler.is_complete(event, "Delete", "storage", STORAGE, session=session)
    assert result == {"IsComplete": True}


def test_delete_storage_resolves_the_domain_and_cleans_it() -> None:
    cloudformation = boto3.client("cloudformation", region_name="us-east-1")
    sagemaker = boto3.client("sagemaker", region_name="us-east-1")
    efs = boto3.client("efs", region_name="us-east-1")
    ec2 = boto3.client("ec2", region_name="us-east-1")
    with (
        Stubber(cloudformation) as cfn,
        Stubber(sagemaker) as sm,
        Stubber(efs) as fs,
        Stubber(ec2) as net,
    ):
        cfn.add_response(
            "describe_stack_resource",
            {
                "StackResourceDetail": {
                    "LogicalResourceId": "StudioDomain1",
                    "PhysicalResourceId": f"arn:aws:sagemaker:us-east-1:1:domain/{DOMAIN}",
                    "ResourceType": "AWS::SageMaker::Domain",
                    "LastUpdatedTimestamp": "2026-01-01T00:00:00Z",
                    "ResourceStatus": "DELETE_COMPLETE",
                }
            },
            {"StackName": STACK_ID, "LogicalResourceId": "StudioDomain1"},
        )
        sm.add_client_error("describe_domain", "ResourceNotFound", "gone", 400)
        fs.add_response("describe_file_systems", {"FileSystems": []})
        net.add_response("describe_security_groups", {"SecurityGroups": []})
        session: Any = _Session(
            cloudformation=cloudformation, sagemaker=sagemaker, efs=efs, ec2=ec2
        )
        event = _event("Delete", STORAGE, PhysicalResourceId="p")
        result = studio_handler.is_complete(event, "Delete", "storage", STORAGE, session=session)
        for stub in (cfn, sm, fs, net):
            stub.assert_no_pending_responses()
    assert result == {"IsComplete": True}


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (_event("Replace", APPS), "RequestType must be one of Create, Update, Delete"),
        (_event("Create", {"Cleanup": "all"}), "ResourceProperties.Cleanup must be one of"),
        (_event("Create", {"Cleanup": "apps", "DomainId": "x"}), "domain id must look like"),
        (_event("Create", {"Cleanup": "storage"}), "DomainLogicalId must name"),
        ({"RequestType": "Create"}, "ResourceProperties must be an object"),
    ],
)
def test_bad_events_fail_with_one_line(stage: Any, event: dict[str, Any], message: str) -> None:
    stage("on_event")
    with pytest.raises(InputError, match=message):
        studio_handler.handler(event, None)


def test_stage_must_be_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(studio_handler.ENV_STAGE, raising=False)
    with pytest.raises(InputError, match="CLEANUP_STAGE must be one of on_event, is_complete"):
        studio_handler.handler(_event("Create", APPS), None)
