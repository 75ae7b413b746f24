"""The scheduled clean-up: EventBridge Scheduler (cron and time zone from the config) → the
teardown Lambda, which removes only what is idle or expired and posts its report to the
environment's SNS topic. Failed deliveries and failed runs go to a KMS-encrypted DLQ."""

from __future__ import annotations

from datetime import timedelta

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from constructs import Construct

from mlops.constants import resource_prefix
from mlops.teardown import IdlePolicy
from mlops.teardown.scheduled import ScheduledSettings
from stacks.config import EnvironmentConfig
from stacks.constructs.dead_letter_queue import alarm_on_dead_letters, dead_letter_queue
from stacks.constructs.python_function import PythonFunction
from stacks.constructs.teardown_permissions import act_on_tagged, read_by_tag, sagemaker_arn
from stacks.data_stack import DataResources
from stacks.nag import acknowledge, acknowledge_inline_policy, arn_in_finding

# Run-time resources with generated names: the statements only apply to tagged ones.
_TAGGED_RESOURCES = (
    "monitoring-schedule/*",
    "endpoint/*",
    "processing-job/*",
    "training-job/*",
    "transform-job/*",
    "automl-job/*",
    "domain/*",
)


class ScheduledCleanup(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        data: DataResources,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        teardown = config.teardown
        self.dead_letter_queue = dead_letter_queue(
            self,
            "DeadLetterQueue",
            key=data.key,
            holds="failed schedule deliveries and failed clean-up runs",
        )
        self.dead_letter_alarm = alarm_on_dead_letters(
            self,
            "DeadLetterAlarm",
            self.dead_letter_queue,
            alarm_name=f"{resource_prefix(config.name)}-teardown-dead-letters",
            description="Scheduled clean-up runs that failed or were never delivered: "
            "see docs/teardown.md",
            notify=data.notifications,
        )
        self.function = PythonFunction(
            self,
            "Handler",
            handler_dir="teardown",
            description=f"Scheduled clean-up of {config.name}: idle endpoints, expired jobs, apps",
            environment=ScheduledSettings(
                environment=config.name,
                topic_arn=data.notifications.topic_arn,
                dry_run=teardown.dry_run,
                policy=IdlePolicy(
                    endpoint_idle=timedelta(hours=teardown.endpoint_idle_hours),
                    job_ttl=timedelta(hours=teardown.job_ttl_hours),
                    app_idle=timedelta(hours=teardown.app_idle_hours),
                ),
            ).to_environment(),
            log_key=data.key,
            log_retention_days=config.log_retention_days,
            timeout=cdk.Duration.minutes(15),
            memory_size=512,
            dead_letter_queue=self.dead_letter_queue,
        )
        self._grant(stack, config)
        data.notifications.grant_publish(self.function.role)

        # The schedule's own role: it may invoke this function (and its versions) only, and
        # send failed deliveries to the KMS-encrypted DLQ (the target's grants, plus the data
        # keys below; tests/security/test_service_roles.py checks each documented need).
        self.schedule_role = iam.Role(
            self,
            "ScheduleRole",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            ),
            description=f"EventBridge Scheduler: invoke the {config.name} clean-up function",
        )
        acknowledge_inline_policy(self.schedule_role)
        self.schedule = scheduler.Schedule(
            self,
            "Schedule",
            description=f"Idle and expired resource clean-up of {config.name}",
            schedule=scheduler.ScheduleExpression.expression(
                teardown.schedule, cdk.TimeZone.of(teardown.timezone)
            ),
            target=targets.LambdaInvoke(
                self.function.function,
                dead_letter_queue=self.dead_letter_queue,
                retry_attempts=2,
                max_event_age=cdk.Duration.hours(1),
                role=self.schedule_role,
            ),
            key=data.key,
        )
        # SendMessage to an SSE-KMS queue needs kms:GenerateDataKey and kms:Decrypt on its key
        # (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/
        # sqs-key-management.html); the target's grant gives SendMessage (and Decrypt, for the
        # schedule's own key) only.
        self.schedule_role.add_to_policy(
            iam.PolicyStatement(
                sid="SendToTheEncryptedDeadLetterQueue",
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[data.key.key_arn],
            )
        )
        acknowledge(
            self.schedule_role,
            f"AwsSolutions-IAM5[Resource::<{stack.get_logical_id(self._function_resource())}.Arn>:*]",
            "lambda:InvokeFunction on this one function and its versions (grantInvoke's form).",
        )
        acknowledge(
            self.function.role,
            "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
            "Publishing the report to the KMS-encrypted topic needs data keys (CDK's topic "
            "grant), of the environment's data key only; Lambda also uses them to put failed "
            "invocations on the KMS-encrypted DLQ as this role.",
        )

    def _function_resource(self) -> lambda_.CfnFunction:
        resource = self.function.function.node.default_child
        assert isinstance(resource, lambda_.CfnFunction)
        return resource

    def _grant(self, stack: cdk.Stack, config: EnvironmentConfig) -> None:
        role = self.function.role
        role.add_to_policy(
            read_by_tag(
                [
                    "sagemaker:ListEndpoints",
                    "sagemaker:ListMonitoringSchedules",
                    "sagemaker:ListProcessingJobs",
                    "sagemaker:ListTrainingJobs",
                    "sagemaker:ListTransformJobs",
                    "sagemaker:ListAutoMLJobs",
                    "sagemaker:ListPipelines",
                    "sagemaker:ListApps",
                    "cloudwatch:GetMetricData",
                ]
            )
        )
        role.add_to_policy(
            act_on_tagged(
                stack,
                config.name,
                [
                    "sagemaker:DescribeEndpoint",
                    "sagemaker:DeleteMonitoringSchedule",
                    "sagemaker:DeleteEndpoint",
                    "sagemaker:StopProcessingJob",
                    "sagemaker:StopTrainingJob",
                    "sagemaker:StopTransformJob",
                    "sagemaker:StopAutoMLJob",
                    "sagemaker:DescribeDomain",
                ],
                list(_TAGGED_RESOURCES),
            )
        )
        # Pipeline executions carry no tags; the platform names its pipelines with the
        # environment's prefix (discovery still goes by the pipeline's tags).
        pipelines = f"pipeline/{resource_prefix(config.name)}-*"
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["sagemaker:ListPipelineExecutions", "sagemaker:StopPipelineExecution"],
                resources=[sagemaker_arn(stack, pipelines)],
            )
        )
        # Studio apps are not tagged by the platform; the engine only deletes apps of the
        # domains it found by this environment's tag.
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["sagemaker:DescribeApp", "sagemaker:DeleteApp"],
                resources=[sagemaker_arn(stack, "app/*")],
            )
        )
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "tag:GetResources, SageMaker List* and cloudwatch:GetMetricData have no "
            "resource-level permissions; X-Ray writes neither. Mutations are tag-scoped.",
        )
        for resource in _TAGGED_RESOURCES:
            acknowledge(
                role,
                f"AwsSolutions-IAM5[Resource::{arn_in_finding(stack, 'sagemaker', resource)}]",
                "Run-time resources with generated names; the statement only applies to "
                "resources tagged with this environment (aws:ResourceTag condition).",
            )
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::{arn_in_finding(stack, 'sagemaker', pipelines)}]",
            "Executions of this environment's pipelines (named with its prefix); executions "
            "have generated ids and no tags of their own.",
        )
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::{arn_in_finding(stack, 'sagemaker', 'app/*')}]",
            "Studio apps have generated names and no platform tags; the engine deletes only "
            "apps of the domains tagged with this environment, idle past the configured TTL.",
        )
