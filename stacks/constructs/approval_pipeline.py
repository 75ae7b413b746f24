"""Approval events → SQS FIFO → deploy Lambda → dead-letter queue, with an alarm on the DLQ;
endpoint trouble → the environment's topic.

One EventBridge rule per model package group: an EventBridge → SQS FIFO target takes a
*static* message group id, so a rule per group is what makes "message group = package group"
hold (events of one group are processed one at a time, in order; groups run in parallel).
One more rule announces this environment's endpoints that fail, go out of service or roll
back, with the event's detail (its config names carry the version).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from mlops.constants import DATA_CAPTURE_PREFIX, model_package_group_name, resource_prefix
from mlops.deployment import names
from mlops.deployment.events import (
    ATTENTION_STATUSES,
    DECISIONS,
    DETAIL_TYPE,
    ENDPOINT_DETAIL_TYPES,
    SOURCE,
    event_spellings,
)
from mlops.deployment.settings import DeploySettings
from stacks.config import EnvironmentConfig
from stacks.constructs.dead_letter_queue import alarm_on_dead_letters, dead_letter_queue
from stacks.constructs.monitoring import DEFINITION_KINDS, MonitoringResources, removal_statements
from stacks.constructs.network import NetworkResources
from stacks.constructs.python_function import PythonFunction
from stacks.data_stack import DataResources
from stacks.nag import acknowledge, arn_in_finding

FUNCTION_TIMEOUT_MINUTES = 2


def approval_pattern(environment: str, group: str) -> events.EventPattern:
    """Decisions on the versions of the logical ``group`` of ``environment``."""
    return events.EventPattern(
        source=[SOURCE],
        detail_type=[DETAIL_TYPE],
        detail={
            "ModelPackageGroupName": [model_package_group_name(environment, group)],
            "ModelApprovalStatus": list(DECISIONS),
        },
    )


def endpoint_attention_pattern(environment: str, groups: tuple[str, ...]) -> events.EventPattern:
    """State and deployment events of this environment's endpoints (by exact name, so another
    environment's endpoints never match) in a status a person must hear about."""
    return events.EventPattern(
        source=[SOURCE],
        detail_type=list(ENDPOINT_DETAIL_TYPES),
        detail={
            "EndpointName": [names.endpoint_name(environment, group) for group in groups],
            "EndpointStatus": event_spellings(ATTENTION_STATUSES),
        },
    )


def endpoint_attention_message(environment: str) -> events.RuleTargetInput:
    """The notification: one line, then the event's detail, whose ``EndpointConfigName`` and
    ``PendingDeploymentSummary.EndpointConfigName`` (``mlops-<env>-<group>-v<N>-<hash>``) name
    the versions involved."""
    field = events.EventField.from_path
    return events.RuleTargetInput.from_object(
        {
            "summary": f"{environment}: endpoint {field('$.detail.EndpointName')} is "
            f"{field('$.detail.EndpointStatus')} on config "
            f"{field('$.detail.EndpointConfigName')} ({field('$.detail-type')}); see "
            "docs/runbook.md, endpoint needs attention",
            "detail": field("$.detail"),
        }
    )


