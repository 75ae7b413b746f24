"""Every synthesized template: normalized snapshot, cfn-lint clean, tagged for teardown."""

from __future__ import annotations

import functools
import json
from typing import Any

import pytest
from cfnlint.config import ConfigMixIn, ManualArgs
from cfnlint.decode.decode import decode_str
from cfnlint.runner import Runner
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


@functools.cache
def cfn_lint() -> Runner:
    """One cfn-lint runner per process: what `cfnlint.api.lint` builds for every template
    (loading every rule, ~0.5 s each time) is built once, as the cfn-lint CLI does."""
    config = ManualArgs(ignore_checks=IGNORED_CFN_LINT_RULES, regions=["us-east-1", "eu-west-1"])
    return Runner(ConfigMixIn(**config))


def lint(template: dict[str, Any]) -> list[str]:
    decoded, errors = decode_str(json.dumps(template))
    return [str(match) for match in errors or cfn_lint().validate_template(decoded)]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_cfn_lint_is_clean(env: str) -> None:
    findings = {stack: lint(template) for stack, template in synthesize(env).templates.items()}
    assert findings == {stack: [] for stack in findings}


def test_cfn_lint_finds_what_it_should() -> None:
    """The shared runner still applies its rules (E3002: a property the schema lacks)."""
    broken = {"Resources": {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"Nope": 1}}}}
    assert any("E3002" in finding for finding in lint(broken))


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_stateful_resources_carry_the_environment_tag(env: str) -> None:
    for stack, template in synthesize(env).templates.items():
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] in ("AWS::S3::Bucket", "AWS::KMS::Key"):
                tags = {t["Key"]: t["Value"] for t in resource["Properties"].get("Tags", [])}
                assert tags.get(TAG_ENVIRONMENT) == env, f"{stack}/{logical_id} untagged"
