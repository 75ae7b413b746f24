"""Monitoring in the Deployment stack: the jobs' role, drift alarms, failed-execution notices."""

from __future__ import annotations

import json
from typing import Any

import boto3
from moto import mock_aws

from mlops.monitoring import names
from tests.shipped.assembly import ACCOUNT, REGION
from tests.synth import Synthesized

GROUP = "fraud-detection"
COLUMNS = (  # the endpoint's answer, then the features in payload order
    "predicted_label",
    "probability",
    "customer_id",
    "state",
    "amount",
    "transaction_time",
    "transaction_state",
    "time_of_day",
)


def _alarms(synth: Synthesized) -> dict[str, dict[str, Any]]:
    return {
        alarm["Properties"]["AlarmName"]: alarm["Properties"]
        for alarm in synth.resources("deployment", "AWS::CloudWatch::Alarm").values()
        if "-monitoring-" in str(alarm["Properties"].get("AlarmName"))
    }


def test_one_drift_alarm_per_baseline_column_and_an_f1_floor(dev: Synthesized) -> None:
    alarms = _alarms(dev)
    expected = {names.data_drift_alarm_name("dev", GROUP, c) for c in COLUMNS}
    assert set(alarms) == expected | {names.model_quality_alarm_name("dev", GROUP)}
    amount = alarms[names.data_drift_alarm_name("dev", GROUP, "amount")]
    (query,) = amount["Metrics"]
    assert query["Expression"] == (
        'SELECT MAX("feature_baseline_drift_amount") FROM '
        "\"aws/sagemaker/Endpoints/data-metrics\" WHERE Endpoint = 'mlops-dev-fraud-detection'"
    )
    assert (amount["ComparisonOperator"], amount["Threshold"]) == ("GreaterThanThreshold", 0.1)
    f1 = alarms[names.model_quality_alarm_name("dev", GROUP)]
    assert "aws/sagemaker/Endpoints/model-metrics" in f1["Metrics"][0]["Expression"]
    assert (f1["ComparisonOperator"], f1["Threshold"]) == ("LessThanThreshold", 0.5)
    for alarm in alarms.values():
        assert alarm["TreatMissingData"] == "ignore"  # one data point per execution
        assert alarm["AlarmActions"] and alarm["OKActions"]


def test_prod_uses_its_own_floor(prod: Synthesized) -> None:
    f1 = _alarms(prod)[names.model_quality_alarm_name("prod", GROUP)]
    assert f1["Threshold"] == 0.7


def _role_statements(synth: Synthesized) -> dict[str, dict[str, Any]]:
    for logical_id, policy in synth.resources("deployment", "AWS::IAM::Policy").items():
        if logical_id.startswith("MonitoringRole"):
            return {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    raise AssertionError("no monitoring role policy")


def test_jobs_role_writes_reports_only_and_reads_capture_baselines_labels(
    dev: Synthesized,
) -> None:
    statements = _role_statements(dev)
    writes = json.dumps(statements["WriteReports"]["Resource"])
    assert "/monitoring/*" in writes and "data-capture" not in writes
    reads = json.dumps(statements["ReadCaptureBaselinesLabels"]["Resource"])
    for prefix in ("/data-capture/*", "/pipelines/*", "/ground-truth/*"):
        assert prefix in reads
    assert statements["PublishMonitoringMetrics"]["Condition"] == {
        "StringLike": {"cloudwatch:namespace": "aws/sagemaker/Endpoints/*"}
    }
    # The network statements every VPC job role gets (stacks/constructs/network.py).
    assert {
        "DescribeNetworkForContainersInTheVpc",
        "NewNetworkInterfaces",
        "NetworkInterfacesInThisVpcsSubnets",
        "ThisVpcsNetworkInterfacesOnly",
    } <= set(statements)


def test_failed_executions_of_this_environment_reach_the_topic(dev: Synthesized) -> None:
    (rule,) = (
        r["Properties"]
        for r in dev.resources("deployment", "AWS::Events::Rule").values()
        if "monitoring" in r["Properties"]["Description"]
    )
    pattern = dev.assembly.resolve("deployment", rule["EventPattern"])

    def event(status: str, schedule: str | None) -> dict[str, Any]:
        detail: dict[str, Any] = {"ProcessingJobName": "j", "ProcessingJobStatus": status}
        if schedule:
            detail["MonitoringScheduleArn"] = (
                f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:monitoring-schedule/{schedule}"
            )
        return {
            "id": "1",
            "account": ACCOUNT,
            "source": "aws.sagemaker",
            "time": "2026-11-30T10:00:00Z",
            "region": REGION,
            "resources": [],
            "detail-type": "SageMaker Processing Job State Change",
            "detail": detail,
        }

    with mock_aws():
        events = boto3.client("events", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        url = sqs.create_queue(QueueName="topic-stand-in")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events.put_rule(Name="failed-executions", EventPattern=json.dumps(pattern))
        events.put_targets(Rule="failed-executions", Targets=[{"Id": "q", "Arn": arn}])

        def matches(candidate: dict[str, Any]) -> bool:
            events.put_events(
                Entries=[
                    {
                        "Source": candidate["source"],
                        "DetailType": candidate["detail-type"],
                        "Detail": json.dumps(candidate["detail"]),
                    }
                ]
            )
            received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
            for message in received.get("Messages", []):
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            return bool(received.get("Messages"))

        assert matches(event("Failed", "mlops-dev-fraud-detection-dq"))
        assert not matches(event("Completed", "mlops-dev-fraud-detection-dq"))
        assert not matches(event("Failed", None))  # a pipeline's own processing job
        assert not matches(event("Failed", "mlops-prod-fraud-detection-dq"))
