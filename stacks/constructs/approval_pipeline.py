"""Approval events → SQS FIFO → deploy Lambda → dead-letter queue, with an alarm on the DLQ.

One EventBridge rule per model package group: an EventBridge → SQS FIFO target takes a
*static* message group id, so a rule per group is what makes "message group = package group"
hold (events of one group are processed one at a time, in order; groups run in parallel).
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

from mlops.constants import DATA_CAPTURE_PREFIX, resource_prefix
from mlops.deployment import settings as env
from mlops.deployment.events import DECISIONS, DETAIL_TYPE, SOURCE
from stacks.config import EnvironmentConfig
from stacks.constructs.dead_letter_queue import alarm_on_dead_letters, dead_letter_queue
from stacks.constructs.network import NetworkResources
from stacks.constructs.python_function import PythonFunction
from stacks.data_stack import DataResources
from stacks.nag import acknowledge, arn_in_finding

FUNCTION_TIMEOUT_MINUTES = 2


def approval_pattern(group: str) -> events.EventPattern:
    return events.EventPattern(
        source=[SOURCE],
        detail_type=[DETAIL_TYPE],
        detail={"ModelPackageGroupName": [group], "ModelApprovalStatus": list(DECISIONS)},
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
    ) -> None:
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
            holds="events EventBridge could not deliver to the approval queue (alarmed)",
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
                event_pattern=approval_pattern(group),
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

        prefix = resource_prefix(config.name)
        self.function = PythonFunction(
            self,
            "Deploy",
            handler_dir="deploy",
            description="Deploys the approved model version of a group to its endpoint",
            environment={
                env.ENV_ENVIRONMENT: config.name,
                env.ENV_GROUPS: ",".join(groups),
                env.ENV_INSTANCE_TYPE: deployment.instance_type,
                env.ENV_INSTANCE_COUNT: str(deployment.instance_count),
                env.ENV_TRAFFIC_SHIFT: deployment.traffic_shift,
                env.ENV_CANARY_PERCENT: str(deployment.canary_percent),
                env.ENV_BAKE_MINUTES: str(deployment.bake_minutes),
                env.ENV_DATA_CAPTURE_PERCENT: str(deployment.data_capture_percent),
                env.ENV_DATA_CAPTURE_URI: data.artifacts_bucket.s3_url_for_object(
                    DATA_CAPTURE_PREFIX.rstrip("/")
                ),
                env.ENV_KMS_KEY_ARN: data.key.key_arn,
                env.ENV_EXECUTION_ROLE_ARN: model_role.role_arn,
                env.ENV_KEEP_PREVIOUS: str(deployment.keep_previous_versions),
                env.ENV_TOPIC_ARN: data.notifications.topic_arn,
                # The models' containers run in the environment's VPC (CreateModel VpcConfig).
                env.ENV_SUBNET_IDS: cdk.Fn.join(
                    ",", [subnet.subnet_id for subnet in network.subnets]
                ),
                env.ENV_SECURITY_GROUP_IDS: network.workload_security_group.security_group_id,
            },
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

        arn = f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}"
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadRegistry",
                actions=["sagemaker:DescribeModelPackage"],
                resources=[f"{arn}:model-package/{group.lower()}/*" for group in groups],
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
        # Endpoint storage volumes are encrypted with the key: SageMaker needs a grant.
        # kms:GrantIsForAWSResource exists on CreateGrant only (Service Authorization
        # Reference): DescribeKey has its own, unconditioned statement.
        role.add_to_policy(
            iam.PolicyStatement(
                sid="EncryptEndpointVolumes",
                actions=["kms:CreateGrant"],
                resources=[data.key.key_arn],
                conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
            )
        )
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
            *(f"model-package/{group.lower()}/*" for group in groups),
        ):
            acknowledge(
                role,
                f"AwsSolutions-IAM5[Resource::{arn_in_finding(stack, 'sagemaker', pattern)}]",
                "Run-time names: this environment's prefix (endpoints, configs, models) and "
                "the versions of the configured groups.",
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
