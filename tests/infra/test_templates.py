"""Every synthesized template: normalized snapshot, cfn-lint clean, tagged for teardown."""

from __future__ import annotations

import json

import pytest
from cfnlint.api import ManualArgs, lint
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from mlops.constants import TAG_ENVIRONMENT
from tests.synth import normalized, synthesize

ENVIRONMENTS = ("dev", "prod")
# W3005 (redundant DependsOn) is what CDK emits for ordering; docs/architecture.md accepts it.
IGNORED_CFN_LINT_RULES = ["W3005"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_snapshot_of_every_stack(env: str, snapshot: SnapshotAssertion) -> None:
    templates = synthesize(env).templates
    json_snapshot = snapshot.use_extension(JSONSnapshotExtension)
    for stack, template in sorted(templates.items()):
        assert normalized(template) == json_snapshot(name=f"{env}-{stack}")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_cfn_lint_is_clean(env: str) -> None:
    config = ManualArgs(ignore_checks=IGNORED_CFN_LINT_RULES, regions=["us-east-1", "eu-west-1"])
    findings = {
        stack: [str(match) for match in lint(json.dumps(template), config=config)]
        for stack, template in synthesize(env).templates.items()
    }
    assert findings == {stack: [] for stack in findings}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_stateful_resources_carry_the_environment_tag(env: str) -> None:
    for stack, template in synthesize(env).templates.items():
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] in ("AWS::S3::Bucket", "AWS::KMS::Key"):
                tags = {t["Key"]: t["Value"] for t in resource["Properties"].get("Tags", [])}
                assert tags.get(TAG_ENVIRONMENT) == env, f"{stack}/{logical_id} untagged"
