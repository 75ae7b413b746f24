"""Every policy of dev and prod against AWS's Service Authorization Reference, and the checks
themselves (they must fail on the defects they exist for)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.security.authorization import KNOWN_GAPS, Findings, Located, check, statements
from tests.synth import Synthesized

ENVS = ["dev", "prod"]


def _findings(synthesized: Synthesized) -> Findings:
    findings = Findings()
    for located in statements(synthesized.assembly):
        check(located, findings)
    return findings


@pytest.mark.parametrize("env", ENVS)
def test_every_statement_fits_the_service_authorization_reference(
    env: str, request: pytest.FixtureRequest
) -> None:
    findings = _findings(request.getfixturevalue(env))
    assert findings.checked > 100  # identity, trust, key, queue, topic and bucket policies
    assert findings.problems == []


def test_every_allow_list_entry_is_still_needed(dev: Synthesized, prod: Synthesized) -> None:
    used = _findings(dev).gaps_used | _findings(prod).gaps_used
    assert used == set(KNOWN_GAPS)
    assert all("https://docs.aws.amazon.com/" in reason for reason in KNOWN_GAPS.values())


@pytest.mark.parametrize("env", ENVS)
def test_name_prefixes_end_with_a_separator(env: str, request: pytest.FixtureRequest) -> None:
    """``mlops-dev*`` would also grant environment ``dev2``'s resources (issue 12, defect 11):
    every name prefix in a policy (resources and condition values) ends with ``-``."""
    synthesized: Synthesized = request.getfixturevalue(env)
    loose = re.compile(rf"mlops-{env}(?!-)")
    offenders = [
        f"{located.where}: {value}"
        for located in statements(synthesized.assembly)
        for value in _strings(
            [located.statement.get("Resource"), located.statement.get("Condition")]
        )
        if loose.search(value)
    ]
    assert offenders == []
    names = [
        v
        for s in statements(synthesized.assembly)
        for v in _strings(s.statement)
        if f"mlops-{env}-" in v
    ]
    assert names  # the check looked at prefixed names


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for value in node.values() for s in _strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in _strings(value)]
    return []


# --- the checks catch what they are for --------------------------------------------------

VPC = "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-0123456789abcdef0"
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-0000-4000-8000-1234abcd0000"


def _problems(statement: dict[str, Any]) -> list[str]:
    findings = Findings()
    check(Located("test/Policy#0", {"Effect": "Allow", **statement}), findings)
    return findings.problems


@pytest.mark.parametrize(
    ("statement", "problem"),
    [
        (
            {"Action": "sagemaker:DeleteEverything", "Resource": "*"},
            "sagemaker:DeleteEverything is not an action of the SAR",
        ),
        (  # issue 12, defect 12 (found with parliament)
            {
                "Action": ["kms:CreateGrant", "kms:DescribeKey"],
                "Resource": KEY,
                "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
            },
            "condition key kms:GrantIsForAWSResource does not apply to kms:DescribeKey",
        ),
        (  # issue 12, item 14: no ec2:Vpc on the interface CreateNetworkInterface creates
            {
                "Action": "ec2:CreateNetworkInterface",
                "Resource": "*",
                "Condition": {"ArnEquals": {"ec2:Vpc": VPC}},
            },
            "ec2:Vpc is not a key of the network-interface that ec2:CreateNetworkInterface",
        ),
        (
            {
                "Action": "sagemaker:ListCandidatesForAutoMLJob",
                "Resource": "arn:aws:sagemaker:us-east-1:123456789012:automl-job/mlops-dev-*",
            },
            "no resource of the statement fits sagemaker:ListCandidatesForAutoMLJob (it takes *)",
        ),
        (
            {
                "Action": "sagemaker:DescribePipelineExecution",
                "Resource": [
                    "arn:aws:sagemaker:us-east-1:123456789012:pipeline/mlops-dev-*",
                    "arn:aws:sagemaker:us-east-1:123456789012:pipeline-execution/mlops-dev-*",
                ],
            },
            "pipeline-execution/mlops-dev-* fits none of its actions",
        ),
    ],
)
def test_a_statement_the_reference_rejects_is_reported(
    statement: dict[str, Any], problem: str
) -> None:
    problems = _problems(statement)
    assert any(problem in found for found in problems), problems


@pytest.mark.parametrize(
    "statement",
    [
        {
            "Action": "ec2:DeleteNetworkInterface",
            "Resource": "arn:aws:ec2:us-east-1:123456789012:network-interface/*",
            "Condition": {"ArnEquals": {"ec2:Vpc": VPC}},
        },
        {
            "Action": "ec2:CreateNetworkInterface",
            "Resource": [
                "arn:aws:ec2:us-east-1:123456789012:subnet/*",
                "arn:aws:ec2:us-east-1:123456789012:security-group/*",
            ],
            "Condition": {"ArnEquals": {"ec2:Vpc": VPC}},
        },
        {
            "Action": ["elasticfilesystem:DeleteMountTarget"],
            "Resource": "arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/*",
            "Condition": {"StringLike": {"aws:ResourceTag/ManagedByAmazonSageMakerResource": "x"}},
        },
        {"Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::bucket/models/*"},
        {
            "Action": "cloudwatch:PutMetricData",
            "Resource": "*",
            "Condition": {"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}},
        },
    ],
)
def test_a_statement_that_fits_the_reference_passes(statement: dict[str, Any]) -> None:
    assert _problems(statement) == []
