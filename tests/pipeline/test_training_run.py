"""Scenario (a): a full run of the synthesized dev pipeline on generated data, with default
parameters, ends with a model package in moto that is the evaluated model, whose every report
and drift baseline exists, with its documented metadata; every job and model it created
carries both tags; and
its logging step leaves one MLflow run, over SigV4-signed calls, in the tests' MLflow server
(standing for the environment's MLflow app), which ``experiments compare`` reads back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlops.constants import (
    MANAGED_BY_VALUE,
    TAG_ENVIRONMENT,
    TAG_MANAGED_BY,
    model_package_group_name,
)
from mlops.experiments.names import TAG_EXECUTION_ARN, TAG_MODEL_PACKAGE_ARN
from mlops.training.names import INFERENCE_OUTPUT, Parameter, Step, model_step_name, pipeline_name
from stacks.constructs.monitoring import baseline_columns
from tests.experiments.mlflow_server import (
    APP_ARN,
    MlflowServer,
    Received,
    record_mlflow_calls,
)
from tests.pipeline.executor import Execution
from tests.pipeline.permissions import gaps
from tests.pipeline.world import World, quota_stubs, run_quotas, training_world
from tests.shipped.fixtures import MotoServer
from tests.synth import Synthesized

REGISTER = model_step_name(Step.REGISTER, "RegisterModel")
SCORING_MODEL = model_step_name(Step.SCORING_MODEL, "CreateModel")


@pytest.fixture(scope="module")
def world(
    dev: Synthesized,
    _moto_server_process: MotoServer,
    mlflow_server: MlflowServer,
    tmp_path_factory: pytest.TempPathFactory,
    raw_data: Path,
) -> Iterator[World]:
    """One run for the whole module (every test here reads it; none resets moto)."""
    _moto_server_process.reset()
    yield training_world(
        dev.assembly,
        _moto_server_process,
        tmp_path_factory.mktemp("run"),
        raw_data,
        mlflow_url=mlflow_server.url,
        mlflow_app_arn=APP_ARN,
    )


# What the MLflow server received during each execution (the tests' own reads come later).
LOGGED: dict[str, list[Received]] = {}


@pytest.fixture(scope="module")
def execution(world: World, mlflow_server: MlflowServer) -> Execution:
    mlflow_server.received.clear()
    execution = world.executor.start(stubs=quota_stubs(run_quotas()))
    assert execution.status == "Succeeded", execution.explain()
    LOGGED[execution.arn] = list(mlflow_server.received)
    record_mlflow_calls("experiment_logger", LOGGED[execution.arn])
    return execution


@pytest.fixture(scope="module")
def mlflow_run(execution: Execution, mlflow_server: MlflowServer) -> Any:
    """The MLflow run of the execution, read back with MLflow's own client."""
    client = mlflow_server.reader()
    experiment = client.get_experiment_by_name(pipeline_name("dev"))
    assert experiment is not None
    [run] = client.search_runs(
        [experiment.experiment_id], f"tags.`{TAG_EXECUTION_ARN}` = '{execution.arn}'"
    )
    return run


@pytest.fixture(scope="module")
def package(world: World, execution: Execution) -> dict[str, Any]:
    sagemaker = world.moto.client("sagemaker")
    [summary] = sagemaker.list_model_packages(ModelPackageGroupName=world.model_package_group)[
        "ModelPackageSummaryList"
    ]
    return dict(sagemaker.describe_model_package(ModelPackageName=summary["ModelPackageArn"]))


def test_every_step_ran_in_dependency_order(execution: Execution) -> None:
    assert execution.started == [
        Step.QUOTA_PREFLIGHT,
        Step.CHECK_QUOTAS,
        Step.PARTITION,
        Step.AUTOML,
        Step.PREPARE_TEST,
        Step.CLARIFY_BIAS,
        SCORING_MODEL,
        Step.SCORE_TEST_SPLIT,
        Step.EVALUATE,
        Step.MONITORING_DATASETS,
        Step.DATA_QUALITY_BASELINE,
        Step.MODEL_QUALITY_BASELINE,
        REGISTER,
        Step.LOG_EXPERIMENT,
    ]


