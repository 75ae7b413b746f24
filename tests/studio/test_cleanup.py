"""Studio clean-up logic (mlops.studio): apps and spaces with botocore's Stubber (moto has no
Studio apps or spaces), the domain's EFS and security groups with moto."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from mlops.errors import InputError
from mlops.studio import (
    SAGEMAKER_OWNER_TAG,
    CleanupReport,
    delete_apps_and_spaces,
    delete_domain_storage,
    delete_security_groups,
    delete_vpc_domain_storage,
    domain_id_from,
    domains_with_storage_in,
)
from tests.studio.storage import create_domain_storage

DOMAIN = "d-abc123def456"
OTHER = "d-other0000001"
ACCOUNT = "123456789012"


def _arn(domain_id: str) -> str:
    return f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:domain/{domain_id}"


def _app(
    name: str, status: str, *, user: str = "alice", space: str | None = None
) -> dict[str, Any]:
    app: dict[str, Any] = {
        "DomainId": DOMAIN,
        "AppType": "JupyterLab",
        "AppName": name,
        "Status": status,
    }
    if space:
        app["SpaceName"] = space
    else:
        app["UserProfileName"] = user
    return app


@pytest.fixture
def sagemaker() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("sagemaker", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


# Apps and spaces ------------------------------------------------------------------------


def test_apps_are_deleted_before_spaces_across_pages(sagemaker: tuple[Any, Stubber]) -> None:
    client, stub = sagemaker
    # Given two pages of apps (a user's app and a space's app) and one deleted app
    stub.add_response(
        "list_apps",
        {"Apps": [_app("default", "InService"), _app("old", "Deleted")], "NextToken": "p2"},
        {"DomainIdEquals": DOMAIN},
    )
    stub.add_response(
        "list_apps",
        {"Apps": [_app("default", "InService", space="team")]},
        {"DomainIdEquals": DOMAIN, "NextToken": "p2"},
    )
    stub.add_response(
        "delete_app",
        {},
        {
            "DomainId": DOMAIN,
            "AppType": "JupyterLab",
            "AppName": "default",
            "UserProfileName": "alice",
        },
    )
    stub.add_response(
        "delete_app",
        {},
        {"DomainId": DOMAIN, "AppType": "JupyterLab", "AppName": "default", "SpaceName": "team"},
    )
    # When one pass runs: Then both live apps are deleted, the deleted one is left alone,
    # and spaces are not touched yet (no list_spaces stubbed: a call would fail).
    report = delete_apps_and_spaces(client, DOMAIN)
    assert report.deleted == ["app alice/JupyterLab/default", "app team/JupyterLab/default"]
    assert not report.done
    assert report.skipped == ["spaces: waiting for the apps to be deleted"]


def test_spaces_are_deleted_once_every_app_is_gone(sagemaker: tuple[Any, Stubber]) -> None:
    client, stub = sagemaker
    stub.add_response(
        "list_apps", {"Apps": [_app("default", "Deleted")]}, {"DomainIdEquals": DOMAIN}
    )
    stub.add_response(
        "list_spaces",
        {
            "Spaces": [{"DomainId": DOMAIN, "SpaceName": "team", "Status": "InService"}],
            "NextToken": "n",
        },
        {"DomainIdEquals": DOMAIN},
    )
    stub.add_response(
        "list_spaces",
        {"Spaces": [{"DomainId": DOMAIN, "SpaceName": "gone", "Status": "Deleting"}]},
        {"DomainIdEquals": DOMAIN, "NextToken": "n"},
    )
    stub.add_response("delete_space", {}, {"DomainId": DOMAIN, "SpaceName": "team"})
    report = delete_apps_and_spaces(client, DOMAIN)
    assert report.deleted == ["space team"]
    assert report.pending == ["space team (Deleting)", "space gone (Deleting)"]


def test_second_run_after_everything_is_gone_is_a_no_op(sagemaker: tuple[Any, Stubber]) -> None:
    client, stub = sagemaker
    stub.add_response(
        "list_apps", {"Apps": [_app("default", "Deleted")]}, {"DomainIdEquals": DOMAIN}
    )
    stub.add_response("list_spaces", {"Spaces": []}, {"DomainIdEquals": DOMAIN})
    report = delete_apps_and_spaces(client, DOMAIN)
    assert report.done
    assert report.deleted == []


def test_busy_app_is_retried_and_vanished_one_counts_as_done(
    sagemaker: tuple[Any, Stubber],
) -> None:
    client, stub = sagemaker
    stub.add_response(
        "list_apps",
        {"Apps": [_app("starting", "Pending"), _app("vanished", "InService")]},
        {"DomainIdEquals": DOMAIN},
    )
    stub.add_client_error("delete_app", "ResourceInUse", "app is being created")
    stub.add_client_error("delete_app", "ResourceNotFound", "no such app")
    report = delete_apps_and_spaces(client, DOMAIN)
    assert report.pending == ["app alice/JupyterLab/starting (Pending, busy: ResourceInUse)"]
    assert report.deleted == []
    # Next pass: the app is now deletable.
    stub.add_response(
        "list_apps", {"Apps": [_app("starting", "InService")]}, {"DomainIdEquals": DOMAIN}
    )
    stub.add_response("delete_app", {})
    assert delete_apps_and_spaces(client, DOMAIN).deleted == ["app alice/JupyterLab/starting"]


def test_apps_of_another_domain_are_never_touched(sagemaker: tuple[Any, Stubber]) -> None:
    client, stub = sagemaker
    foreign = {**_app("default", "InService"), "DomainId": OTHER}
    stub.add_response("list_apps", {"Apps": [foreign]}, {"DomainIdEquals": DOMAIN})
    stub.add_response("list_spaces", {"Spaces": [{"DomainId": OTHER, "SpaceName": "x"}]})
    report = delete_apps_and_spaces(client, DOMAIN)  # a delete call would fail: none stubbed
    assert report.done
    assert report.deleted == []


def test_unexpected_errors_are_raised(sagemaker: tuple[Any, Stubber]) -> None:
    client, stub = sagemaker
    stub.add_response("list_apps", {"Apps": [_app("default", "InService")]})
    stub.add_client_error("delete_app", "AccessDeniedException", "no")
    with pytest.raises(Exception, match="AccessDenied"):
        delete_apps_and_spaces(client, DOMAIN)


def test_bad_domain_id_is_a_one_line_input_error() -> None:
    with pytest.raises(InputError, match="domain id must look like d-"):
        delete_apps_and_spaces(boto3.client("sagemaker", region_name="us-east-1"), "arn:x")


# Home EFS and security groups (moto) ---------------------------------------------------


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    with mock_aws():
        yield {
            name: boto3.client(name, region_name="us-east-1")
            for name in ("sagemaker", "efs", "ec2")
        }


def _studio_storage(aws: dict[str, Any], domain_id: str) -> dict[str, str]:
    return create_domain_storage(aws["ec2"], aws["efs"], _arn(domain_id))


def _storage(aws: dict[str, Any], domain_id: str) -> CleanupReport:
    return delete_domain_storage(
        domain_id, sagemaker=aws["sagemaker"], efs=aws["efs"], ec2=aws["ec2"]
    )


def _group_ids(aws: dict[str, Any]) -> set[str]:
    return {g["GroupId"] for g in aws["ec2"].describe_security_groups()["SecurityGroups"]}


def test_storage_goes_mount_targets_then_efs_then_groups(aws: dict[str, Any]) -> None:
    mine = _studio_storage(aws, DOMAIN)
    # Pass 1: only the mount target (the file system cannot go while it has one).
    first = _storage(aws, DOMAIN)
    assert [d.split(" of ")[0].split(" ")[0:2] for d in first.deleted] == [["mount", "target"]]
    assert not first.done
    assert aws["efs"].describe_file_systems(FileSystemId=mine["efs"])["FileSystems"]
    assert {mine["inbound"], mine["outbound"]} <= _group_ids(aws)
    # Pass 2: the file system, then both security groups (rules revoked first).
    second = _storage(aws, DOMAIN)
    assert second.deleted == [
        f"efs {mine['efs']}",
        f"security group {mine['inbound']} (security-group-for-inbound-nfs-{DOMAIN})",
        f"security group {mine['outbound']} (security-group-for-outbound-nfs-{DOMAIN})",
    ]
    assert second.done
    assert aws["efs"].describe_file_systems()["FileSystems"] == []
    assert not {mine["inbound"], mine["outbound"]} & _group_ids(aws)
    # Pass 3 (idempotent): nothing left, nothing fails.
    third = _storage(aws, DOMAIN)
    assert third.done
    assert third.deleted == []


def test_another_domains_efs_and_groups_are_untouched(aws: dict[str, Any]) -> None:
    _studio_storage(aws, DOMAIN)
    other = _studio_storage(aws, OTHER)
    while not _storage(aws, DOMAIN).done:
        pass
    (file_system,) = aws["efs"].describe_file_systems()["FileSystems"]
    assert file_system["FileSystemId"] == other["efs"]
    assert aws["efs"].describe_mount_targets(FileSystemId=other["efs"])["MountTargets"]
    assert {other["inbound"], other["outbound"]} <= _group_ids(aws)


def _live_domain(aws: dict[str, Any], vpc: str) -> str:
    """A domain that exists (moto), in ``vpc``: its ARN."""
    subnets = aws["ec2"].describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])
    return str(
        aws["sagemaker"].create_domain(
            DomainName="live",
            AuthMode="IAM",
            DefaultUserSettings={"ExecutionRole": f"arn:aws:iam::{ACCOUNT}:role/x"},
            SubnetIds=[subnets["Subnets"][0]["SubnetId"]],
            VpcId=vpc,
        )["DomainArn"]
    )


def test_storage_of_a_live_domain_is_left_alone(aws: dict[str, Any]) -> None:
    storage = _studio_storage(aws, DOMAIN)
    live = {"DomainArn": _live_domain(aws, storage["vpc"])}
    live_id = live["DomainArn"].rsplit("/", 1)[1]
    aws["efs"].tag_resource(
        ResourceId=storage["efs"], Tags=[{"Key": SAGEMAKER_OWNER_TAG, "Value": live["DomainArn"]}]
    )
    report = _storage(aws, live_id)
    assert report.done
    assert report.deleted == []
    assert report.skipped and "still exists" in report.skipped[0]
    assert aws["efs"].describe_file_systems(FileSystemId=storage["efs"])["FileSystems"]


def test_security_group_still_in_use_is_retried() -> None:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    group = {
        "GroupId": "sg-0123456789abcdef0",
        "GroupName": "security-group-for-outbound-nfs",
        "Description": "d",
        "Tags": [{"Key": SAGEMAKER_OWNER_TAG, "Value": _arn(DOMAIN)}],
        "IpPermissions": [],
        "IpPermissionsEgress": [],
    }
    with Stubber(ec2) as stub:
        stub.add_response("describe_security_groups", {"SecurityGroups": [group]})
        stub.add_client_error("delete_security_group", "DependencyViolation", "has dependents")
        report = CleanupReport(scope=f"domain {DOMAIN}")
        delete_security_groups(ec2, DOMAIN, report)
        stub.assert_no_pending_responses()
    assert report.pending == [
        "security group sg-0123456789abcdef0 (security-group-for-outbound-nfs) "
        "(busy: DependencyViolation)"
    ]


# The stack-delete hook: storage of deleted domains in one VPC -------------------------

PREFIX = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:domain/"


def _vpc_storage(aws: dict[str, Any], vpc: str, prefix: str = PREFIX) -> CleanupReport:
    return delete_vpc_domain_storage(
        vpc, prefix, sagemaker=aws["sagemaker"], efs=aws["efs"], ec2=aws["ec2"]
    )


def test_a_deleted_domains_storage_is_found_in_its_vpc_and_removed(aws: dict[str, Any]) -> None:
    mine = _studio_storage(aws, DOMAIN)
    other = _studio_storage(aws, OTHER)  # another (deleted) domain, in another VPC
    assert domains_with_storage_in(mine["vpc"], PREFIX, efs=aws["efs"], ec2=aws["ec2"]) == {DOMAIN}
    passes = []
    while not (report := _vpc_storage(aws, mine["vpc"])).done:
        passes.append(report)
        assert len(passes) < 5
    assert len(passes) == 1  # mount targets first, then the file system and groups
    assert report.scope == f"vpc {mine['vpc']}"
    assert {fs["FileSystemId"] for fs in aws["efs"].describe_file_systems()["FileSystems"]} == {
        other["efs"]
    }
    assert not {mine["inbound"], mine["outbound"]} & _group_ids(aws)
    assert {other["inbound"], other["outbound"]} <= _group_ids(aws)
    # The next pass finds nothing left and is done.
    assert _vpc_storage(aws, mine["vpc"]).deleted == []


def test_a_file_system_is_found_by_its_mount_targets_once_its_groups_are_gone(
    aws: dict[str, Any],
) -> None:
    mine = _studio_storage(aws, DOMAIN)
    for group in (mine["inbound"], mine["outbound"]):  # someone removed the groups' tags
        aws["ec2"].delete_tags(Resources=[group], Tags=[{"Key": SAGEMAKER_OWNER_TAG}])
    assert domains_with_storage_in(mine["vpc"], PREFIX, efs=aws["efs"], ec2=aws["ec2"]) == {DOMAIN}


def test_storage_of_another_account_or_region_is_not_ours(aws: dict[str, Any]) -> None:
    mine = _studio_storage(aws, DOMAIN)
    elsewhere = "arn:aws:sagemaker:eu-west-1:210987654321:domain/"
    assert domains_with_storage_in(mine["vpc"], elsewhere, efs=aws["efs"], ec2=aws["ec2"]) == set()
    assert _vpc_storage(aws, mine["vpc"], elsewhere).deleted == []
    assert aws["efs"].describe_file_systems(FileSystemId=mine["efs"])["FileSystems"]


def test_a_live_domain_in_the_vpc_is_left_alone(aws: dict[str, Any]) -> None:
    storage = _studio_storage(aws, DOMAIN)
    live = {"DomainArn": _live_domain(aws, storage["vpc"])}
    for resource in (storage["inbound"], storage["outbound"]):
        aws["ec2"].create_tags(
            Resources=[resource], Tags=[{"Key": SAGEMAKER_OWNER_TAG, "Value": live["DomainArn"]}]
        )
    aws["efs"].tag_resource(
        ResourceId=storage["efs"], Tags=[{"Key": SAGEMAKER_OWNER_TAG, "Value": live["DomainArn"]}]
    )
    report = _vpc_storage(aws, storage["vpc"])
    assert report.done and report.deleted == []
    assert "still exists" in report.skipped[0]


def test_a_domain_answer_it_cannot_read_is_raised() -> None:
    sagemaker = boto3.client("sagemaker", region_name="us-east-1")
    with Stubber(sagemaker) as stub:
        stub.add_client_error("describe_domain", "AccessDeniedException", "no")
        with pytest.raises(Exception, match="AccessDenied"):
            delete_domain_storage(
                DOMAIN,
                sagemaker=sagemaker,
                efs=boto3.client("efs", region_name="us-east-1"),
                ec2=boto3.client("ec2", region_name="us-east-1"),
            )


@pytest.mark.parametrize(
    ("vpc", "prefix", "message"),
    [
        ("vpc-x", PREFIX, "VPC id must look like"),
        ("vpc-0123456789abcdef0", "arn:aws:sagemaker:us-east-1::domain/", "domain ARN prefix"),
    ],
)
def test_bad_vpc_or_prefix_is_an_input_error(vpc: str, prefix: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        domains_with_storage_in(vpc, prefix, efs=None, ec2=None)  # type: ignore[arg-type]


def test_domain_id_from_rejects_other_arns() -> None:
    assert domain_id_from(_arn(DOMAIN)) == DOMAIN
    assert domain_id_from("arn:aws:sagemaker:us-east-1:1:user-profile/d-x/alice") is None
