"""Model monitoring infrastructure: the role monitoring jobs run as, drift alarms, failures.

* **Role.** A monitoring execution is a processing job run as the job definition's
  ``RoleArn``. It differs from the model role: it reads captured traffic (``data-capture/``),
  the version's baselines (under ``pipelines/``, where the training run wrote them) and the
  labels (``<ground truth prefix>``), writes reports (``monitoring/``), publishes metrics
  (``aws/sagemaker/Endpoints/*`` namespaces), writes processing-job logs, pulls the Model
  Monitor image and runs in the VPC (network interfaces). The model role needs none of that
  but reading models; they stay separate.
* **Alarms** (Metrics Insights queries, so the dimension set need not be known): per group, one
  per baseline column on ``feature_baseline_drift_<column>`` (namespace
  ``aws/sagemaker/Endpoints/data-metrics``) above ``drift_alarm_threshold``, and one on the
  model-quality ``f1`` (``aws/sagemaker/Endpoints/model-metrics``) below ``f1_floor``. An
  execution publishes once per run: missing data keeps the last state (``ignore``), so an
  alarm says what the last execution found. The namespaces and the ``Endpoint`` dimension are
  the ones AWS's SDK dashboards query (docs/monitoring.md lists the other reading).
* **Failed executions**: an EventBridge rule on ``SageMaker Processing Job State Change`` with
  ``ProcessingJobStatus`` Failed and a ``MonitoringScheduleArn`` of this environment -> the
  environment's topic (Model Monitor publishes no execution-status metric).

:meth:`MonitoringResources.settings` and :meth:`deploy_statements` are what the deploy Lambda
needs to call ``mlops.monitoring.schedules.ensure_monitoring`` (the Approvals construct wires
them); :func:`removal_statements` what it needs for ``delete_monitoring`` when monitoring is
disabled. Teardown grants its own, tag-scoped (stacks/constructs/teardown_permissions.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from constructs import Construct

from mlops.constants import (
    DATA_CAPTURE_PREFIX,
    MONITORING_PREFIX,
    PIPELINES_PREFIX,
    resource_prefix,
)
from mlops.data.schema import TRANSACTION_COLUMNS
from mlops.deployment.names import endpoint_name
from mlops.monitoring import names
from mlops.monitoring.settings import MonitoringSettings
from mlops.training.names import INFERENCE_OUTPUT
from stacks.config import EnvironmentConfig
from stacks.constructs import monitoring_baselines, sagemaker_sdk
from stacks.constructs.network import NETWORK_INTERFACES_REASON, NetworkResources
from stacks.data_stack import DataResources
from stacks.nag import acknowledge, acknowledge_inline_policy, arn_in_finding

DATA_METRICS_NAMESPACE = "aws/sagemaker/Endpoints/data-metrics"
MODEL_METRICS_NAMESPACE = "aws/sagemaker/Endpoints/model-metrics"
PROCESSING_JOB_EVENT = "SageMaker Processing Job State Change"
MONITOR_IMAGE_REPOSITORY = "sagemaker-model-monitor-analyzer"
DEFINITION_KINDS = ("data-quality-job-definition", "model-quality-job-definition")


def baseline_columns(config: EnvironmentConfig) -> tuple[str, ...]:
    """Columns of the data-quality baseline: what the endpoint answers, then the features the
    pipeline trains on, in payload order (mlops.monitoring.baseline_data)."""
    training = config.training
    dropped = {training.target_column, *training.drop_columns}
    return (*INFERENCE_OUTPUT, *(c for c in TRANSACTION_COLUMNS if c not in dropped))


def _insights(function: str, metric: str, namespace: str, endpoint: str) -> str:
    return f'SELECT {function}("{metric}") FROM "{namespace}" WHERE Endpoint = \'{endpoint}\''


class MonitoringResources(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        data: DataResources,
        network: NetworkResources,
        groups: Sequence[str],
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self._data = data
        self._network = network
        self._groups = tuple(groups)
        monitoring = config.monitoring
        self.role = self._role()
        self._images: cdk.CfnMapping | None = None
        self.alarms: list[cloudwatch.Alarm] = []
        for group in self._groups:
            endpoint = endpoint_name(config.name, group)
            for column in baseline_columns(config):
                self.alarms.append(
                    self._alarm(
                        f"Drift-{group}-{column}",
                        name=names.data_drift_alarm_name(config.name, group, column),
                        description=f"{group}: {column} drifted from the baseline (distance "
                        f"> {monitoring.drift_alarm_threshold:g}); see `monitor status`",
                        query=_insights(
                            "MAX", f"feature_baseline_drift_{column}", DATA_METRICS_NAMESPACE,
                            endpoint,
                        ),
                        threshold=monitoring.drift_alarm_threshold,
                        operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                    )
                )  # fmt: skip
            self.alarms.append(
                self._alarm(
                    f"F1-{group}",
                    name=names.model_quality_alarm_name(config.name, group),
                    description=f"{group}: model-quality F1 below {monitoring.f1_floor:g} "
                    "(labels vs predictions); see `monitor status`",
                    query=_insights("MIN", "f1", MODEL_METRICS_NAMESPACE, endpoint),
                    threshold=monitoring.f1_floor,
                    operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                )
            )
        self.failures = self._failed_executions_rule()

    # -- pieces ---------------------------------------------------------------------------

    def _alarm(
        self,
        construct_id: str,
        *,
        name: str,
        description: str,
        query: str,
        threshold: float,
        operator: cloudwatch.ComparisonOperator,
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            alarm_name=name,
            alarm_description=description,
            metric=cloudwatch.MathExpression(
                expression=query, period=cdk.Duration.hours(1), label=name
            ),
            threshold=threshold,
            comparison_operator=operator,
            evaluation_periods=1,
            datapoints_to_alarm=1,
            # One data point per execution: keep the last execution's verdict between runs.
            treat_missing_data=cloudwatch.TreatMissingData.IGNORE,
        )
        alarm.add_alarm_action(actions.SnsAction(self._data.notifications))
        alarm.add_ok_action(actions.SnsAction(self._data.notifications))
        return alarm

    def _failed_executions_rule(self) -> events.Rule:
        stack = cdk.Stack.of(self)
        schedules = stack.format_arn(
            service="sagemaker",
            resource="monitoring-schedule",
            resource_name=f"{resource_prefix(self._config.name)}-",
        )
        rule = events.Rule(
            self,
            "FailedExecutions",
            description=f"{self._config.name}: failed monitoring executions -> notifications",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=[PROCESSING_JOB_EVENT],
                detail={
                    "ProcessingJobStatus": ["Failed"],
                    "MonitoringScheduleArn": events.Match.prefix(schedules),
                },
            ),
            targets=[targets.SnsTopic(self._data.notifications)],
        )
        acknowledge(
            rule,
            "Serverless-EventBusDLQ",
            "Failure notices are informational: every execution and its failure reason stay "
            "in SageMaker (ListMonitoringExecutions, `python -m mlops monitor status`).",
        )
        return rule

    def _role(self) -> iam.Role:
        stack = cdk.Stack.of(self)
        data, config = self._data, self._config
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description=f"Runs the {config.name} model monitoring jobs",
        )
        acknowledge_inline_policy(role)
        bucket = data.artifacts_bucket
        ground_truth = config.monitoring.ground_truth_prefix
        reads = {
            DATA_CAPTURE_PREFIX: "Reads the endpoints' captured traffic under data-capture/.",
            PIPELINES_PREFIX: "Reads the versions' baselines, written by pipeline runs under "
            "pipelines/.",
            ground_truth: "Reads the late labels under the ground-truth prefix.",
        }
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadCaptureBaselinesLabels",
                actions=["s3:GetObject"],
                resources=[bucket.arn_for_objects(f"{prefix}*") for prefix in reads],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteReports",
                actions=["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"],
                resources=[bucket.arn_for_objects(f"{MONITORING_PREFIX}*")],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ListWhatItReads",
                actions=["s3:ListBucket"],
                resources=[bucket.bucket_arn],
                conditions={
                    "StringLike": {"s3:prefix": [f"{p}*" for p in (*reads, MONITORING_PREFIX)]}
                },
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="UseDataKey",
                actions=["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                resources=[data.key.key_arn],
            )
        )
        # Executions are processing jobs with VolumeKmsKeyId.
        role.add_to_policy(data.volume_key_grant("GrantVolumeKeyToSageMaker"))
        role.add_to_policy(
            iam.PolicyStatement(
                sid="PublishMonitoringMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringLike": {"cloudwatch:namespace": "aws/sagemaker/Endpoints/*"}},
            )
        )
        log_group = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name="/aws/sagemaker/ProcessingJobs",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="JobLogs",
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[log_group, f"{log_group}:log-stream:*"],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="PullModelMonitorImage",
                actions=[
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                ],
                resources=[
                    f"arn:{stack.partition}:ecr:{stack.region}:*:repository/"
                    f"{MONITOR_IMAGE_REPOSITORY}"
                ],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="EcrLogin", actions=["ecr:GetAuthorizationToken"], resources=["*"]
            )
        )
        for statement in self._network.network_interface_statements(self):
            role.add_to_policy(statement)
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "cloudwatch:PutMetricData (limited to aws/sagemaker/Endpoints/* by condition) and "
            f"ecr:GetAuthorizationToken have no resource-level permissions; "
            f"{NETWORK_INTERFACES_REASON}.",
        )
        for prefix, reason in {
            **reads,
            MONITORING_PREFIX: "Writes reports under monitoring/.",
        }.items():
            acknowledge(
                role,
                f"AwsSolutions-IAM5[Resource::{data.bucket_arn_in_finding('artifacts')}/{prefix}*]",
                reason,
            )
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::{arn_in_finding(stack, 'logs', '')}"
            "log-group:/aws/sagemaker/ProcessingJobs:log-stream:*]",
            "Processing jobs log to streams SageMaker names after each job at run time.",
        )
        repository = f"repository/{MONITOR_IMAGE_REPOSITORY}"
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::{arn_in_finding(stack, 'ecr', repository, account='*')}]",
            "The Model Monitor image lives in an AWS-owned account that differs by region; "
            "pull actions on that one repository only.",
        )
        return role

    # -- integration points ---------------------------------------------------------------

    @property
    def images(self) -> cdk.CfnMapping:
        """Region -> Model Monitor image, created on first use (an unused mapping is a
        cfn-lint warning until the deploy Lambda reads it)."""
        if self._images is None:
            sagemaker_sdk.ready()
            self._images = cdk.CfnMapping(
                self, "Images", mapping=monitoring_baselines.image_mapping()
            )
        return self._images

    def settings(self) -> MonitoringSettings:
        """The deploy Lambda's monitoring settings (CDK tokens resolve at deploy)."""
        monitoring, data = self._config.monitoring, self._data
        bucket = data.artifacts_bucket
        return MonitoringSettings(
            environment=self._config.name,
            role_arn=self.role.role_arn,
            kms_key_arn=data.key.key_arn,
            image_uri=self.images.find_in_map(cdk.Aws.REGION, monitoring_baselines.IMAGE_KEY),
            output_uri=bucket.s3_url_for_object(MONITORING_PREFIX.rstrip("/")),
            ground_truth_uri=bucket.s3_url_for_object(monitoring.ground_truth_prefix.rstrip("/")),
            subnet_ids=(cdk.Fn.join(",", [s.subnet_id for s in self._network.subnets]),),
            security_group_ids=(self._network.workload_security_group.security_group_id,),
            instance_type=monitoring.instance_type,
            max_runtime_seconds=monitoring.max_runtime_seconds,
            data_quality_schedule=monitoring.data_quality_schedule,
            model_quality_schedule=monitoring.model_quality_schedule,
            window_start_hours=monitoring.ground_truth_window_start_hours,
            window_end_hours=monitoring.ground_truth_window_end_hours,
        )

    def deploy_statements(self) -> list[iam.PolicyStatement]:
        """What ``ensure_monitoring`` calls (the deploy role also needs ``iam:PassRole`` on
        :attr:`role`: ``self.role.grant_pass_role(deploy_role)``)."""
        return [
            iam.PolicyStatement(
                sid="ManageOwnMonitoring",
                actions=[
                    "sagemaker:CreateDataQualityJobDefinition",
                    "sagemaker:DescribeDataQualityJobDefinition",
                    "sagemaker:DeleteDataQualityJobDefinition",
                    "sagemaker:CreateModelQualityJobDefinition",
                    "sagemaker:DescribeModelQualityJobDefinition",
                    "sagemaker:DeleteModelQualityJobDefinition",
                    "sagemaker:CreateMonitoringSchedule",
                    "sagemaker:DescribeMonitoringSchedule",
                    "sagemaker:UpdateMonitoringSchedule",
                    "sagemaker:StartMonitoringSchedule",
                    "sagemaker:DeleteMonitoringSchedule",
                    "sagemaker:ListTags",
                    "sagemaker:AddTags",
                ],
                resources=_monitoring_arns(cdk.Stack.of(self), self._config.name),
            ),
            _list_statement(),
        ]


