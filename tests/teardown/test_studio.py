"""A full teardown calls the Studio clean-up (mlops.studio) for this environment's domain,
pass after pass until its apps and spaces are gone (Stubber: moto lacks apps and spaces)."""

from __future__ import annotations

from datetime import UTC, datetime

from botocore.stub import Stubber

from mlops.teardown import Kind, Status, execute, plan_teardown
from tests.teardown.conftest import NO_WAIT, make_clients

OURS = "arn:aws:sagemaker:us-east-1:123456789012:domain/d-ours1"
TAGS = [
    {"Key": "mlops:environment", "Value": "dev"},
    {"Key": "mlops:managed-by", "Value": "fraud-mlops-platform"},
]
APP = {
    "DomainId": "d-ours1",
    "SpaceName": "shared",
    "AppType": "JupyterLab",
    "AppName": "default",
    "CreationTime": datetime(2025, 1, 1, tzinfo=UTC),
}


def test_domain_apps_then_spaces_are_deleted_until_none_is_left() -> None:
    clients = make_clients()
    with Stubber(clients.sagemaker) as sagemaker, Stubber(clients.tagging) as tagging:
        tagging.add_response(
            "get_resources", {"ResourceTagMappingList": [{"ResourceARN": OURS, "Tags": TAGS}]}
        )
        sagemaker.add_response("describe_domain", {"DomainId": "d-ours1"}, {"DomainId": "d-ours1"})
        plan = plan_teardown(clients, "dev", ephemeral=True, kinds={Kind.STUDIO_DOMAIN_CONTENT})
        assert [(a.resource.kind, a.resource.name) for a in plan.actions] == [
            (Kind.STUDIO_DOMAIN_CONTENT, "d-ours1")
        ]
        domain = {"DomainIdEquals": "d-ours1"}
        # Pass 1: the app is deleted; spaces wait for it.
        sagemaker.add_response("list_apps", {"Apps": [{**APP, "Status": "InService"}]}, domain)
        sagemaker.add_response(
            "delete_app",
            {},
            {
                "DomainId": "d-ours1",
                "SpaceName": "shared",
                "AppType": "JupyterLab",
                "AppName": "default",
            },
        )
        # Pass 2: the app is gone; the space is deleted.
        sagemaker.add_response("list_apps", {"Apps": [{**APP, "Status": "Deleted"}]}, domain)
        sagemaker.add_response(
            "list_spaces", {"Spaces": [{"DomainId": "d-ours1", "SpaceName": "shared"}]}, domain
        )
        sagemaker.add_response("delete_space", {}, {"DomainId": "d-ours1", "SpaceName": "shared"})
        # Pass 3: nothing left.
        sagemaker.add_response("list_apps", {"Apps": []}, domain)
        sagemaker.add_response("list_spaces", {"Spaces": []}, domain)
        pauses: list[float] = []

        report = execute(plan, clients, dry_run=False, retry=NO_WAIT, sleep=pauses.append)

        sagemaker.assert_no_pending_responses()
    (outcome,) = report.outcomes
    assert outcome.status is Status.DONE
    assert outcome.detail.startswith("domain d-ours1: deleted 0, pending 0")
    assert len(pauses) == 2


def test_a_deleted_domain_has_its_leftovers_planned() -> None:
    """The tagging API still lists a deleted domain: its EFS and security groups are ours."""
    clients = make_clients()
    with Stubber(clients.sagemaker) as sagemaker, Stubber(clients.tagging) as tagging:
        tagging.add_response(
            "get_resources", {"ResourceTagMappingList": [{"ResourceARN": OURS, "Tags": TAGS}]}
        )
        sagemaker.add_client_error("describe_domain", "ResourceNotFound", "Domain not found")
        plan = plan_teardown(
            clients,
            "dev",
            ephemeral=True,
            kinds={Kind.STUDIO_DOMAIN_CONTENT, Kind.STUDIO_LEFTOVERS},
        )
    assert [(a.resource.kind, a.resource.name) for a in plan.actions] == [
        (Kind.STUDIO_LEFTOVERS, "d-ours1")
    ]
