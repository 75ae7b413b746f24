"""IAM statements shared by the teardown functions: read by tag, act only on tagged resources.

Mutating SageMaker actions are allowed only on resources carrying this environment's
``TAG_ENVIRONMENT`` tag (``aws:ResourceTag`` condition), so even a bug in discovery cannot
delete another environment's resources. Listing and the tagging API have no resource-level
permissions: those statements use ``*`` and are acknowledged where they are granted.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam

from mlops.constants import TAG_ENVIRONMENT


def sagemaker_arn(stack: cdk.Stack, resource: str) -> str:
    return f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}:{resource}"


def read_by_tag(actions: list[str]) -> iam.PolicyStatement:
    """Tag lookups and SageMaker List* calls: no resource-level permissions exist for them."""
    return iam.PolicyStatement(actions=["tag:GetResources", *actions], resources=["*"])


def act_on_tagged(
    stack: cdk.Stack, environment: str, actions: list[str], resources: list[str]
) -> iam.PolicyStatement:
    """``actions`` on ``resources`` (e.g. ``endpoint/*``) tagged as this environment's."""
    return iam.PolicyStatement(
        actions=actions,
        resources=[sagemaker_arn(stack, r) for r in resources],
        conditions={"StringEquals": {f"aws:ResourceTag/{TAG_ENVIRONMENT}": environment}},
    )
