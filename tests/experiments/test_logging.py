"""A pipeline run's facts -> one MLflow run in a real MLflow server, through SigV4-signed REST."""

from __future__ import annotations

import json
import math
import time
from typing import Any

import pytest

from mlops.errors import InputError
from mlops.experiments.runs import (
    PipelineRunFacts,
    evaluation_metrics,
    log_pipeline_run,
    run_record,
)
from mlops.experiments.tracking import TrackingClient, TrackingError
from mlops.training.evaluation import metrics as evaluation_of
from tests.experiments.mlflow_server import APP_ARN, MlflowServer, free_port, verify_sigv4

PIPELINE = "mlops-dev-training"


def execution_arn(suffix: str, pipeline: str = PIPELINE) -> str:
    return f"arn:aws:sagemaker:us-east-1:123456789012:pipeline/{pipeline}/execution/{suffix}"


def evaluation() -> dict[str, Any]:
    """evaluation.json as the pipeline's Evaluate step writes it (the real function)."""
    truth = ["1", "1", "0", "0", "0", "1", "0", "0"]
    predicted = ["1", "0", "0", "1", "0", "1", "0", "0"]
    probability = [0.9, 0.6, 0.8, 0.55, 0.7, 0.95, 0.9, 0.85]
    report: dict[str, Any] = json.loads(json.dumps(evaluation_of(truth, predicted, probability)))
    return report


SPLIT_REPORT = {
    "report": "mlops.data.split-report",
    "method": "stratified",
    "ratios": [0.7, 0.15, 0.15],
    "seed": 42,
    "input": {"rows": 1000, "fingerprint": "sha256:abc123"},
    "splits": {"train": {"rows": 700}, "validation": {"rows": 150}, "test": {"rows": 150}},
}


def facts(suffix: str, **changes: Any) -> PipelineRunFacts:
    values: dict[str, Any] = {
        "pipeline_name": PIPELINE,
        "execution_arn": execution_arn(suffix),
        "environment": "dev",
        "parameters": {"InputDataUri": "s3://data/raw/", "SplitMethod": "stratified"},
        "split_report": SPLIT_REPORT,
        "evaluation": evaluation(),
        "config_hash": "cfg0123456789abc",
        "code_version": "code-abcdef",
        "model_package_arn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/3",
        "evaluation_uri": f"s3://artifacts/pipelines/dev/{suffix}/evaluation/evaluation.json",
        "split_report_uri": f"s3://artifacts/pipelines/dev/{suffix}/splits/split-report.json",
        "bias_report_uri": f"s3://artifacts/pipelines/dev/{suffix}/clarify-bias/analysis.json",
        "explainability_report_uri": "s3://artifacts/models/dev/x/explainability/analysis.json",
    }
    values.update(changes)
    return PipelineRunFacts(**values)


def reader(server: MlflowServer) -> Any:
    return server.reader()


def test_a_pipeline_run_becomes_one_mlflow_run(tracking: MlflowServer) -> None:
    result = log_pipeline_run(TrackingClient(APP_ARN), facts("run-ok-1"))

    assert result.status == "logged", result.message
    run = reader(tracking).get_run(result.run_id)
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "run-ok-1"
    experiment = reader(tracking).get_experiment(run.info.experiment_id)
    assert experiment.name == PIPELINE
    params = run.data.params
    assert params["pipeline.InputDataUri"] == "s3://data/raw/"
    assert params["pipeline.SplitMethod"] == "stratified"
    assert params["split.method"] == "stratified"
    assert params["split.ratios"] == "0.7,0.15,0.15"
    assert params["split.seed"] == "42"
    assert params["input.fingerprint"] == "sha256:abc123"
    assert params["split.test.rows"] == "150"
    assert params["config_hash"] == "cfg0123456789abc"
    assert params["code_version"] == "code-abcdef"
    metrics = run.data.metrics
    # 2 of 3 frauds found, 1 false alarm out of 5 legitimate: worked out by hand.
    assert metrics["precision"] == pytest.approx(2 / 3)
    assert metrics["recall"] == pytest.approx(2 / 3)
    assert metrics["f1"] == pytest.approx(2 / 3)
    assert (metrics["tp"], metrics["fn"], metrics["fp"], metrics["tn"]) == (2, 1, 1, 4)
    assert {"auc", "pr_auc", "accuracy"} <= set(metrics)
    tags = run.data.tags
    assert tags["mlops.pipeline_execution_arn"] == execution_arn("run-ok-1")
    assert tags["mlops.model_package_arn"].endswith(":model-package/g/3")
    assert tags["mlops.pipeline_status"] == "Succeeded"
    assert tags["mlops.artifact.evaluation"].endswith("/evaluation/evaluation.json")
    assert tags["mlops.artifact.split_report"].endswith("/splits/split-report.json")
    assert tags["mlops.artifact.bias_report"].endswith("/clarify-bias/analysis.json")
    assert tags["mlops.artifact.explainability_report"].endswith("analysis.json")


def test_every_request_is_sigv4_signed_for_sagemaker_with_the_session_token(
    tracking: MlflowServer,
) -> None:
    log_pipeline_run(TrackingClient(APP_ARN), facts("run-signed"))

    paths = [r.path.split("?")[0] for r in tracking.received]
    assert "/api/2.0/mlflow/runs/log-batch" in paths and "/api/2.0/mlflow/runs/update" in paths
    for request in tracking.received:
        assert request.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=testing/")
        assert request.signature_valid, request.path
        assert (request.signing_service, request.signing_region) == ("sagemaker", "us-east-1")
        assert request.headers["x-amz-date"].endswith("Z")
        assert request.headers["x-amz-security-token"] == "testing"
        assert request.headers["x-sm-mlflow-app-arn"] == APP_ARN
        signed = request.headers["authorization"].split("SignedHeaders=")[1].split(",")[0]
        assert {"host", "x-amz-date", "x-amz-security-token", "x-sm-mlflow-app-arn"} <= set(
            signed.split(";")
        )


