"""CloudWatch alarms on one group's endpoint: they notify, and roll blue/green updates back.

The endpoint is created at run time by the deploy Lambda under a deterministic name, so the
alarms can exist (in INSUFFICIENT_DATA) before it does. Missing data is not breaching: an idle
endpoint must not roll back an update.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from constructs import Construct

from mlops.deployment import names


class EndpointAlarms(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: str,
        group: str,
        latency_ms: int,
        error_count: int,
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        dimensions = {
            "EndpointName": names.endpoint_name(environment, group),
            "VariantName": names.VARIANT_NAME,
        }
        errors = cloudwatch.Metric(
            namespace="AWS/SageMaker",
            metric_name="Invocation5XXErrors",
            dimensions_map=dimensions,
            statistic="Sum",
            period=cdk.Duration.minutes(1),
        )
        # ModelLatency is reported in microseconds.
        latency = cloudwatch.Metric(
            namespace="AWS/SageMaker",
            metric_name="ModelLatency",
            dimensions_map=dimensions,
            statistic="Average",
            period=cdk.Duration.minutes(1),
        )
        self.errors = cloudwatch.Alarm(
            self,
            "Errors",
            alarm_name=names.error_alarm_name(environment, group),
            alarm_description=f"{group}: 5XX errors on the endpoint (rolls updates back)",
            metric=errors,
            threshold=error_count,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=3,
            datapoints_to_alarm=2,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.latency = cloudwatch.Alarm(
            self,
            "Latency",
            alarm_name=names.latency_alarm_name(environment, group),
            alarm_description=f"{group}: model latency above {latency_ms} ms (rolls updates back)",
            metric=latency,
            threshold=latency_ms * 1000,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=3,
            datapoints_to_alarm=3,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        for alarm in (self.errors, self.latency):
            alarm.add_alarm_action(actions.SnsAction(topic))
            alarm.add_ok_action(actions.SnsAction(topic))

    @property
    def alarms(self) -> tuple[cloudwatch.Alarm, cloudwatch.Alarm]:
        return (self.errors, self.latency)
