"""Registry stack: one Model Package Group per configured group, retained unless ephemeral."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from mlops.constants import TAG_ENVIRONMENT, TAG_MODEL_PACKAGE_GROUP
from stacks.config import ConfigError, load_environment
from stacks.constructs.model_registry import (
    DESCRIPTION_TAG,
    READ_GROUP_ACTIONS,
    READ_VERSION_ACTIONS,
    read_policy,
)
from tests.synth import Synthesized, cdk_context

# Renaming the construct would make CloudFormation replace the group (and lose its versions).
PINNED_GROUP_LOGICAL_ID = "RegistryfrauddetectionAE184D1B"


def test_group_logical_id_is_pinned(dev: Synthesized, prod: Synthesized) -> None:
    for synth in (dev, prod):
        resource = synth.templates["registry"]["Resources"][PINNED_GROUP_LOGICAL_ID]
        assert resource["Type"] == "AWS::SageMaker::ModelPackageGroup"


def test_groups_come_from_the_config_named_per_environment(
    dev: Synthesized, prod: Synthesized
) -> None:
    for synth, name in ((dev, "mlops-dev-fraud-detection"), (prod, "mlops-prod-fraud-detection")):
        (group,) = synth.resources("registry", "AWS::SageMaker::ModelPackageGroup").values()
        assert group["Properties"]["ModelPackageGroupName"] == name


def test_no_create_only_property_follows_an_editable_config_key(dev: Synthesized) -> None:
    # The name is fixed, so a create-only property that changes would need a replacement
    # CloudFormation cannot make: only the name may be create-only, the description is a tag.
    # cfn-lint's copy of the CloudFormation registry schema of the resource type.
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(
        "us-east-1", "AWS::SageMaker::ModelPackageGroup"
    ).schema
    create_only = {p.removeprefix("/properties/") for p in schema["createOnlyProperties"]}
    assert "ModelPackageGroupDescription" in create_only  # what AWS says today
    (group,) = dev.resources("registry", "AWS::SageMaker::ModelPackageGroup").values()
    assert set(group["Properties"]) & create_only == {"ModelPackageGroupName"}
    tags = {t["Key"]: t["Value"] for t in group["Properties"]["Tags"]}
    assert tags[DESCRIPTION_TAG] == "Card transaction fraud classifier"


def test_groups_are_tagged(dev: Synthesized) -> None:
    (group,) = dev.resources("registry", "AWS::SageMaker::ModelPackageGroup").values()
    tags = {t["Key"]: t["Value"] for t in group["Properties"]["Tags"]}
    assert tags[TAG_MODEL_PACKAGE_GROUP] == "mlops-dev-fraud-detection"
    assert tags[TAG_ENVIRONMENT] == "dev"


def _groups_context(env: str, groups: list[dict[str, str]]) -> dict[str, Any]:
    context = copy.deepcopy(cdk_context(env))
    context["environments"][env]["registry"] = {"model_package_groups": groups}
    return context


def test_a_group_name_too_long_with_the_environment_prefix_is_refused() -> None:
    fits = "g" * (63 - len("mlops-prod-"))
    load_environment(_groups_context("prod", [{"name": fits}]))

    with pytest.raises(ConfigError) as raised:
        load_environment(_groups_context("prod", [{"name": fits + "x"}]))

    assert str(raised.value).startswith(
        f"config error at environments.prod.registry.model_package_groups[0].name: got "
        f"'{fits}x'; SageMaker's group name 'mlops-prod-{fits}x' has 64 characters"
    )


def test_a_description_that_is_no_valid_tag_value_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"model_package_groups\[0\]\.description: .*256"):
        load_environment(
            _groups_context("dev", [{"name": "g", "description": "fraud (cards); v2"}])
        )


def test_retained_in_prod_destroyed_in_ephemeral_dev(dev: Synthesized, prod: Synthesized) -> None:
    (dev_group,) = dev.resources("registry", "AWS::SageMaker::ModelPackageGroup").values()
    (prod_group,) = prod.resources("registry", "AWS::SageMaker::ModelPackageGroup").values()
    assert (dev_group["DeletionPolicy"], prod_group["DeletionPolicy"]) == ("Delete", "Retain")
    assert prod_group["UpdateReplacePolicy"] == "Retain"


def test_no_resource_policy_without_readers(prod: Synthesized) -> None:
    (group,) = prod.resources("registry", "AWS::SageMaker::ModelPackageGroup").values()
    assert "ModelPackageGroupPolicy" not in group["Properties"]


def test_cross_account_policy_grants_read_only() -> None:
    policy = read_policy(
        partition="aws",
        region="eu-west-1",
        account="111111111111",
        group="mlops-prod-fraud-detection",
        readers=("222222222222",),
    )
    statements = policy["Statement"]
    assert {s["Principal"]["AWS"][0] for s in statements} == {"arn:aws:iam::222222222222:root"}
    assert [s["Resource"] for s in statements] == [
        "arn:aws:sagemaker:eu-west-1:111111111111:model-package-group/mlops-prod-fraud-detection",
        "arn:aws:sagemaker:eu-west-1:111111111111:model-package/mlops-prod-fraud-detection/*",
    ]
    actions = {a for s in statements for a in s["Action"]}
    assert actions == {*READ_GROUP_ACTIONS, *READ_VERSION_ACTIONS}
    assert all(a.split(":")[1].startswith(("Describe", "List")) for a in actions)
