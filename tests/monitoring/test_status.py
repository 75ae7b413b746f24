"""`monitor status`: schedules, last executions with their violations, alarm states."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from mlops.cli import main
from mlops.monitoring import names
from mlops.monitoring.schedules import ensure_monitoring
from tests.monitoring.conftest import (
    ARTIFACTS,
    ENDPOINT,
    ENVIRONMENT,
    GROUP,
    IMAGE,
    ROLE,
    Account,
    settings,
)

REPORT = f"s3://{ARTIFACTS}/monitoring/{ENDPOINT}/dq/2026/11/30/00"


def _execution(account: Account, status: str, hour: int, *, job: str | None = None) -> None:
    schedule = names.schedule_name(ENVIRONMENT, GROUP, "DataQuality")
    summary = {
        "MonitoringScheduleName": schedule,
        "ScheduledTime": datetime(2026, 11, 30, hour, tzinfo=UTC),
        "CreationTime": datetime(2026, 11, 30, hour, tzinfo=UTC),
        "LastModifiedTime": datetime(2026, 11, 30, hour, 20, tzinfo=UTC),
        "MonitoringExecutionStatus": status,
        "EndpointName": ENDPOINT,
        "MonitoringType": "DataQuality",
    }
    if job:
        summary["ProcessingJobArn"] = account.sagemaker.create_processing_job(
            ProcessingJobName=job,
            ProcessingResources={
                "ClusterConfig": {
                    "InstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                    "VolumeSizeInGB": 20,
                }
            },
            AppSpecification={"ImageUri": IMAGE},
            RoleArn=ROLE,
            ProcessingOutputConfig={
                "Outputs": [
                    {
                        "OutputName": "monitoring_output",
                        "S3Output": {
                            "S3Uri": REPORT,
                            "LocalPath": "/opt/ml/processing/output",
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ]
            },
        )["ProcessingJobArn"]
    if status == "Failed":
        summary["FailureReason"] = "AlgorithmError: no captured data in the window"
    account.schedules.executions.append(summary)


def test_status_lists_executions_violations_and_alarms(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    ensure_monitoring(account.sagemaker, settings(), GROUP, account.version(1))
    violations = {
        "violations": [
            {
                "feature_name": "amount",
                "constraint_check_type": "baseline_drift_check",
                "description": "distance 0.41 > 0.1",
            },
            {
                "feature_name": "state",
                "constraint_check_type": "baseline_drift_check",
                "description": "distance 0.22 > 0.1",
            },
        ]
    }
    key = REPORT.removeprefix(f"s3://{ARTIFACTS}/") + "/constraint_violations.json"
    account.s3.put_object(Bucket=ARTIFACTS, Key=key, Body=json.dumps(violations).encode())
    _execution(account, "Completed", 0)
    _execution(account, "CompletedWithViolations", 1, job="model-monitoring-202611300100-1")
    _execution(account, "Failed", 2)
    alarm = names.data_drift_alarm_name(ENVIRONMENT, GROUP, "amount")
    account.cloudwatch.put_metric_alarm(
        AlarmName=alarm,
        MetricName="feature_baseline_drift_amount",
        Namespace="aws/sagemaker/Endpoints/data-metrics",
        Statistic="Maximum",
        Period=3600,
        EvaluationPeriods=1,
        Threshold=0.1,
        ComparisonOperator="GreaterThanThreshold",
    )
    account.cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="drift")

    assert main(["monitor", "status", "--group", GROUP, "--env", ENVIRONMENT, "--last", "3"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert f"{ENDPOINT}-dq  DataQuality   Scheduled" in out
    assert f"{ENDPOINT}-mq  ModelQuality  Scheduled" in out
    newest_first = [line for line in lines if line.startswith(f"{ENDPOINT}-dq  2026")]
    assert [line.split()[3] for line in newest_first] == [
        "Failed",
        "CompletedWithViolations",
        "Completed",
    ]
    assert "AlgorithmError: no captured data in the window" in newest_first[0]
    assert newest_first[1].endswith("2 (amount: baseline_drift_check, state: baseline_drift_check)")
    assert f"{alarm}  ALARM" in out


def test_status_without_monitoring_says_so(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["monitor", "status", "--group", GROUP, "--env", ENVIRONMENT]) == 0
    out = capsys.readouterr().out
    assert "fraud-detection: no monitoring schedules" in out
    assert "no monitoring alarms found" in out


def test_status_refuses_a_bad_count(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["monitor", "status", "--group", GROUP, "--env", ENVIRONMENT, "--last", "0"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: --last 0: allowed 1 to 100 (ListMonitoringExecutions)"
    )
