"""`pipeline watch` and the deployed-pipeline reading of `quotas check` / `pipeline start`."""

from __future__ import annotations

import json
from datetime import datetime

import boto3
from botocore.stub import Stubber

from mlops.training.cli import load_pipeline, watch

ARN = "arn:aws:sagemaker:us-east-1:111111111111:pipeline/mlops-dev-training/execution/abc"


def step(name: str, status: str, reason: str | None = None) -> dict[str, object]:
    entry: dict[str, object] = {"StepName": name, "StepStatus": status}
    if reason:
        entry["FailureReason"] = reason
    return entry


def test_watch_prints_each_change_once_until_the_run_ends() -> None:
    client = boto3.client("sagemaker", region_name="us-east-1")
    stub = Stubber(client)
    params = {"PipelineExecutionArn": ARN, "SortOrder": "Ascending"}
    stub.add_response(
        "list_pipeline_execution_steps",
        {"PipelineExecutionSteps": [step("Partition", "Executing")]},
        params,
    )
    stub.add_response(
        "describe_pipeline_execution",
        {"PipelineExecutionStatus": "Executing"},
        {"PipelineExecutionArn": ARN},
    )
    message = "Stopped before starting: quota 'ml.m5.large for endpoint usage' is 1"
    stub.add_response(
        "list_pipeline_execution_steps",
        {
            "PipelineExecutionSteps": [
                step("Partition", "Succeeded"),
                step("QuotaPreflight", "Succeeded"),
                step("QuotaShortage", "Failed", message),
            ]
        },
        params,
    )
    stub.add_response(
        "describe_pipeline_execution",
        {"PipelineExecutionStatus": "Failed", "FailureReason": "Step failure: QuotaShortage"},
        {"PipelineExecutionArn": ARN},
    )
    lines: list[str] = []
    with stub:
        status = watch(client, ARN, interval=0, emit=lines.append, sleep=lambda _: None)
    assert status == "Failed"
    assert [line.split()[:2] for line in lines] == [
        ["Partition", "Executing"],
        ["Partition", "Succeeded"],
        ["QuotaPreflight", "Succeeded"],
        ["QuotaShortage", "Failed"],
        ["execution", "Failed"],
    ]
    assert message in lines[3]


def test_preflight_event_comes_from_the_deployed_definition_with_overrides() -> None:
    client = boto3.client("sagemaker", region_name="us-east-1")
    definition = {
        "Parameters": [
            {"Name": "ProcessingInstanceType", "Type": "String", "DefaultValue": "ml.m5.xlarge"},
            {"Name": "MaxCandidates", "Type": "Integer", "DefaultValue": 5},
        ],
        "Steps": [
            {
                "Name": "QuotaPreflight",
                "Type": "Lambda",
                "Arguments": {
                    "processing_instance_type": {"Get": "Parameters.ProcessingInstanceType"},
                    "endpoint_instance_type": "ml.m5.large",
                    "endpoint_instance_count": 2,
                },
            }
        ],
    }
    stub = Stubber(client)
    stub.add_response(
        "describe_pipeline",
        {"PipelineName": "mlops-dev-training", "PipelineDefinition": json.dumps(definition),
         "CreationTime": datetime(2024, 1, 1)},
        {"PipelineName": "mlops-dev-training"},
    )  # fmt: skip
    with stub:
        pipeline = load_pipeline(client, "dev")
    assert pipeline.parameters == {"ProcessingInstanceType": "ml.m5.xlarge", "MaxCandidates": "5"}
    assert pipeline.preflight_event({"ProcessingInstanceType": "ml.c5.xlarge"}) == {
        "processing_instance_type": "ml.c5.xlarge",
        "endpoint_instance_type": "ml.m5.large",
        "endpoint_instance_count": 2,
    }
