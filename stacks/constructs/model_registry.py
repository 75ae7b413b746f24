"""Model Package Groups: the registry of model versions (stateful: lineage is audit data)."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from mlops.constants import TAG_MODEL_PACKAGE_GROUP, model_package_group_name
from stacks.config import ModelPackageGroupConfig

# SageMaker takes a group's description only when it creates the group: CloudFormation lists
# ModelPackageGroupDescription in the resource's createOnlyProperties (cfn-lint's schema of
# AWS::SageMaker::ModelPackageGroup) and the API has no UpdateModelPackageGroup. With a fixed
# name, an edited description would need a replacement that cannot happen, so the description
# is kept as this tag, which updates in place.
DESCRIPTION_TAG = "mlops:description"

# What a promotion account may do with the versions: read them, never change them.
READ_GROUP_ACTIONS = ("sagemaker:DescribeModelPackageGroup",)
READ_VERSION_ACTIONS = ("sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages")


def read_policy(
    *, partition: str, region: str, account: str, group: str, readers: tuple[str, ...]
) -> dict[str, Any]:
    """Resource policy letting ``readers`` (account ids) read ``group`` and its versions."""
    principals = {"AWS": [f"arn:{partition}:iam::{reader}:root" for reader in readers]}
    prefix = f"arn:{partition}:sagemaker:{region}:{account}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadGroup",
                "Effect": "Allow",
                "Principal": principals,
                "Action": list(READ_GROUP_ACTIONS),
                "Resource": f"{prefix}:model-package-group/{group}",
            },
            {
                "Sid": "ReadVersions",
                "Effect": "Allow",
                "Principal": principals,
                "Action": list(READ_VERSION_ACTIONS),
                "Resource": f"{prefix}:model-package/{group}/*",
            },
        ],
    }


class ModelRegistry(Construct):
    """One ``AWS::SageMaker::ModelPackageGroup`` per configured group, named
    ``mlops-<env>-<group>`` (environments may share an account; names are unique per account
    and region). The construct id stays the logical group name: it pins the logical id.

    Retained on ``cdk destroy`` unless ``ephemeral``. CloudFormation cannot delete a group
    that still holds versions: an ephemeral environment's versions are removed first by the
    teardown (``python -m mlops teardown --include-data``).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: str,
        groups: tuple[ModelPackageGroupConfig, ...],
        cross_account_read: tuple[str, ...],
        ephemeral: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        removal = cdk.RemovalPolicy.DESTROY if ephemeral else cdk.RemovalPolicy.RETAIN
        self.groups: dict[str, sagemaker.CfnModelPackageGroup] = {}
        for group in groups:
            name = model_package_group_name(environment, group.name)
            tags = [cdk.CfnTag(key=TAG_MODEL_PACKAGE_GROUP, value=name)]
            if group.description:
                tags.append(cdk.CfnTag(key=DESCRIPTION_TAG, value=group.description))
            resource = sagemaker.CfnModelPackageGroup(
                self,
                group.name,
                model_package_group_name=name,
                model_package_group_policy=read_policy(
                    partition=stack.partition,
                    region=stack.region,
                    account=stack.account,
                    group=name,
                    readers=cross_account_read,
                )
                if cross_account_read
                else None,
                tags=tags,
            )
            resource.apply_removal_policy(removal)
            self.groups[group.name] = resource