def removal_statements(stack: cdk.Stack, environment: str) -> list[iam.PolicyStatement]:
    """What ``delete_monitoring`` calls: the deploy role's grants when monitoring is disabled
    (it removes what an enabled configuration left). Names carry the environment's prefix."""
    return [
        iam.PolicyStatement(
            sid="RemoveOwnMonitoring",
            actions=[
                "sagemaker:DescribeMonitoringSchedule",
                "sagemaker:DeleteMonitoringSchedule",
                "sagemaker:DeleteDataQualityJobDefinition",
                "sagemaker:DeleteModelQualityJobDefinition",
                "sagemaker:ListTags",
            ],
            resources=_monitoring_arns(stack, environment),
        ),
        _list_statement(),
    ]


def _monitoring_arns(stack: cdk.Stack, environment: str) -> list[str]:
    """This environment's job definitions and schedules (named with its prefix)."""
    prefix = resource_prefix(environment)
    return [
        stack.format_arn(service="sagemaker", resource=kind, resource_name=f"{prefix}-*")
        for kind in (*DEFINITION_KINDS, "monitoring-schedule")
    ]


def _list_statement() -> iam.PolicyStatement:
    return iam.PolicyStatement(
        sid="ListMonitoring",
        actions=[
            "sagemaker:ListDataQualityJobDefinitions",
            "sagemaker:ListModelQualityJobDefinitions",
            "sagemaker:ListMonitoringSchedules",
        ],
        resources=["*"],
    )
