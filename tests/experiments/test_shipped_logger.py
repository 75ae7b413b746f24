"""The run logger as it ships (staged asset + layer, template environment) logs a pipeline run
into the MLflow server: from the pipeline's logging step, and from a Failed status event."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.experiments.mlflow_server import APP_ARN, MlflowServer, Received, record_mlflow_calls
from tests.experiments.test_logging import SPLIT_REPORT, evaluation, execution_arn
from tests.shipped.assembly import Assembly, PhysicalValues, ShippedFunction
from tests.shipped.fixtures import MotoServer
from tests.shipped.lambdas import Invocation, Stub, invoke
from tests.synth import Synthesized

BUCKET = "artifacts-bucket"
# The step's experiment does not exist yet, whatever ran before (the proof needs the logger's
# CreateExperiment). Status events name executions of the environment's own pipeline: the
# role may read no other pipeline's executions.
STEP_PIPELINE = "mlops-dev-shipped-step"


@pytest.fixture
def shipped(dev: Synthesized) -> tuple[Assembly, ShippedFunction, PhysicalValues]:
    assembly = dev.assembly
    logger = assembly.function("experiments", "ExperimentsRunLogger")
    [app_id] = dev.resources("experiments", "AWS::SageMaker::MlflowApp")
    [bucket_id] = [b for b in dev.resources("data", "AWS::S3::Bucket") if "Artifacts" in b]
    values = PhysicalValues(
        pinned={f"experiments.{app_id}.Arn": APP_ARN, f"data.{bucket_id}": BUCKET}
    )
    return assembly, logger, values


def _invoke(
    shipped: tuple[Assembly, ShippedFunction, PhysicalValues],
    moto_server: MotoServer,
    event: dict[str, Any],
    *,
    mlflow_url: str,
    stubs: list[Stub] | None = None,
    received: list[Received] | None = None,
) -> Invocation:
    """Run the shipped logger on ``event``; with ``received``, its AWS and MLflow calls join
    the least-privilege proof."""
    assembly, logger, values = shipped
    invocation = invoke(
        assembly,
        logger,
        event,
        endpoint_url=moto_server.endpoint_url,
        values=values,
        stubs=stubs or [],
        environment_overrides={"SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT": mlflow_url},
        least_privilege_key="experiment_logger" if received is not None else None,
    )
    if received is not None:
        record_mlflow_calls("experiment_logger", received)
    return invocation


def _put(moto: MotoServer, key: str, body: Any) -> str:
    moto.client("s3").put_object(Bucket=BUCKET, Key=key, Body=json.dumps(body).encode())
    return f"s3://{BUCKET}/{key}"


def test_the_logging_step_event_becomes_a_run(
    shipped: tuple[Assembly, ShippedFunction, PhysicalValues],
    moto_server: MotoServer,
    tracking: MlflowServer,
) -> None:
    moto_server.client("s3").create_bucket(Bucket=BUCKET)
    folder = "pipelines/dev/shipped-1"
    event = {
        "pipeline_name": STEP_PIPELINE,
        "execution_arn": execution_arn("shipped-1", STEP_PIPELINE),
        "environment": "dev",
        "config_hash": "cfg",
        "code_version": "code",
        "parameters": json.dumps({"SplitSeed": "42", "MaxCandidates": "3"}),
        "evaluation_uri": _put(moto_server, f"{folder}/evaluation/evaluation.json", evaluation()),
        "split_report_uri": _put(moto_server, f"{folder}/splits/split-report.json", SPLIT_REPORT),
        "model_package_arn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/9",
    }
    invocation = _invoke(
        shipped, moto_server, event, mlflow_url=tracking.url, received=tracking.received
    )

    output = invocation.returned()
    assert output["status"] == "logged", output
    assert invocation.environment["MLFLOW_APP_ARN"] == APP_ARN
    signed = list(tracking.received)  # before the reader below adds its own requests
    assert len(signed) >= 5 and all(r.signature_valid for r in signed)
    assert {r.signing_service for r in signed} == {"sagemaker"}
    run = tracking.reader().get_run(output["run_id"])
    assert run.info.status == "FINISHED"
    assert run.data.params["pipeline.SplitSeed"] == "42"
    assert run.data.params["split.ratios"] == "0.7,0.15,0.15"
    assert run.data.metrics["f1"] == pytest.approx(2 / 3)
    assert run.data.tags["mlops.model_package_arn"].endswith("/g/9")
    assert invocation.operations == ["s3:GetObject", "s3:GetObject"]


def test_a_failed_execution_event_logs_the_run_with_its_status(
    shipped: tuple[Assembly, ShippedFunction, PhysicalValues],
    moto_server: MotoServer,
    tracking: MlflowServer,
) -> None:
    moto_server.client("s3").create_bucket(Bucket=BUCKET)
    # Partition wrote its report before the run failed; Evaluate never ran.
    _put(moto_server, "pipelines/dev/shipped-f/splits/split-report.json", SPLIT_REPORT)
    arn = execution_arn("shipped-f")
    event = {
        "version": "0",
        "source": "aws.sagemaker",
        "detail-type": "SageMaker Model Building Pipeline Execution Status Change",
        "detail": {
            "pipelineArn": arn.split("/execution/")[0],
            "pipelineExecutionArn": arn,
            "currentPipelineExecutionStatus": "Failed",
            "previousPipelineExecutionStatus": "Executing",
        },
    }
    stubs = [
        Stub(
            "sagemaker",
            "DescribePipelineExecution",
            {"PipelineExecutionArn": arn, "FailureReason": "Step AutoML failed"},
        ),
        Stub(
            "sagemaker",
            "ListPipelineParametersForExecution",
            {"PipelineParameters": [{"Name": "SplitSeed", "Value": "42"}]},
        ),
        Stub(
            "sagemaker",
            "ListPipelineExecutionSteps",
            {"PipelineExecutionSteps": [{"StepName": "AutoML", "StepStatus": "Failed"}]},
        ),
    ]
    invocation = _invoke(
        shipped,
        moto_server,
        event,
        mlflow_url=tracking.url,
        stubs=stubs,
        received=tracking.received,
    )

    output = invocation.returned()
    assert output["status"] == "logged", output
    run = tracking.reader().get_run(output["run_id"])
    assert run.info.status == "FAILED"
    assert run.data.tags["mlops.failure_reason"] == "Step AutoML failed"
    assert run.data.params["split.method"] == "stratified"
    assert run.data.metrics == {}


def test_a_succeeded_execution_event_logs_metrics_and_the_registered_version(
    shipped: tuple[Assembly, ShippedFunction, PhysicalValues],
    moto_server: MotoServer,
    tracking: MlflowServer,
) -> None:
    """Without the logging step, the status event alone records a succeeded run completely
    enough: metrics from the run folder's evaluation.json, the version from RegisterModel."""
    moto_server.client("s3").create_bucket(Bucket=BUCKET)
    _put(moto_server, "pipelines/dev/shipped-s/evaluation/evaluation.json", evaluation())
    arn = execution_arn("shipped-s")
    package = "arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud-detection/4"
    event = {
        "detail-type": "SageMaker Model Building Pipeline Execution Status Change",
        "detail": {"pipelineExecutionArn": arn, "currentPipelineExecutionStatus": "Succeeded"},
    }
    stubs = [
        Stub("sagemaker", "DescribePipelineExecution", {"PipelineExecutionArn": arn}),
        Stub("sagemaker", "ListPipelineParametersForExecution", {"PipelineParameters": []}),
        Stub(
            "sagemaker",
            "ListPipelineExecutionSteps",
            {
                "PipelineExecutionSteps": [
                    {
                        "StepName": "RegisterModel-RegisterModel",
                        "StepStatus": "Succeeded",
                        "Metadata": {"RegisterModel": {"Arn": package}},
                    }
                ]
            },
        ),
    ]
    invocation = _invoke(shipped, moto_server, event, mlflow_url=tracking.url, stubs=stubs)

    output = invocation.returned()
    run = tracking.reader().get_run(output["run_id"])
    assert run.info.status == "FINISHED"
    assert run.data.metrics["f1"] == pytest.approx(2 / 3)
    assert run.data.tags["mlops.model_package_arn"] == package
    assert run.data.tags["mlops.artifact.evaluation"] == (
        f"s3://{BUCKET}/pipelines/dev/shipped-s/evaluation/evaluation.json"
    )
    assert "mlops.artifact.split_report" not in run.data.tags  # not written: no link


def test_an_unreachable_app_does_not_fail_the_step(
    shipped: tuple[Assembly, ShippedFunction, PhysicalValues], moto_server: MotoServer
) -> None:
    event = {"pipeline_name": "mlops-dev-training", "execution_arn": execution_arn("down")}
    invocation = _invoke(shipped, moto_server, event, mlflow_url="http://127.0.0.1:9")

    output = invocation.returned()
    assert output["status"] == "unreachable"
    assert "\n" not in output["message"] and "unreachable" in output["message"]