def test_the_signature_check_rejects_a_tampered_request(tracking: MlflowServer) -> None:
    log_pipeline_run(TrackingClient(APP_ARN), facts("run-tamper"))
    request = next(r for r in tracking.received if r.body)

    tampered = request.body + b" "
    assert verify_sigv4(request.method, request.path, request.headers, request.body)[0]
    assert not verify_sigv4(request.method, request.path, request.headers, tampered)[0]


def test_the_same_execution_logged_again_updates_the_same_run(tracking: MlflowServer) -> None:
    client = TrackingClient(APP_ARN)
    first = log_pipeline_run(client, facts("run-twice", status="Executing", model_package_arn=""))
    second = log_pipeline_run(client, facts("run-twice"))

    assert first.created and not second.created
    assert first.run_id == second.run_id
    runs = reader(tracking).search_runs(
        [first.experiment_id],
        filter_string=f"tags.`mlops.pipeline_execution_arn` = '{execution_arn('run-twice')}'",
    )
    assert len(runs) == 1
    assert runs[0].info.status == "FINISHED"
    assert runs[0].data.tags["mlops.model_package_arn"].endswith("/g/3")


def test_a_run_that_failed_after_training_is_logged_with_its_status(
    tracking: MlflowServer,
) -> None:
    failed = facts(
        "run-failed",
        status="Failed",
        evaluation=None,
        model_package_arn="",
        failure_reason="Step ScoreTestSplit failed: ClientError",
    )
    result = log_pipeline_run(TrackingClient(APP_ARN), failed)

    run = reader(tracking).get_run(result.run_id)
    assert run.info.status == "FAILED"
    assert run.info.end_time is not None
    assert run.data.metrics == {}
    assert run.data.params["split.method"] == "stratified"
    assert run.data.tags["mlops.failure_reason"].startswith("Step ScoreTestSplit failed")
    assert "mlops.model_package_arn" not in run.data.tags


def test_undefined_metrics_null_or_nan_are_not_logged(tracking: MlflowServer) -> None:
    report = evaluation()
    report["binary_classification_metrics"]["auc"]["value"] = None
    report["binary_classification_metrics"]["pr_auc"]["value"] = float("nan")
    result = log_pipeline_run(TrackingClient(APP_ARN), facts("run-nan", evaluation=report))

    metrics = reader(tracking).get_run(result.run_id).data.metrics
    assert "auc" not in metrics and "pr_auc" not in metrics
    assert metrics["f1"] == pytest.approx(2 / 3)


def test_an_unreachable_app_gives_one_line_and_does_not_raise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT", f"http://127.0.0.1:{free_port()}")
    client = TrackingClient(APP_ARN, timeout=2, sleep=lambda _: None)
    started = time.monotonic()
    result = log_pipeline_run(client, facts("run-unreachable"))

    assert result.status == "unreachable"
    assert "\n" not in result.message
    assert "unreachable" in result.message and APP_ARN in result.message
    assert time.monotonic() - started < 5
    assert result.as_output()["status"] == "unreachable"


def test_an_app_error_is_reported_as_rejected(tracking: MlflowServer) -> None:
    client = TrackingClient(APP_ARN)
    with pytest.raises(TrackingError) as raised:
        client.call("POST", "runs/update", {"run_id": "no-such-run", "status": "FINISHED"})
    assert raised.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_evaluation_metrics_read_the_evaluation_json_layout() -> None:
    metrics = evaluation_metrics(evaluation())
    assert set(metrics) == {
        "precision", "recall", "f1", "accuracy", "auc", "pr_auc", "test_rows",
        "tp", "fp", "fn", "tn",
    }  # fmt: skip
    assert all(math.isfinite(v) for v in metrics.values())
    with pytest.raises(InputError, match="binary_classification_metrics"):
        evaluation_metrics({"metrics": {}})


def test_run_record_keeps_limits_and_rejects_bad_facts() -> None:
    record = run_record(facts("run-long", parameters={"Long": "x" * 7000}))
    assert len(record.params["pipeline.Long"]) == 6000
    with pytest.raises(InputError, match="execution ARN"):
        facts("x", execution_arn="arn:aws:sagemaker:us-east-1:1:pipeline/p")
    with pytest.raises(InputError, match="status 'Done' unknown"):
        facts("x", status="Done")
    with pytest.raises(InputError, match="not an MLflow app ARN"):
        TrackingClient("arn:aws:sagemaker:us-east-1:1:mlflow-tracking-server/x")


def test_the_step_takes_parameters_one_input_each_or_as_json() -> None:
    from mlops.experiments.step import facts_from_step

    event = {
        "pipeline_name": PIPELINE,
        "execution_arn": execution_arn("inputs"),
        "param_SplitSeed": 7,
        "param_InputDataUri": "s3://data/raw/",
        "parameters": json.dumps({"MaxCandidates": "3"}),
    }
    facts = facts_from_step(event, s3=None)  # no report URIs: S3 is not read
    assert facts.parameters == {
        "SplitSeed": "7",
        "InputDataUri": "s3://data/raw/",
        "MaxCandidates": "3",
    }
    assert facts.status == "Succeeded" and facts.evaluation is None
    with pytest.raises(InputError, match="needs input 'execution_arn'"):
        facts_from_step({"pipeline_name": PIPELINE}, s3=None)
    with pytest.raises(InputError, match="parameters is not JSON"):
        facts_from_step({**event, "parameters": "{oops"}, s3=None)
