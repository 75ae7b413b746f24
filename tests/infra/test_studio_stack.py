"""Studio stack: the domain, its users, the execution role's scope, and the clean-up order."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mlops.constants import resource_prefix
from tests.synth import Synthesized

DOMAIN = "AWS::SageMaker::Domain"
XRAY = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")


def _domain(synth: Synthesized) -> tuple[str, dict[str, Any]]:
    ((logical_id, domain),) = synth.resources("studio", DOMAIN).items()
    return logical_id, domain


def _statements(synth: Synthesized) -> list[dict[str, Any]]:
    return [
        statement
        for policy in synth.resources("studio", "AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _execution_statements(synth: Synthesized) -> dict[str, dict[str, Any]]:
    role_id = next(
        k
        for k, r in synth.resources("studio", "AWS::IAM::Role").items()
        if r["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
        == {"Service": "sagemaker.amazonaws.com"}
    )
    return {
        statement["Sid"]: statement
        for policy in synth.resources("studio", "AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    }


def test_one_vpc_only_iam_domain_encrypted_with_the_data_key(dev: Synthesized) -> None:
    _, domain = _domain(dev)
    properties = domain["Properties"]
    assert properties["DomainName"] == "mlops-dev-studio"
    assert properties["AuthMode"] == "IAM"
    assert properties["AppNetworkAccessType"] == "VpcOnly"
    assert "PublishOutputFnGetAttDataKey17AFBB84Arn" in json.dumps(properties["KmsKeyId"])
    assert "fraud-mlops-dev-network" in json.dumps(properties["VpcId"])
    assert len(properties["SubnetIds"]) == 2
    assert properties["TagPropagation"] == "ENABLED"


def test_default_settings_role_security_group_and_kms_sharing(dev: Synthesized) -> None:
    _, domain = _domain(dev)
    settings = domain["Properties"]["DefaultUserSettings"]
    assert settings["ExecutionRole"]["Fn::GetAtt"][1] == "Arn"
    assert "WorkloadSecurityGroup" in json.dumps(settings["SecurityGroups"])
    sharing = settings["SharingSettings"]
    assert sharing["NotebookOutputOption"] == "Allowed"
    assert "ArtifactsBucket" in json.dumps(sharing["S3OutputPath"])
    assert sharing["S3OutputPath"]["Fn::Join"][1][-1] == "/studio-sharing"
    assert "DataKey" in json.dumps(sharing["S3KmsKeyId"])
    space = domain["Properties"]["DefaultSpaceSettings"]
    assert space["ExecutionRole"] == settings["ExecutionRole"]


@pytest.mark.parametrize(("env", "minutes"), [("dev", 60), ("prod", 120)])
def test_idle_apps_shut_down_after_the_configured_minutes(
    env: str, minutes: int, request: pytest.FixtureRequest
) -> None:
    synth: Synthesized = request.getfixturevalue(env)
    properties = _domain(synth)[1]["Properties"]
    users = properties["DefaultUserSettings"]
    # Shared spaces too (issue 12, defect 13); SageMaker's DefaultSpaceSettings have no Code
    # Editor settings, so shared Code Editor apps rely on the scheduled clean-up.
    apps = [
        users["JupyterLabAppSettings"],
        users["CodeEditorAppSettings"],
        properties["DefaultSpaceSettings"]["JupyterLabAppSettings"],
    ]
    for app in apps:
        idle = app["AppLifecycleManagement"]["IdleSettings"]
        assert idle == {
            "LifecycleManagement": "ENABLED",
            "IdleTimeoutInMinutes": minutes,
            "MinIdleTimeoutInMinutes": 60,
            "MaxIdleTimeoutInMinutes": minutes,
        }


@pytest.mark.parametrize(
    ("env", "users"),
    [("dev", {"data-scientist-1", "data-scientist-2"}), ("prod", {"data-scientist-1"})],
)
def test_one_profile_per_configured_user(
    env: str, users: set[str], request: pytest.FixtureRequest
) -> None:
    synth: Synthesized = request.getfixturevalue(env)
    domain_id, _ = _domain(synth)
    profiles = synth.resources("studio", "AWS::SageMaker::UserProfile").values()
    assert {p["Properties"]["UserProfileName"] for p in profiles} == users
    for profile in profiles:
        assert profile["Properties"]["DomainId"] == {"Fn::GetAtt": [domain_id, "DomainId"]}


def test_no_action_wildcards_and_no_write_on_every_resource(dev: Synthesized) -> None:
    for statement in _statements(dev):
        actions = _as_list(statement["Action"])
        resources = _as_list(statement.get("Resource", []))
        assert not [a for a in actions if a == "*" or a.endswith(":*")], statement
        if "*" in resources and not statement.get("Condition"):
            # Unconditioned "*" only for reads without resource-level permissions, and
            # X-Ray (every function's traces: the API has no resources).
            assert all(
                a.split(":")[1].startswith(("List", "Describe", "Get", "Search", "Query"))
                or a in XRAY
                for a in actions
            ), statement


def test_no_aws_managed_policies(dev: Synthesized) -> None:
    for logical_id, role in dev.resources("studio", "AWS::IAM::Role").items():
        if "Provider" in logical_id:  # CDK's provider framework (acknowledged, docs/security.md)
            continue
        assert "ManagedPolicyArns" not in role["Properties"], logical_id


def test_execution_role_is_scoped_to_this_environment(dev: Synthesized) -> None:
    statements = _execution_statements(dev)
    prefix = resource_prefix("dev")
    runs = _as_list(statements["EnvironmentRunsByNamePrefix"]["Resource"])
    # The prefix ends with its separator: "mlops-dev-*" never matches environment "dev2".
    assert runs and all(json.dumps(r).endswith(f'/{prefix}-*"]]}}') for r in runs)
    groups = json.dumps(statements["EnvironmentModelPackageGroups"]["Resource"])
    assert ":model-package-group/mlops-dev-fraud-detection" in groups
    assert ":model-package/mlops-dev-fraud-detection/*" in groups
    domain_id, _ = _domain(dev)
    for resource in _as_list(statements["ThisDomainOnly"]["Resource"]):
        assert {"Fn::GetAtt": [domain_id, "DomainId"]} in resource["Fn::Join"][1]
    s3 = json.dumps(statements["ReadWriteEnvironmentObjects"]["Resource"])
    assert "DataBucket" in s3 and "ArtifactsBucket" in s3 and "AccessLogs" not in s3
    assert "DataKey" in json.dumps(statements["UseEnvironmentKey"]["Resource"])
    pass_role = statements["PassThisRoleToSageMakerOnly"]
    assert pass_role["Condition"] == {
        "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
    }
    assert pass_role["Resource"]["Fn::GetAtt"][1] == "Arn"
    assert "sagemaker:CreateEndpoint" not in json.dumps(statements)  # deployment does that


def test_cleanup_deletes_only_what_a_sagemaker_domain_owns(dev: Synthesized) -> None:
    deleting = [
        s
        for s in _statements(dev)
        if any(":Delete" in a or ":Revoke" in a for a in _as_list(s["Action"]))
        and s.get("Sid") != "ThisDomainOnly"
    ]
    by_sid = {s["Sid"]: s for s in deleting}
    for sid in ("DeleteDomainFileSystems", "DeleteDomainSecurityGroupsInThisVpc"):
        condition = by_sid[sid]["Condition"]["StringLike"]
        (key,) = condition
        assert key == "aws:ResourceTag/ManagedByAmazonSageMakerResource"
    # EC2 deletes (the groups, and the interfaces EFS deletes with a mount target) are also
    # limited to this environment's VPC.
    for sid in ("DeleteDomainSecurityGroupsInThisVpc", "DeleteMountTargetInterfacesInThisVpc"):
        assert list(by_sid[sid]["Condition"]["ArnEquals"]) == ["ec2:Vpc"]
        assert "fraud-mlops-dev-network" in json.dumps(by_sid[sid]["Condition"])
    domain_id, _ = _domain(dev)
    for resource in _as_list(by_sid["DeleteThisDomainsAppsAndSpaces"]["Resource"]):
        assert {"Fn::GetAtt": [domain_id, "DomainId"]} in resource["Fn::Join"][1]


def test_cleanup_runs_before_the_domain_for_apps_and_after_it_for_storage(
    dev: Synthesized,
) -> None:
    resources = dev.templates["studio"]["Resources"]
    domain_id, domain = _domain(dev)
    (apps_id,) = dev.resources("studio", "Custom::StudioAppsCleanup")
    (storage_id,) = dev.resources("studio", "Custom::StudioStorageCleanup")
    profile_ids = set(dev.resources("studio", "AWS::SageMaker::UserProfile"))
    apps, storage = resources[apps_id], resources[storage_id]

    # Apps depend on the domain and every profile: on delete they go first.
    assert apps["Properties"]["DomainId"] == {"Fn::GetAtt": [domain_id, "DomainId"]}
    assert profile_ids <= set(apps["DependsOn"])
    # The domain depends on Storage: on delete, Storage runs after the domain is gone ...
    assert storage_id in domain["DependsOn"]
    # ... and Storage does not depend on the domain (that would be a cycle).
    assert domain_id not in json.dumps(storage).replace(f'"{domain_id}"', "")
    assert "DependsOn" not in storage
    # It is told what it needs instead: the VPC (the Network stack's) and this account's
    # domain ARN prefix; it finds the storage by the owner tag SageMaker sets.
    assert "fraud-mlops-dev-network" in json.dumps(storage["Properties"]["VpcId"])
    prefix = storage["Properties"]["DomainArnPrefix"]["Fn::Join"][1]
    assert prefix[-1] == ":domain/"


def test_provider_polls_long_enough_for_app_deletion(dev: Synthesized) -> None:
    for resource in (
        *dev.resources("studio", "Custom::StudioAppsCleanup").values(),
        *dev.resources("studio", "Custom::StudioStorageCleanup").values(),
    ):
        assert resource["Properties"]["ServiceTimeout"] == "3600"
        assert resource["DeletionPolicy"] == "Delete"
    (machine,) = dev.resources("studio", "AWS::StepFunctions::StateMachine").values()
    definition = json.dumps(machine["Properties"]["DefinitionString"])
    assert '\\"IntervalSeconds\\":30' in definition
    assert '\\"MaxAttempts\\":110' in definition  # 55 minutes of 30-second polls


def test_cleanup_handlers_know_their_stage(dev: Synthesized) -> None:
    stages = {
        f["Properties"]["Environment"]["Variables"].get("CLEANUP_STAGE")
        for f in dev.resources("studio", "AWS::Lambda::Function").values()
        if "Environment" in f["Properties"]
    }
    assert {"on_event", "is_complete"} <= stages


def test_studio_stack_is_stateless(dev: Synthesized, prod: Synthesized) -> None:
    for synth in (dev, prod):
        for resource in synth.templates["studio"]["Resources"].values():
            assert resource.get("DeletionPolicy", "Delete") == "Delete"
