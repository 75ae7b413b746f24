"""Deployment stack: approval events → FIFO queue → deploy Lambda → blue/green endpoints."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from stacks.config import EnvironmentConfig
from stacks.constructs.approval_pipeline import ApprovalPipeline
from stacks.constructs.endpoint_alarms import EndpointAlarms
from stacks.constructs.endpoint_cleanup import EndpointCleanup
from stacks.constructs.model_execution_role import ModelExecutionRole
from stacks.constructs.monitoring import MonitoringResources
from stacks.constructs.network import NetworkResources
from stacks.data_stack import DataResources
from stacks.registry_stack import RegistryResources


class DeploymentStack(cdk.Stack):
    """Stateless: the endpoints it deploys are created at run time (tagged, named with the
    environment's prefix) and are removed by the teardown, not by CloudFormation."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        data: DataResources,
        network: NetworkResources,
        registry: RegistryResources,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        deployment = config.deployment
        self.model_role = ModelExecutionRole(
            self, "ModelExecutionRole", environment=config.name, data=data, network=network
        )
        self.endpoint_alarms = {
            group: EndpointAlarms(
                self,
                f"EndpointAlarms-{group}",
                environment=config.name,
                group=group,
                latency_ms=deployment.latency_alarm_ms,
                error_count=deployment.error_alarm_count,
                topic=data.notifications,
            )
            for group in registry.group_names
        }
        # Model monitoring (docs/monitoring.md): the jobs' role, drift alarms, failure notices;
        # the deploy Lambda binds each endpoint's schedules to the version it serves.
        self.monitoring = (
            MonitoringResources(
                self, "Monitoring", config=config, data=data, network=network,
                groups=registry.group_names,
            )
            if config.monitoring.enabled
            else None
        )  # fmt: skip
        rollback_alarms: list[cloudwatch.IAlarm] = [
            alarm for alarms in self.endpoint_alarms.values() for alarm in alarms.alarms
        ]
        self.approvals = ApprovalPipeline(
            self,
            "Approvals",
            config=config,
            data=data,
            network=network,
            groups=registry.group_names,
            model_role=self.model_role.role,
            rollback_alarms=rollback_alarms,
            monitoring=self.monitoring,
        )
        # On stack delete: the deploy pipeline goes first, then its endpoints are removed.
        self.endpoint_cleanup = EndpointCleanup(
            self, "EndpointCleanup", config=config, data=data, delete_after=[self.approvals]
        )
        # The model role (and its network-interface permissions) outlives the clean-up:
        # SageMaker deletes the endpoints' network interfaces as that role.
        self.endpoint_cleanup.resource.node.add_dependency(self.model_role)
        cdk.CfnOutput(self, "DeployQueueUrl", value=self.approvals.queue.queue_url)
        cdk.CfnOutput(self, "DeadLetterQueueUrl", value=self.approvals.dead_letter_queue.queue_url)
