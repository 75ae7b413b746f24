"""Compose one environment of the platform: config → stacks → tags → cdk-nag.

``app.py`` and the tests both call :func:`build_platform`, so the tests check exactly what
``cdk synth`` produces.
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk

from mlops.constants import MANAGED_BY_VALUE, TAG_ENVIRONMENT, TAG_MANAGED_BY
from stacks.config import EnvironmentConfig, load_environment
from stacks.data_stack import DataStack
from stacks.nag import enforce_rule_packs


@dataclass(frozen=True)
class Platform:
    config: EnvironmentConfig
    data: DataStack

    @property
    def stacks(self) -> list[cdk.Stack]:
        return [self.data]


def stack_name(config: EnvironmentConfig, part: str) -> str:
    return f"fraud-mlops-{config.name}-{part}"


def build_platform(
    app: cdk.App, *, default_account: str | None = None, default_region: str | None = None
) -> Platform:
    context = {
        "environments": app.node.try_get_context("environments"),
        "env": app.node.try_get_context("env"),
    }
    config = load_environment(
        context, default_account=default_account, default_region=default_region
    )
    env = cdk.Environment(account=config.account, region=config.region)
    termination_protection = not config.ephemeral

    data = DataStack(
        app,
        stack_name(config, "data"),
        config=config,
        env=env,
        termination_protection=termination_protection,
        description=f"Fraud MLOps {config.name}: KMS key and S3 buckets (stateful)",
    )
    platform = Platform(config=config, data=data)

    for stack in platform.stacks:
        tags = cdk.Tags.of(stack)
        tags.add(TAG_ENVIRONMENT, config.name)
        tags.add(TAG_MANAGED_BY, MANAGED_BY_VALUE)
        for key, value in config.tags.items():
            tags.add(key, value)
    enforce_rule_packs(app)
    return platform
