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
from stacks.deployment_stack import DeploymentStack
from stacks.nag import enforce_rule_packs
from stacks.network_stack import NetworkStack
from stacks.registry_stack import RegistryStack
from stacks.studio_stack import StudioStack
from stacks.teardown_stack import TeardownStack
from stacks.training_stack import TrainingStack


@dataclass(frozen=True)
class Platform:
    config: EnvironmentConfig
    data: DataStack
    network: NetworkStack
    studio: StudioStack
    registry: RegistryStack
    deployment: DeploymentStack
    training: TrainingStack
    teardown: TeardownStack

    @property
    def stacks(self) -> list[cdk.Stack]:
        return [
            self.data,
            self.network,
            self.studio,
            self.registry,
            self.deployment,
            self.training,
            self.teardown,
        ]


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
    network = NetworkStack(
        app,
        stack_name(config, "network"),
        config=config,
        data=data.resources,
        env=env,
        termination_protection=termination_protection,
        description=f"Fraud MLOps {config.name}: private VPC and SageMaker VPC endpoints",
    )
    studio = StudioStack(
        app,
        stack_name(config, "studio"),
        config=config,
        data=data.resources,
        network=network.resources,
        env=env,
        termination_protection=termination_protection,
        description=f"Fraud MLOps {config.name}: VPC-only SageMaker Studio domain and users",
    )
    registry = RegistryStack(
        app,
        stack_name(config, "registry"),
        config=config,
        env=env,
        termination_protection=termination_protection,
        description=f"Fraud MLOps {config.name}: Model Package Groups (stateful)",
    )
    deployment = DeploymentStack(
        app,
        stack_name(config, "deployment"),
        config=config,
        data=data.resources,
        registry=registry.resources,
        env=env,
        termination_protection=termination_protection,
        description=f"Fraud MLOps {config.name}: approval-to-endpoint deployment",
    )
    deployment.add_dependency(registry, "rules match the groups the registry creates")
    training = TrainingStack(
        app,
        stack_name(config, "training"),
        config=config,
        data=data.resources,
        network=network.resources,
        env=env,
        termination_protection=termination_protection,
        description=f"Fraud MLOps {config.name}: SageMaker training pipeline (Autopilot)",
    )
    training.add_dependency(registry, "runs register versions into the registry's groups")
    teardown = TeardownStack(
        app,
        stack_name(config, "teardown"),
        config=config,
        data=data.resources,
        env=env,
        termination_protection=termination_protection,
        description=f"Fraud MLOps {config.name}: scheduled clean-up of idle and expired resources",
    )
    platform = Platform(
        config=config,
        data=data,
        network=network,
        studio=studio,
        registry=registry,
        deployment=deployment,
        training=training,
        teardown=teardown,
    )

    for stack in platform.stacks:
        tags = cdk.Tags.of(stack)
        tags.add(TAG_ENVIRONMENT, config.name)
        tags.add(TAG_MANAGED_BY, MANAGED_BY_VALUE)
        for key, value in config.tags.items():
            tags.add(key, value)
    enforce_rule_packs(app)
    return platform
