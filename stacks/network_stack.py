"""Network stack (stateless): the VPC Studio and the jobs run in, created or imported."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from stacks.config import EnvironmentConfig
from stacks.constructs.network import Network, NetworkResources
from stacks.data_stack import DataResources
from stacks.nag import acknowledge

_RESTRICT_DEFAULT_SG_PROVIDER = "Custom::VpcRestrictDefaultSGCustomResourceProvider"


class NetworkStack(cdk.Stack):
    """A private VPC (no internet path unless NAT gateways are configured) with the VPC
    endpoints SageMaker needs, or an imported VPC; and the workload security group."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        data: DataResources,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.network = Network(
            self,
            "Network",
            config=config.network,
            log_key=data.key,
            log_retention_days=config.log_retention_days,
            mlflow_endpoint=config.experiments.enabled and config.experiments.private_endpoint,
        )
        provider = self.node.try_find_child(_RESTRICT_DEFAULT_SG_PROVIDER)
        if provider is not None:
            for rule_id, reason in (
                (
                    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                    "AWSLambdaBasicExecutionRole]",
                    "CDK's built-in provider that strips the default security group's rules; "
                    "its role and code are not configurable.",
                ),
            ):
                acknowledge(provider, rule_id, reason)

    @property
    def resources(self) -> NetworkResources:
        return self.network.resources