def test_the_version_is_registered_pending_approval_in_the_environments_group(
    package: dict[str, Any],
) -> None:
    assert package["ModelPackageGroupName"] == model_package_group_name("dev", "fraud-detection")
    assert package["ModelApprovalStatus"] == "PendingManualApproval"


def test_every_model_metrics_uri_names_an_existing_object(
    world: World, package: dict[str, Any]
) -> None:
    """Defect 6 (explainability: a guessed name under Autopilot's prefix) and defect 2 (no
    Clarify report without its config) show up here as missing objects."""
    metrics = package["ModelMetrics"]
    uris = {
        "quality": metrics["ModelQuality"]["Statistics"]["S3Uri"],
        "bias": metrics["Bias"]["PreTrainingReport"]["S3Uri"],
        "explainability": metrics["Explainability"]["Report"]["S3Uri"],
    }
    s3 = world.executor.s3
    assert {name: s3.exists(uri) for name, uri in uris.items()} == dict.fromkeys(uris, True)
    quality = json.loads(s3.read_text(uris["quality"]))["binary_classification_metrics"]
    assert 0 <= quality["f1"]["value"] <= 1
    bias = json.loads(s3.read_text(uris["bias"]))["pre_training_bias_metrics"]
    assert set(bias["facets"]) == {"state"}


def test_the_metadata_is_what_docs_training_md_lists(
    world: World, execution: Execution, package: dict[str, Any]
) -> None:
    metadata = package["CustomerMetadataProperties"]
    register = world.executor.definition.steps[REGISTER].step["Arguments"]
    assert set(metadata) == set(register["CustomerMetadataProperties"])  # listed in infra tests
    report_uri = (
        execution.step(Step.PARTITION).properties["ProcessingOutputConfig"]["Outputs"][0][
            "S3Output"
        ]["S3Uri"]
        + "/split-report.json"
    )
    report = json.loads(world.executor.s3.read_text(report_uri))
    assert metadata["mlops:input-fingerprint"] == report["input"]["fingerprint"]
    assert metadata["mlops:input-data"] == execution.parameters[Parameter.INPUT_DATA_URI]
    assert metadata["mlops:split-seed"] == str(execution.parameters[Parameter.SPLIT_SEED])
    assert metadata["mlops:pipeline-execution"] == execution.arn
    [automl] = execution.requests_of("CreateAutoMLJob")
    assert metadata["mlops:automl-job"] == automl.params["AutoMLJobName"]


