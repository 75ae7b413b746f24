"""`pipeline watch`, and `quotas check` / `pipeline start` reading the deployed pipeline."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from mlops.cli import main
from mlops.training.cli import load_pipeline, watch
from tests.aws_machine import Machine, stub_clients

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


QUOTAS = {  # name: value, for everything one run and its blue/green deployment hold
    "ml.m5.xlarge for processing job usage": 4,
    "ml.m5.4xlarge for processing job usage": 2,
    "ml.m5.4xlarge for training job usage": 2,
    "ml.m5.large for transform job usage": 2,
    "ml.m5.large for endpoint usage": 4,
}
DEPLOYED = {  # the shape of the Training stack's definition that the CLI reads
    "Version": "2020-12-01",
    "Parameters": [
        {"Name": "InputDataUri", "Type": "String", "DefaultValue": "s3://data/raw/"},
        {"Name": "ProcessingInstanceType", "Type": "String", "DefaultValue": "ml.m5.xlarge"},
        {"Name": "TransformInstanceType", "Type": "String", "DefaultValue": "ml.m5.large"},
        {"Name": "MaxCandidates", "Type": "Integer", "DefaultValue": 5},
    ],
    "Steps": [
        {
            "Name": "QuotaPreflight",
            "Type": "Lambda",
            "Arguments": {
                "processing_instance_type": {"Get": "Parameters.ProcessingInstanceType"},
                "transform_instance_type": {"Get": "Parameters.TransformInstanceType"},
                "automl_processing_instance_type": "ml.m5.4xlarge",
                "automl_training_instance_type": "ml.m5.4xlarge",
                "endpoint_instance_type": "ml.m5.large",
                "endpoint_instance_count": 1,
            },
        }
    ],
}


def test_preflight_event_comes_from_the_deployed_definition_with_overrides() -> None:
    client = boto3.client("sagemaker", region_name="us-east-1")
    stub = Stubber(client)
    stub.add_response(
        "describe_pipeline",
        {"PipelineName": "mlops-dev-training", "PipelineDefinition": json.dumps(DEPLOYED),
         "CreationTime": datetime(2024, 1, 1)},
        {"PipelineName": "mlops-dev-training"},
    )  # fmt: skip
    with stub:
        pipeline = load_pipeline(client, "dev")
    assert pipeline.parameters == {
        "InputDataUri": "s3://data/raw/",
        "ProcessingInstanceType": "ml.m5.xlarge",
        "TransformInstanceType": "ml.m5.large",
        "MaxCandidates": "5",
    }
    assert pipeline.preflight_event({"ProcessingInstanceType": "ml.c5.xlarge"}) == {
        "processing_instance_type": "ml.c5.xlarge",
        "transform_instance_type": "ml.m5.large",
        "automl_processing_instance_type": "ml.m5.4xlarge",
        "automl_training_instance_type": "ml.m5.4xlarge",
        "endpoint_instance_type": "ml.m5.large",
        "endpoint_instance_count": 1,
    }


def test_quotas_check_then_start_on_the_deployed_pipeline(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SageMaker is moto; Service Quotas for SageMaker is a Stubber (moto lacks it)."""
    Machine(monkeypatch, tmp_path).with_region("us-east-1").with_credentials()

    def answers(stub: Stubber) -> None:
        quotas = [
            {"ServiceCode": "sagemaker", "QuotaCode": f"L-{index}", "QuotaName": name,
             "Value": value, "Adjustable": True}
            for index, (name, value) in enumerate(QUOTAS.items())
        ]  # fmt: skip
        stub.add_response("list_service_quotas", {"Quotas": quotas}, {"ServiceCode": "sagemaker"})

    stubbers = stub_clients(monkeypatch, {"service-quotas": answers})
    with mock_aws():
        sagemaker: Any = boto3.client("sagemaker", region_name="us-east-1")
        sagemaker.create_pipeline(
            PipelineName="mlops-dev-training",
            PipelineDefinition=json.dumps(DEPLOYED),
            RoleArn="arn:aws:iam::123456789012:role/pipeline",
        )

        assert main(["quotas", "check", "--env", "dev", "--output", "json"]) == 0
        checked = json.loads(capsys.readouterr().out)
        assert (checked["verdict"], checked["proceed"]) == ("proceed", True)
        assert {
            (c["quota"], c["needed"], c["applied"], c["in_use"]) for c in checked["checks"]
        } == {
            ("ml.m5.xlarge for processing job usage", 2, 4, 0),
            ("ml.m5.4xlarge for processing job usage", 1, 2, 0),
            ("ml.m5.4xlarge for training job usage", 1, 2, 0),
            ("ml.m5.large for transform job usage", 1, 2, 0),
            # A blue/green switch adds one fleet to what is in use (the live one is counted).
            ("ml.m5.large for endpoint usage", 1, 4, 0),
        }

        argv = ["pipeline", "start", "--env", "dev", "--param", "MaxCandidates=3", "--name", "r1"]
        assert main(argv) == 0
        out = capsys.readouterr().out
        assert out.splitlines()[0].split() == ["quota", "needed", "applied", "in", "use", "verdict"]
        [execution] = sagemaker.list_pipeline_executions(PipelineName="mlops-dev-training")[
            "PipelineExecutionSummaries"
        ]
        assert f"started {execution['PipelineExecutionArn']}" in out
        parameters = sagemaker.list_pipeline_parameters_for_execution(
            PipelineExecutionArn=execution["PipelineExecutionArn"]
        )["PipelineParameters"]
        assert parameters == [{"Name": "MaxCandidates", "Value": "3"}]  # no fallback needed
        assert "follow it: python -m mlops pipeline watch --env dev" in out
    assert len(stubbers) == 2
    for stubber in stubbers:
        stubber.assert_no_pending_responses()


def test_a_pipeline_that_is_not_deployed_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Machine(monkeypatch, tmp_path).with_region("us-east-1").with_credentials()
    with mock_aws():
        sagemaker: Any = boto3.client("sagemaker", region_name="us-east-1")
        sagemaker.create_pipeline(
            PipelineName="mlops-prod-training",
            PipelineDefinition=json.dumps(DEPLOYED),
            RoleArn="arn:aws:iam::123456789012:role/pipeline",
        )
        assert main(["pipeline", "start", "--env", "dev"]) == 1
    assert capsys.readouterr().err == (
        "error: pipeline mlops-dev-training not found in us-east-1 (pipelines there: "
        "mlops-prod-training): deploy the training stack of dev (make deploy ENV=dev), or pass "
        "the --region it is in\n"
    )