class ApprovalPipeline(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        data: DataResources,
        network: NetworkResources,
        groups: tuple[str, ...],
        model_role: iam.IRole,
        rollback_alarms: list[cloudwatch.IAlarm],
        monitoring: MonitoringResources | None = None,
    ) -> None:
        """``monitoring``: the environment's model monitoring (None when disabled: the
        function then removes what an earlier configuration created)."""
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        deployment = config.deployment
        self.dead_letter_queue = dead_letter_queue(
            self,
            "DeadLetterQueue",
            key=data.key,
            fifo=True,
            holds="approval events that failed every delivery (alarmed, redriven by hand)",
        )
        # Where EventBridge puts events it could not deliver to the queue (after 24 h of
        # retries). A FIFO queue cannot be an EventBridge DLQ: this one is standard.
        self.delivery_dead_letter_queue = dead_letter_queue(
            self,
            "DeliveryDeadLetterQueue",
            key=data.key,
            holds="events EventBridge could not deliver to the approval queue or the "
            "notification topic (alarmed)",
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            fifo=True,
            content_based_deduplication=True,
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=data.key,
            enforce_ssl=True,
            # Lambda's guidance for SQS sources: at least 6x the function timeout.
            visibility_timeout=cdk.Duration.minutes(FUNCTION_TIMEOUT_MINUTES * 6),
            retention_period=cdk.Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue, max_receive_count=deployment.max_receive_count
            ),
        )
        self.rules: dict[str, events.Rule] = {}
        for group in groups:
            rule = events.Rule(
                self,
                f"Approvals-{group}",
                description=f"{group}: approval decisions to the deploy queue",
                event_pattern=approval_pattern(config.name, group),
            )
            rule.add_target(
                targets.SqsQueue(
                    self.queue,
                    message_group_id=group,
                    dead_letter_queue=self.delivery_dead_letter_queue,
                    retry_attempts=185,
                    max_event_age=cdk.Duration.hours(24),
                )
            )
            self.rules[group] = rule

        self.endpoint_attention = events.Rule(
            self,
            "EndpointAttention",
            description=f"{config.name}: endpoints failed, out of service or rolling back -> "
            "notifications",
            event_pattern=endpoint_attention_pattern(config.name, groups),
        )
        self.endpoint_attention.add_target(
            targets.SnsTopic(
                data.notifications,
                message=endpoint_attention_message(config.name),
                dead_letter_queue=self.delivery_dead_letter_queue,
            )
        )

        prefix = resource_prefix(config.name)
        self.settings = DeploySettings(
            environment=config.name,
            groups=frozenset(groups),
            instance_type=deployment.instance_type,
            instance_count=deployment.instance_count,
            traffic_shift=deployment.traffic_shift,
            canary_percent=deployment.canary_percent,
            linear_step_percent=deployment.linear_step_percent,
            bake_minutes=deployment.bake_minutes,
            data_capture_percent=deployment.data_capture_percent,
            data_capture_uri=data.artifacts_bucket.s3_url_for_object(
                DATA_CAPTURE_PREFIX.rstrip("/")
            ),
            kms_key_arn=data.key.key_arn,
            execution_role_arn=model_role.role_arn,
            keep_previous_versions=deployment.keep_previous_versions,
            topic_arn=data.notifications.topic_arn,
            # The models' containers run in the environment's VPC (CreateModel VpcConfig).
            subnet_ids=tuple(subnet.subnet_id for subnet in network.subnets),
            security_group_ids=(network.workload_security_group.security_group_id,),
            monitoring=monitoring.settings() if monitoring is not None else None,
        )
        self.function = PythonFunction(
            self,
            "Deploy",
            handler_dir="deploy",
            description="Deploys the approved model version of a group to its endpoint",
            environment=self.settings.to_environment(),
            log_key=data.key,
            log_retention_days=config.log_retention_days,
            timeout=cdk.Duration.minutes(FUNCTION_TIMEOUT_MINUTES),
            no_dead_letter_queue_reason=(
                "Invoked only by its SQS event source; failed messages go to the queue's DLQ."
            ),
        )
        function = self.function.function
        function.add_event_source(
            sources.SqsEventSource(self.queue, batch_size=1, report_batch_item_failures=True)
        )
        acknowledge(
            function,
            "Serverless-LambdaEventSourceMappingDestination",
            "SQS event sources do not support on-failure destinations; the queue's redrive "
            "policy moves failing messages to its dead-letter queue.",
        )
        role = self.function.role
        data.notifications.grant_publish(role)
        model_role.grant_pass_role(role)
        # Monitoring follows the deployed version (docs/monitoring.md).
        if monitoring is not None:
            for statement in monitoring.deploy_statements():
                role.add_to_policy(statement)
            monitoring.role.grant_pass_role(role)
        else:
            for statement in removal_statements(stack, config.name):
                role.add_to_policy(statement)

        arn = f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}"
        package_groups = [model_package_group_name(config.name, group) for group in groups]
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadRegistry",
                actions=["sagemaker:DescribeModelPackage"],
                resources=[f"{arn}:model-package/{name.lower()}/*" for name in package_groups],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ManageOwnEndpoints",
                actions=[
                    "sagemaker:CreateEndpoint",
                    "sagemaker:UpdateEndpoint",
                    "sagemaker:DeleteEndpoint",
                    "sagemaker:CreateEndpointConfig",
                    "sagemaker:DeleteEndpointConfig",
                    "sagemaker:CreateModel",
                    "sagemaker:DescribeModel",
                    "sagemaker:DeleteModel",
                    "sagemaker:AddTags",
                ],
                resources=[
                    f"{arn}:endpoint/{prefix}-*",
                    f"{arn}:endpoint-config/{prefix}-*",
                    f"{arn}:model/{prefix}-*",
                ],
            )
        )
        # Quota use counts every endpoint of the account (any environment holds instances).
        role.add_to_policy(
            iam.PolicyStatement(
                sid="CountEndpointInstances",
                actions=["sagemaker:DescribeEndpoint", "sagemaker:DescribeEndpointConfig"],
                resources=[f"{arn}:endpoint/*", f"{arn}:endpoint-config/*"],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ListWithoutResourceLevelPermissions",
                actions=[
                    "sagemaker:ListModelPackages",
                    "sagemaker:ListEndpoints",
                    "sagemaker:ListEndpointConfigs",
                    "sagemaker:ListModels",
                    "servicequotas:ListServiceQuotas",
                    "servicequotas:ListAWSDefaultServiceQuotas",
                ],
                resources=["*"],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadRollbackAlarms",
                actions=["cloudwatch:DescribeAlarms"],
                resources=[alarm.alarm_arn for alarm in rollback_alarms],
            )
        )
        # Endpoint storage volumes are encrypted with the key (the endpoint configs' KmsKeyId);
        # DescribeKey has its own, unconditioned statement.
        role.add_to_policy(data.volume_key_grant("EncryptEndpointVolumes"))
        role.add_to_policy(
            iam.PolicyStatement(
                sid="DescribeEndpointVolumeKey",
                actions=["kms:DescribeKey"],
                resources=[data.key.key_arn],
            )
        )
        acknowledge(
            role,
            "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
            "Publishing to the KMS-encrypted notification topic needs data keys of the "
            "environment's key (CDK's topic grant), on that key only.",
        )
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "SageMaker List* and Service Quotas List* have no resource-level permissions; "
            "X-Ray tracing neither.",
        )
        for wildcard in ("endpoint/*", "endpoint-config/*"):
            acknowledge(
                role,
                f"AwsSolutions-IAM5[Resource::{arn_in_finding(stack, 'sagemaker', wildcard)}]",
                "The quota check counts the instances of every endpoint in the account "
                "(Describe only); changes are limited to this environment's prefix.",
            )
        for pattern in (
            f"endpoint/{prefix}-*",
            f"endpoint-config/{prefix}-*",
            f"model/{prefix}-*",
            *(f"model-package/{name.lower()}/*" for name in package_groups),
            *(f"{kind}/{prefix}-*" for kind in (*DEFINITION_KINDS, "monitoring-schedule")),
        ):
            acknowledge(
                role,
                f"AwsSolutions-IAM5[Resource::{arn_in_finding(stack, 'sagemaker', pattern)}]",
                "Run-time names: this environment's prefix (endpoints, configs, models, "
                "monitoring schedules and job definitions) and the versions of the configured "
                "groups.",
            )

        self.dlq_alarm = alarm_on_dead_letters(
            self,
            "DeadLetterAlarm",
            self.dead_letter_queue,
            alarm_name=f"{prefix}-deploy-dead-letters",
            description="Approval events that could not be deployed: see docs/deployment.md",
            notify=data.notifications,
        )
        self.delivery_alarm = alarm_on_dead_letters(
            self,
            "UndeliveredAlarm",
            self.delivery_dead_letter_queue,
            alarm_name=f"{prefix}-deploy-undelivered-events",
            description="Approval events EventBridge could not put on the deploy queue",
            notify=data.notifications,
        )
