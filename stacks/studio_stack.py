"""Studio stack (stateless): the shared domain, its users and role, and its complete clean-up."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from stacks.config import EnvironmentConfig
from stacks.constructs.experiments import ExperimentsResources
from stacks.constructs.network import NetworkResources
from stacks.constructs.studio_cleanup import StudioCleanup
from stacks.constructs.studio_domain import StudioDomain
from stacks.data_stack import DataResources


class StudioStack(cdk.Stack):
    """A VPC-only, IAM-authenticated, KMS-encrypted Studio domain with one user profile per
    configured user, and the custom resources that let ``cdk destroy`` remove it completely
    (apps and spaces before the domain; its home EFS and security groups after it)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        data: DataResources,
        network: NetworkResources,
        experiments: ExperimentsResources | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.studio = StudioDomain(
            self, "Studio", config=config, data=data, network=network, experiments=experiments
        )
        self.cleanup = StudioCleanup(
            self,
            "Cleanup",
            domain=self.studio.domain,
            profiles=self.studio.profiles,
            network=network,
            log_key=data.key,
            log_retention_days=config.log_retention_days,
        )
        cdk.CfnOutput(self, "DomainId", value=self.studio.domain.attr_domain_id)
        cdk.CfnOutput(self, "ExecutionRoleArn", value=self.studio.execution_role.role_arn)
