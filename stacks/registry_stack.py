"""Registry stack (stateful): the Model Package Groups every trained version is registered in."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from constructs import Construct

from stacks.config import EnvironmentConfig
from stacks.constructs.model_registry import ModelRegistry


@dataclass(frozen=True)
class RegistryResources:
    """What other stacks receive from the Registry stack."""

    # Logical group names (config keys); SageMaker's are model_package_group_name(env, group).
    group_names: tuple[str, ...]


class RegistryStack(cdk.Stack):
    """Model Package Groups from ``config.registry``; retained unless the environment is
    ephemeral. Logical IDs are pinned by tests: renaming would replace a group."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, **kwargs: object
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.registry = ModelRegistry(
            self,
            "Registry",
            environment=config.name,
            groups=config.registry.model_package_groups,
            cross_account_read=config.registry.cross_account_read,
            ephemeral=config.ephemeral,
        )
        for name, group in self.registry.groups.items():
            output_id = "".join(c for c in name.title() if c.isalnum())
            cdk.CfnOutput(
                self,
                f"{output_id}GroupArn",
                value=group.attr_model_package_group_arn,
                description=f"Model Package Group of {name}",
            )

    @property
    def resources(self) -> RegistryResources:
        return RegistryResources(group_names=tuple(self.registry.groups))
