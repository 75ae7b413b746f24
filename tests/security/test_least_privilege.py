"""Least privilege, proven: each function's role against the calls its code makes.

The recording and the comparison are tests/security/recorder.py (a plugin: the calls are made
by the deployment, teardown, studio and training tests). Here: the role side of the comparison,
the checks that need no recording, and the comparison's own behaviour.
"""

from __future__ import annotations

import ast
from typing import Any

import pytest

from tests.security.functions import BY_KEY, FUNCTIONS, function_roles
from tests.security.iam import Statement, iam_action, role_statements
from tests.security.least_privilege import compare, statements_to
from tests.security.recorder import Recorder
from tests.synth import ROOT, Synthesized


def _roles(synthesized: Synthesized) -> dict[str, list[Statement]]:
    statements: dict[str, list[Statement]] = {}
    for template in synthesized.templates.values():
        for key, role in function_roles(template).items():
            statements[key] = role_statements(template, role)
    return statements


def test_every_function_has_its_role_and_hands_it_to_the_comparison(
    dev: Synthesized, least_privilege_recorder: Recorder
) -> None:
    roles = _roles(dev)
    assert set(roles) == set(BY_KEY), "every PythonFunction is listed in functions.py"
    least_privilege_recorder.grants = statements_to(roles)


def test_prod_roles_grant_the_same_actions_as_dev(dev: Synthesized, prod: Synthesized) -> None:
    # The comparison runs on dev; prod differs only in names and account, not in actions.
    def actions(synthesized: Synthesized) -> dict[str, set[str]]:
        return {k: {a for s in v for a in s.actions} for k, v in _roles(synthesized).items()}

    assert actions(prod) == actions(dev)


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.key)
def test_entry_points_exist(function: Any) -> None:
    # A renamed entry point would silently stop its calls from being recorded.
    for path, name in function.entry_points:
        tree = ast.parse((ROOT / path).read_text())
        defined = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
        assert name in defined, f"{path} defines no {name}() any more"


def _policy_statements(synthesized: Synthesized) -> list[tuple[str, str, dict[str, Any]]]:
    found: list[tuple[str, str, dict[str, Any]]] = []
    for part, template in synthesized.templates.items():
        for logical_id, resource in template["Resources"].items():
            properties = resource.get("Properties", {})
            documents = []
            if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                documents.append(properties["PolicyDocument"])
            if resource["Type"] == "AWS::IAM::Role":
                documents.extend(p["PolicyDocument"] for p in properties.get("Policies", []))
            for document in documents:
                found.extend((part, logical_id, s) for s in document["Statement"])
    return found


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_no_statement_grants_a_service_wide_wildcard_action(
    env: str, request: pytest.FixtureRequest
) -> None:
    synthesized: Synthesized = request.getfixturevalue(env)
    statements = _policy_statements(synthesized)
    assert len(statements) > 50
    wildcards = [
        f"{part}/{logical_id}: {action}"
        for part, logical_id, statement in statements
        for action in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        if action == "*" or action.endswith(":*")
    ]
    assert wildcards == []


def test_function_environments_hold_no_secrets(dev: Synthesized, prod: Synthesized) -> None:
    # Why checkov's CKV_AWS_173 (customer key for Lambda environments) is skipped.
    suspicious = ("SECRET", "PASSWORD", "TOKEN", "CREDENTIAL", "PRIVATE", "ACCESS_KEY")
    names = set()
    for synthesized in (dev, prod):
        for part in synthesized.templates:
            for function in synthesized.resources(part, "AWS::Lambda::Function").values():
                variables = function["Properties"].get("Environment", {}).get("Variables", {})
                names.update(variables)
    assert "MLOPS_ENVIRONMENT" in names
    assert [n for n in names if any(word in n.upper() for word in suspicious)] == []


# --- the comparison itself ------------------------------------------------------------------

GRANTS = {
    "deploy": statements_to(
        {
            "deploy": [
                Statement(
                    "Own",
                    ("sagemaker:CreateEndpoint",),
                    ("arn:aws:sagemaker:*:*:endpoint/mlops-dev-*",),
                    False,
                ),
                Statement("List", ("sagemaker:ListEndpoints",), ("*",), False),
                Statement("Logs", ("logs:CreateLogStream", "logs:PutLogEvents"), ("*",), False),
            ]
        }
    )["deploy"]
}
CALLS = {
    ("deploy", "sagemaker", "CreateEndpoint", "arn:aws:sagemaker:*:*:endpoint/mlops-dev-fraud"),
    ("deploy", "sagemaker", "ListEndpoints", ""),
}


def test_the_comparison_passes_when_grants_and_calls_agree() -> None:
    result = compare(GRANTS, CALLS)
    assert result.violations == []
    used = result.functions["deploy"].used
    assert used == {"sagemaker:CreateEndpoint", "sagemaker:ListEndpoints"}
    assert set(result.functions["deploy"].allowed_unused) == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    }


def test_a_call_without_its_grant_fails() -> None:
    grants = {"deploy": [s for s in GRANTS["deploy"] if s["sid"] != "List"]}
    assert compare(grants, CALLS).violations == [
        "deploy: calls sagemaker:ListEndpoints, which its role does not allow"
    ]


def test_a_call_outside_the_granted_resources_fails() -> None:
    calls = {("deploy", "sagemaker", "CreateEndpoint", "arn:aws:sagemaker:*:*:endpoint/other")}
    violations = compare(GRANTS, calls).violations
    assert (
        "deploy: calls sagemaker:CreateEndpoint on arn:aws:sagemaker:*:*:endpoint/other, "
        "which its role does not allow"
    ) in violations


def test_a_grant_without_a_call_fails() -> None:
    grants = {
        "deploy": [
            *GRANTS["deploy"],
            {"sid": "More", "actions": ["sagemaker:DeleteDomain"], "resources": ["*"],
             "conditioned": False},
        ]
    }  # fmt: skip
    assert compare(grants, CALLS).violations == [
        "deploy: is granted sagemaker:DeleteDomain, which its code never called"
    ]


@pytest.mark.parametrize(
    ("service", "operation", "action"),
    [
        ("sagemaker", "CreateEndpoint", "sagemaker:CreateEndpoint"),
        (
            "service-quotas",
            "ListAWSDefaultServiceQuotas",
            "servicequotas:ListAWSDefaultServiceQuotas",
        ),
        ("resourcegroupstaggingapi", "GetResources", "tag:GetResources"),
        ("cloudwatch", "GetMetricData", "cloudwatch:GetMetricData"),
        ("efs", "DeleteMountTarget", "elasticfilesystem:DeleteMountTarget"),
        ("s3", "ListObjectsV2", "s3:ListBucket"),
    ],
)
def test_operations_map_to_their_iam_actions(service: str, operation: str, action: str) -> None:
    assert iam_action(service, operation) == action
