"""Compose one environment of the platform: config → stacks → tags → cdk-nag.

``app.py`` and the tests both call :func:`build_platform`, so the tests check exactly what
``cdk synth`` produces.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk

from mlops.constants import MANAGED_BY_VALUE, TAG_ENVIRONMENT, TAG_MANAGED_BY
from stacks.config import EnvironmentConfig, load_environment
from stacks.constructs import sagemaker_sdk
from stacks.data_stack import DataStack
from stacks.deployment_stack import DeploymentStack
from stacks.experiments_stack import ExperimentsStack
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
    experiments: ExperimentsStack | None = None  # experiments.enabled

    @property
    def stacks(self) -> list[cdk.Stack]:
        stacks: list[cdk.Stack] = [
            self.data,
            self.network,
            self.studio,
            self.registry,
            self.deployment,
            self.training,
            self.teardown,
        ]
        return stacks + ([self.experiments] if self.experiments else [])


def stack_name(config: EnvironmentConfig, part: str) -> str:
    return f"fraud-mlops-{config.name}-{part}"


def build_platform(
    app: cdk.App, *, default_account: str | None = None, default_region: str | None = None
) -> Platform:
    sagemaker_sdk.start_import()  # overlaps the first stacks (see the module's doc)
    context = {
        "environments": app.node.try_get_context("environments"),
        "env": app.node.try_get_context("env"),
    }
    config = load_environment(
        context, default_account=default_account, default_region=default_region
    )
    env = cdk.Environment(account=config.account, region=config.region)

    def common(part: str, summary: str) -> dict[str, Any]:
        """What every stack of the environment gets: name, config, target, protection."""
        return {
            "scope": app,
            "construct_id": stack_name(config, part),
            "config": config,
            "env": env,
            "termination_protection": not config.ephemeral,
            "description": f"Fraud MLOps {config.name}: {summary}",
        }

    data = DataStack(**common("data", "KMS key, S3 buckets, notification topic (stateful)"))
    experiments = (
        ExperimentsStack(
            **common("experiments", "shared MLflow app and pipeline run logging"),
            data=data.resources,
        )
        if config.experiments.enabled
        else None
    )
    network = NetworkStack(
        **common("network", "private VPC and SageMaker VPC endpoints"), data=data.resources
    )
    studio = StudioStack(
        **common("studio", "VPC-only SageMaker Studio domain and users"),
        data=data.resources,
        network=network.resources,
        experiments=experiments.resources if experiments else None,
    )
    registry = RegistryStack(**common("registry", "Model Package Groups (stateful)"))
    deployment = DeploymentStack(
        **common("deployment", "approval-to-endpoint deployment"),
        data=data.resources,
        network=network.resources,
        registry=registry.resources,
    )
    deployment.add_stack_dependency(registry, "rules match the groups the registry creates")
    deployment.add_stack_dependency(network, "endpoints run in the network's subnets")
    training = TrainingStack(
        **common("training", "SageMaker training pipeline (Autopilot)"),
        data=data.resources,
        network=network.resources,
        experiments=experiments.resources if experiments else None,
    )
    training.add_stack_dependency(registry, "runs register versions into the registry's groups")
    teardown = TeardownStack(
        **common("teardown", "scheduled clean-up of idle and expired resources"),
        data=data.resources,
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
        experiments=experiments,
    )

    for stack in platform.stacks:
        tags = cdk.Tags.of(stack)
        tags.add(TAG_ENVIRONMENT, config.name)
        tags.add(TAG_MANAGED_BY, MANAGED_BY_VALUE)
        for key, value in config.tags.items():
            tags.add(key, value)
    enforce_rule_packs(app)
    return platform
