"""Registry stack: one Model Package Group per configured group, retained unless ephemeral."""

from __future__ import annotations

from mlops.constants import TAG_ENVIRONMENT, TAG_MODEL_PACKAGE_GROUP
from stacks.constructs.model_registry import READ_GROUP_ACTIONS, READ_VERSION_ACTIONS, read_policy
from tests.synth import Synthesized

# Renaming the construct would make CloudFormation replace the group (and lose its versions).
PINNED_GROUP_LOGICAL_ID = "RegistryfrauddetectionAE184D1B"


def test_group_logical_id_is_pinned(dev: Synthesized, prod: Synthesized) -> None:
    for synth in (dev, prod):
        resource = synth.templates["registry"]["Resources"][PINNED_GROUP_LOGICAL_ID]
        assert resource["Type"] == "AWS::SageMaker::ModelPackageGroup"


def test_groups_come_from_the_config(dev: Synthesized) -> None:
    groups = dev.resources("registry", "AWS::SageMaker::ModelPackageGroup").values()
    assert [
        (g["Properties"]["ModelPackageGroupName"], g["Properties"]["ModelPackageGroupDescription"])
        for g in groups
    ] == [("fraud-detection", "Card transaction fraud classifier")]


def test_groups_are_tagged(dev: Synthesized) -> None:
    (group,) = dev.resources("registry", "AWS::SageMaker::ModelPackageGroup").values()
    tags = {t["Key"]: t["Value"] for t in group["Properties"]["Tags"]}
    assert tags[TAG_MODEL_PACKAGE_GROUP] == "fraud-detection"
    assert tags[TAG_ENVIRONMENT] == "dev"


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
        group="fraud-detection",
        readers=("222222222222",),
    )
    statements = policy["Statement"]
    assert {s["Principal"]["AWS"][0] for s in statements} == {"arn:aws:iam::222222222222:root"}
    assert [s["Resource"] for s in statements] == [
        "arn:aws:sagemaker:eu-west-1:111111111111:model-package-group/fraud-detection",
        "arn:aws:sagemaker:eu-west-1:111111111111:model-package/fraud-detection/*",
    ]
    actions = {a for s in statements for a in s["Action"]}
    assert actions == {*READ_GROUP_ACTIONS, *READ_VERSION_ACTIONS}
    assert all(a.split(":")[1].startswith(("Describe", "List")) for a in actions)
