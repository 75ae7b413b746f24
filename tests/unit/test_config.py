"""Configuration: cdk.json's environments parse, and each bad value stops synth in one line."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from typing import Any

import pytest

from stacks.config import ConfigError, load_environment
from stacks.config.reference import render
from tests.synth import ROOT, cdk_context


def _context(env: str = "dev", **overrides: Any) -> dict[str, Any]:
    """cdk.json's context with ``overrides`` merged into environment ``env``."""
    context = copy.deepcopy(cdk_context(env))
    target = context["environments"][env]
    for dotted, value in overrides.items():
        *parents, leaf = dotted.split("__")
        node = target
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = value
    return context


def test_every_environment_in_cdk_json_is_valid() -> None:
    for env in cdk_context("dev")["environments"]:
        config = load_environment(cdk_context(env))
        assert config.name == env


def test_every_environment_states_when_its_teardown_runs() -> None:
    """When resources are deleted is read in cdk.json, not inherited from a code default."""
    for env, raw in cdk_context("dev")["environments"].items():
        assert "schedule" in raw.get("teardown", {}), f"{env}: set teardown.schedule"


def test_defaults_fill_what_cdk_json_leaves_out() -> None:
    config = load_environment(cdk_context("dev"))
    assert config.training.objective_metric == "F1"
    assert config.network.nat_gateways == 0
    assert config.account is None and config.region is None


def test_default_environment_is_dev() -> None:
    context = cdk_context("dev")
    del context["env"]
    assert load_environment(context).name == "dev"


def test_account_and_region_fall_back_to_cdk_defaults() -> None:
    config = load_environment(
        cdk_context("dev"), default_account="123456789012", default_region="eu-west-1"
    )
    assert (config.account, config.region) == ("123456789012", "eu-west-1")
    pinned = load_environment(
        _context(account="210987654321", region="us-east-2"),
        default_account="123456789012",
        default_region="eu-west-1",
    )
    assert (pinned.account, pinned.region) == ("210987654321", "us-east-2")


@pytest.mark.parametrize(
    ("context", "message"),
    [
        (
            {**cdk_context("dev"), "env": "staging"},
            "config error at env: got 'staging'; allowed environments: dev, prod",
        ),
        (
            _context(colour="blue"),
            "config error at environments.dev.colour: got 'blue'; unknown key; allowed keys:",
        ),
        (
            _context(data__retention=3),
            "config error at environments.dev.data.retention: got 3; unknown key",
        ),
        (
            _context(registry__model_package_groups=[{"description": "no name"}]),
            "config error at environments.dev.registry.model_package_groups[0].name: "
            "got (missing); this key is required (str)",
        ),
        (
            _context(ephemeral="yes"),
            "config error at environments.dev.ephemeral: got 'yes'; expected true or false",
        ),
        (
            _context(deployment__instance_count="2"),
            "config error at environments.dev.deployment.instance_count: got '2'; "
            "expected a whole number",
        ),
        (
            _context(region="europe-1"),
            "config error at environments.dev.region: got 'europe-1'; allowed: an AWS region code",
        ),
        (
            _context(deployment__instance_type="m5.large"),
            "config error at environments.dev.deployment.instance_type: got 'm5.large'; "
            "allowed: a SageMaker instance type ml.<family>.<size>",
        ),
        (
            _context(log_retention_days=10),
            "config error at environments.dev.log_retention_days: got 10; allowed: 1, 3, 5, 7,",
        ),
        (
            _context(data__noncurrent_version_expiration_days=0),
            "config error at environments.dev.data.noncurrent_version_expiration_days: got 0; "
            "allowed: from 1 to 3650",
        ),
        (
            _context(account="12345"),
            "config error at environments.dev.account: got '12345'; allowed: a 12-digit",
        ),
        (
            _context(deployment__traffic_shift="big-bang"),
            "config error at environments.dev.deployment.traffic_shift: got 'big-bang'; "
            "allowed: 'all_at_once', 'canary', 'linear'",
        ),
        (
            _context(studio__user_profiles=[{"name": "ana"}, {"name": "ana"}]),
            "config error at environments.dev.studio.user_profiles: got [{'name': 'ana'}, "
            "{'name': 'ana'}]; name must be unique; repeated: ana",
        ),
        (
            _context(studio__user_profiles=[{"name": "bad_name"}]),
            "config error at environments.dev.studio.user_profiles[0].name: got 'bad_name'; "
            "allowed: 1-63 letters, digits and hyphens",
        ),
        (
            _context(network__existing_vpc={"vpc_id": "vpc-0abc12345"}),
            "config error at environments.dev.network.existing_vpc.subnet_ids: got (missing); "
            "this key is required (a list of str)",
        ),
        (
            _context(tags=["owner"]),
            "config error at environments.dev.tags: got ['owner']; "
            "expected an object of string values",
        ),
    ],
)
def test_bad_value_is_one_line_naming_path_value_and_allowed(
    context: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_environment(context)
    text = str(raised.value)
    assert text.startswith(message)
    assert "\n" not in text


def test_cdk_synth_with_unknown_environment_prints_one_line(tmp_path: Any) -> None:
    """The app itself (as the CDK CLI runs it) exits non-zero with the one-line error."""
    env = {
        **os.environ,
        "CDK_CONTEXT_JSON": json.dumps({**cdk_context("dev"), "env": "qa"}),
        "CDK_OUTDIR": str(tmp_path),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "error: config error at env: got 'qa'; allowed environments: dev, prod"
    )
    assert not list(tmp_path.iterdir())


def test_configuration_reference_is_current() -> None:
    """docs/configuration.md is generated from the dataclasses; regenerate it when they change."""
    expected = render()
    actual = (ROOT / "docs" / "configuration.md").read_text()
    assert actual == expected, (
        "run: .venv/bin/python -m stacks.config.reference > docs/configuration.md"
    )