def test_the_default_input_is_where_the_generator_writes(
    world: World, execution: Execution
) -> None:
    """Defect 11: ``python -m mlops data generate --out s3://<data>/raw/`` then a run with no
    parameters partitions exactly the generated transactions."""
    assert execution.parameters[Parameter.INPUT_DATA_URI] == (
        f"s3://{world.data_bucket}/raw/transactions/"
    )
    [partition] = execution.requests_of("CreateProcessingJob")[:1]
    report = json.loads(
        world.executor.s3.read_text(
            partition.params["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
            + "/split-report.json"
        )
    )
    assert report["input"]["rows"] == 3000
    assert [f["name"] for f in report["input"]["files"]] == [
        "part-00000.csv",
        "part-00001.csv",
        "part-00002.csv",
    ]


def test_the_registered_model_is_the_evaluated_model(
    execution: Execution, package: dict[str, Any]
) -> None:
    """Defect 10: the version registers the container the test split was scored with, with the
    same environment (label and probability), not Autopilot's default (label only)."""
    [model] = execution.requests_of("CreateModel")
    [registered] = package["InferenceSpecification"]["Containers"]
    scored = model.params["PrimaryContainer"]
    assert {k: registered[k] for k in ("Image", "ModelDataUrl", "Environment")} == {
        k: scored[k] for k in ("Image", "ModelDataUrl", "Environment")
    }
    assert registered["Environment"]["SAGEMAKER_INFERENCE_OUTPUT"] == (
        "predicted_label,probability"
    )


def test_every_job_and_model_carries_both_environment_tags(execution: Execution) -> None:
    """Defect 13: teardown finds what a run created by these two tags only."""
    created = [
        r
        for r in execution.requests
        if r.operation
        in ("CreateProcessingJob", "CreateAutoMLJob", "CreateTransformJob", "CreateModel")
    ]
    # 7 processing jobs (4 + the monitoring datasets and baselines), Autopilot, the scoring
    # model, transform
    assert len(created) == 10
    for request in created:
        tags = {tag["Key"]: tag["Value"] for tag in request.params.get("Tags", [])}
        assert tags.get(TAG_ENVIRONMENT) == "dev", request.step
        assert tags.get(TAG_MANAGED_BY) == MANAGED_BY_VALUE, request.step


def test_clarify_reads_its_config_where_the_container_looks(execution: Execution) -> None:
    """Defect 2: the analysis config reaches the Clarify container as analysis_config.json
    (the emulation refuses any other name) and labels this run's target column."""
    clarify = next(r for r in execution.requests if r.step == Step.CLARIFY_BIAS)
    prepare = next(r for r in execution.requests if r.step == Step.PREPARE_TEST)
    config_input = next(
        i for i in clarify.params["ProcessingInputs"] if i["InputName"] == "analysis_config"
    )
    written = next(
        o
        for o in prepare.params["ProcessingOutputConfig"]["Outputs"]
        if o["OutputName"] == "clarify"
    )
    assert config_input["S3Input"]["S3Uri"] == written["S3Output"]["S3Uri"]
    assert execution.step(Step.CLARIFY_BIAS).status == "Succeeded"


def test_the_pipeline_role_allows_every_request_of_the_run(
    dev: Synthesized, world: World, execution: Execution
) -> None:
    """Defects 3 and 5: what each request needs per AWS's execution-role documents
    (kms:CreateGrant for volume keys, Autopilot's model and endpoint work, image pulls)."""
    template = dev.assembly.templates["training"]
    [role] = [
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::IAM::Role" and logical_id.startswith("TrainingExecutionRole")
    ]
    assert gaps(template, role, execution.requests) == []


def test_every_request_went_through_the_service_model(execution: Execution) -> None:
    operations = [request.operation for request in execution.requests]
    assert operations == [
        "CreateProcessingJob",
        "CreateAutoMLJob",
        "CreateProcessingJob",
        "CreateProcessingJob",
        "CreateModel",
        "CreateTransformJob",
        "CreateProcessingJob",
        "CreateProcessingJob",
        "CreateProcessingJob",
        "CreateProcessingJob",
        "CreateModelPackage",
    ]


def test_the_version_carries_drift_baselines_that_exist_and_match_the_endpoint(
    dev: Synthesized, world: World, package: dict[str, Any]
) -> None:
    """Issue 14: every DriftCheckBaselines and ModelMetrics baseline URI names an object the
    run wrote; the data-quality baseline has the columns the endpoint's captured traffic has
    (its answer first) and the drift alarms watch; the model-quality baseline scored the same
    predictions against the same labels as the evaluation."""
    drift, metrics = package["DriftCheckBaselines"], package["ModelMetrics"]
    uris = {
        "drift data statistics": drift["ModelDataQuality"]["Statistics"]["S3Uri"],
        "drift data constraints": drift["ModelDataQuality"]["Constraints"]["S3Uri"],
        "drift model statistics": drift["ModelQuality"]["Statistics"]["S3Uri"],
        "drift model constraints": drift["ModelQuality"]["Constraints"]["S3Uri"],
        "metrics data statistics": metrics["ModelDataQuality"]["Statistics"]["S3Uri"],
        "metrics data constraints": metrics["ModelDataQuality"]["Constraints"]["S3Uri"],
        "metrics model constraints": metrics["ModelQuality"]["Constraints"]["S3Uri"],
    }
    s3 = world.executor.s3
    assert {name: s3.exists(uri) for name, uri in uris.items()} == dict.fromkeys(uris, True)
    statistics = json.loads(s3.read_text(uris["drift data statistics"]))
    columns = [feature["name"] for feature in statistics["features"]]
    assert columns == [*INFERENCE_OUTPUT, *columns[len(INFERENCE_OUTPUT) :]]
    assert tuple(columns) == baseline_columns(dev.config)  # the alarms' columns
    baseline = json.loads(s3.read_text(uris["drift model statistics"]))
    evaluation = json.loads(s3.read_text(metrics["ModelQuality"]["Statistics"]["S3Uri"]))
    assert baseline["binary_classification_metrics"]["f1"]["value"] == pytest.approx(
        evaluation["binary_classification_metrics"]["f1"]["value"]
    )


def test_the_run_is_one_mlflow_run_with_its_parameters_metrics_and_links(
    execution: Execution, package: dict[str, Any], mlflow_run: Any
) -> None:
    """Issue 15: every pipeline parameter, the split and reproducibility facts, the test
    metrics and confusion counts, the reports and the registered version."""
    params, metrics, tags = mlflow_run.data.params, mlflow_run.data.metrics, mlflow_run.data.tags
    assert mlflow_run.info.status == "FINISHED"
    assert {f"pipeline.{name}" for name in execution.parameters} <= set(params)
    assert params["pipeline.SplitSeed"] == str(execution.parameters[Parameter.SPLIT_SEED])
    metadata = package["CustomerMetadataProperties"]
    assert params["input.fingerprint"] == metadata["mlops:input-fingerprint"]
    assert (params["config_hash"], params["code_version"]) == (
        metadata["mlops:config-hash"],
        metadata["mlops:code-version"],
    )
    assert {"split.method", "split.ratios", "split.seed"} <= set(params)
    assert {"precision", "recall", "f1", "auc", "pr_auc", "tp", "fp", "fn", "tn"} <= set(metrics)
    assert tags[TAG_MODEL_PACKAGE_ARN] == package["ModelPackageArn"]
    reports = package["ModelMetrics"]
    assert tags["mlops.artifact.evaluation"] == reports["ModelQuality"]["Statistics"]["S3Uri"]
    assert (
        tags["mlops.artifact.explainability_report"]
        == (reports["Explainability"]["Report"]["S3Uri"])
    )
    outputs = execution.step(Step.LOG_EXPERIMENT).properties["OutputParameters"]
    assert (outputs["status"], outputs["run_id"]) == ("logged", mlflow_run.info.run_id)


def test_every_mlflow_call_was_signed_for_the_app(execution: Execution) -> None:
    received = LOGGED[execution.arn]
    assert received, "the logging step made no MLflow call"
    assert all(r.signature_valid and r.signing_service == "sagemaker" for r in received)
    assert {r.headers.get("x-sm-mlflow-app-arn") for r in received} == {APP_ARN}


def test_experiments_compare_prints_the_pipeline_runs(
    world: World,
    execution: Execution,
    mlflow_run: Any,
    mlflow_server: MlflowServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A second run with another seed; `experiments compare --last 2` puts the differing
    parameter first and reads both runs' metrics back."""
    from mlops.cli import main

    second = world.executor.start({Parameter.SPLIT_SEED: "8"}, stubs=quota_stubs(run_quotas()))
    assert second.status == "Succeeded", second.explain()
    monkeypatch.setenv("SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT", mlflow_server.url)
    argv = ["experiments", "compare", "--env", "dev", "--app-arn", APP_ARN, "--last", "2"]
    assert main([*argv, "--output", "json"]) == 0
    compared = json.loads(capsys.readouterr().out)
    assert compared["params"][0]["name"] == "pipeline.SplitSeed"
    assert sorted(compared["params"][0]["values"]) == ["42", "8"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert mlflow_run.info.run_name in printed and "f1" in printed
