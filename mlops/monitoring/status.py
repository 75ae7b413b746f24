"""What monitoring says about an endpoint: last executions, their violations, alarm states.

A monitoring execution is a processing job; its report lands in the job's output folder, and
an execution that ends ``CompletedWithViolations`` wrote ``constraint_violations.json``
there (``{"violations": [{"feature_name", "constraint_check_type", "description"}]}``, docs
"Schema for Violations"). The alarms are the Deployment stack's, named by
:mod:`mlops.monitoring.names`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from mlops.data.io import S3Location, parse_location, s3_errors
from mlops.deployment.names import endpoint_name
from mlops.errors import MlopsError
from mlops.monitoring import names
from mlops.monitoring.baselines import VIOLATIONS_FILE

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient

SHOWN_VIOLATIONS = 3


@dataclass(frozen=True)
class Execution:
    schedule: str
    monitor: str
    scheduled: datetime
    status: str
    violations: tuple[str, ...] = ()  # "feature: check" of each violation
    detail: str = ""  # failure reason, or why the violations could not be read


@dataclass(frozen=True)
class Alarm:
    name: str
    state: str
    reason: str


def violations_of(s3: S3Client, output_uri: str) -> tuple[str, ...]:
    """``feature: check`` of each violation in an execution's report folder."""
    location = parse_location(f"{output_uri.rstrip('/')}/{VIOLATIONS_FILE}")
    assert isinstance(location, S3Location)
    with s3_errors(location.uri):
        body = s3.get_object(Bucket=location.bucket, Key=location.key)["Body"].read()
    report = json.loads(body)
    return tuple(
        f"{item.get('feature_name', '?')}: {item.get('constraint_check_type', '?')}"
        for item in report.get("violations", [])
    )


def _output_uri(sagemaker: SageMakerClient, processing_job_arn: str) -> str | None:
    job = sagemaker.describe_processing_job(ProcessingJobName=processing_job_arn.split("/")[-1])
    outputs = job.get("ProcessingOutputConfig", {}).get("Outputs", [])
    return str(outputs[0]["S3Output"]["S3Uri"]) if outputs else None


def _execution(sagemaker: SageMakerClient, s3: S3Client, summary: Any) -> Execution:
    status = summary["MonitoringExecutionStatus"]
    found: tuple[str, ...] = ()
    detail = summary.get("FailureReason", "")
    if status == "CompletedWithViolations" and summary.get("ProcessingJobArn"):
        try:
            uri = _output_uri(sagemaker, summary["ProcessingJobArn"])
            found = violations_of(s3, uri) if uri else ()
        except (ClientError, MlopsError, ValueError, KeyError) as error:
            detail = f"violations not readable: {error}"  # keep the other rows
    return Execution(
        schedule=summary["MonitoringScheduleName"],
        monitor=summary.get("MonitoringType", ""),
        scheduled=summary["ScheduledTime"],
        status=status,
        violations=found,
        detail=detail,
    )


def executions(
    sagemaker: SageMakerClient, s3: S3Client, environment: str, group: str, *, last: int = 3
) -> tuple[list[tuple[str, str, str]], list[Execution]]:
    """The endpoint's schedules (name, type, status) and their ``last`` executions each."""
    endpoint = endpoint_name(environment, group)
    schedules = sagemaker.list_monitoring_schedules(EndpointName=endpoint, SortBy="Name")[
        "MonitoringScheduleSummaries"
    ]
    rows: list[Execution] = []
    listed: list[tuple[str, str, str]] = []
    for schedule in schedules:
        name = schedule["MonitoringScheduleName"]
        listed.append(
            (name, schedule.get("MonitoringType", ""), schedule["MonitoringScheduleStatus"])
        )
        page = sagemaker.list_monitoring_executions(
            MonitoringScheduleName=name,
            SortBy="ScheduledTime",
            SortOrder="Descending",
            MaxResults=last,
        )
        rows.extend(
            _execution(sagemaker, s3, item) for item in page["MonitoringExecutionSummaries"]
        )
    return listed, rows


def alarms(cloudwatch: CloudWatchClient, environment: str, group: str) -> list[Alarm]:
    prefix = names.alarm_prefix(environment, group)
    found: list[Alarm] = []
    for page in cloudwatch.get_paginator("describe_alarms").paginate(AlarmNamePrefix=prefix):
        for alarm in page.get("MetricAlarms", []):
            found.append(
                Alarm(alarm["AlarmName"], alarm["StateValue"], alarm.get("StateReason", ""))
            )
    return sorted(found, key=lambda alarm: alarm.name)


def table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def report(
    schedules: list[tuple[str, str, str]],
    runs: list[Execution],
    alarm_list: list[Alarm],
    group: str,
) -> str:
    """The `monitor status` text: schedules, executions, alarms (three tables)."""
    if not schedules:
        parts = [f"{group}: no monitoring schedules (monitoring disabled, or no version deployed)"]
    else:
        parts = [table([("schedule", "type", "status"), *schedules])]
        execution_rows: list[tuple[str, ...]] = [
            ("schedule", "scheduled (UTC)", "execution", "violations")
        ]
        for run in runs:
            shown = ", ".join(run.violations[:SHOWN_VIOLATIONS])
            if len(run.violations) > SHOWN_VIOLATIONS:
                shown += f", +{len(run.violations) - SHOWN_VIOLATIONS} more"
            execution_rows.append(
                (
                    run.schedule,
                    run.scheduled.strftime("%Y-%m-%d %H:%M"),
                    run.status,
                    f"{len(run.violations)} ({shown})" if run.violations else run.detail[:80],
                )
            )
        parts.append(table(execution_rows) if len(execution_rows) > 1 else "no executions yet")
    if alarm_list:
        parts.append(table([("alarm", "state"), *((a.name, a.state) for a in alarm_list)]))
    else:
        parts.append("no monitoring alarms found (is the Deployment stack deployed?)")
    return "\n\n".join(parts)
