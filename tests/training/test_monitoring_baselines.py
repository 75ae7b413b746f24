"""Baseline steps for the pipeline: the SDK's QualityCheckStep contract, offline and per region."""

from __future__ import annotations

import json
import re
from typing import Any

import boto3
import pytest

from mlops.monitoring import settings as monitoring_settings
from stacks.constructs import monitoring_baselines as baselines
from stacks.constructs import sagemaker_sdk
from tests.service_model import assert_valid_request

ROLE = "arn:aws:iam::000000000000:role/pipeline"
IMAGE = "mlopsplaceholderModelMonitorImageUri"


@pytest.fixture(scope="module")
def session() -> Any:
    sagemaker_sdk.start_import()
    sagemaker_sdk.ready()
    from sagemaker.workflow.pipeline_context import PipelineSession

    boto = boto3.Session(
        region_name="us-east-1", aws_access_key_id="offline", aws_secret_access_key="offline"
    )
    return PipelineSession(boto_session=boto, default_bucket="artifacts")


def _quality_check_environment(session: Any, kind: str) -> dict[str, str]:
    """What the SDK's own QualityCheckStep sets (built offline, never run)."""
    from sagemaker.model_monitor.dataset_format import DatasetFormat
    from sagemaker.workflow.check_job_config import CheckJobConfig as _CheckJobConfig
    from sagemaker.workflow.parameters import ParameterString
    from sagemaker.workflow.quality_check_step import (
        DataQualityCheckConfig,
        ModelQualityCheckConfig,
        QualityCheckStep,
    )

    check_job_config: Any = _CheckJobConfig  # untyped in the SDK
    dataset: Any = ParameterString("Dataset")
    config: Any = (
        DataQualityCheckConfig(
            baseline_dataset=dataset,
            dataset_format=DatasetFormat.csv(header=True),  # type: ignore[no-untyped-call]
            output_s3_uri="s3://artifacts/out",
        )
        if kind == "data_quality"
        else ModelQualityCheckConfig(
            baseline_dataset=dataset,
            dataset_format=DatasetFormat.csv(header=True),  # type: ignore[no-untyped-call]
            output_s3_uri="s3://artifacts/out",
            problem_type="BinaryClassification",
            inference_attribute="prediction",
            ground_truth_attribute="label",
        )
    )
    step = QualityCheckStep(
        name="Check",
        quality_check_config=config,
        check_job_config=check_job_config(role=ROLE, sagemaker_session=session),
        skip_check=True,
        register_new_baseline=True,
    )
    arguments: Any = step.arguments
    return dict(arguments["Environment"])


@pytest.mark.parametrize("kind", ["data_quality", "model_quality"])
def test_environment_is_what_quality_check_step_sets(session: Any, kind: Any) -> None:
    assert baselines.baseline_environment(kind) == _quality_check_environment(session, kind)


def _pipeline(session: Any) -> dict[str, Any]:
    from sagemaker.model import Model
    from sagemaker.model_metrics import MetricsSource, ModelMetrics
    from sagemaker.workflow.model_step import ModelStep
    from sagemaker.workflow.pipeline import Pipeline
    from sagemaker.workflow.steps import ProcessingStep

    def step(kind: Any, name: str) -> ProcessingStep:
        return ProcessingStep(
            name=name,
            step_args=baselines.baseline_step_args(
                kind,
                dataset=f"s3://artifacts/pipelines/dev/run/{name}-input/",
                destination=f"s3://artifacts/pipelines/dev/run/{name}",
                role=ROLE,
                image_uri=IMAGE,
                instance_type="ml.m5.xlarge",
                kms_key="arn:aws:kms:us-east-1:000000000000:key/1",
                network_config=None,
                session=session,
                base_job_name="mlops-dev",
            ),
        )

    data, model = (
        step("data_quality", "DataQualityBaseline"),
        step("model_quality", "ModelQualityBaseline"),
    )
    register = ModelStep(
        name="RegisterModel",
        step_args=Model(
            image_uri="image", model_data="s3://artifacts/models/m.tar.gz", role=ROLE,
            sagemaker_session=session,
        ).register(
            content_types=["text/csv"],
            response_types=["text/csv"],
            model_package_group_name="mlops-dev-fraud-detection",
            approval_status="PendingManualApproval",
            drift_check_baselines=baselines.drift_check_baselines(data, model),
            model_metrics=ModelMetrics(
                model_statistics=MetricsSource(
                    s3_uri="s3://artifacts/evaluation.json", content_type="application/json"
                ),
                **baselines.model_metrics_sources(data, model),
            ),
        ),
    )  # fmt: skip
    pipeline = Pipeline(name="p", steps=[data, model, register], sagemaker_session=session)
    return dict(json.loads(pipeline.definition()))


def test_steps_are_valid_processing_jobs_and_registration_reads_their_outputs(
    session: Any,
) -> None:
    definition = _pipeline(session)
    steps = {step["Name"]: step for step in definition["Steps"]}
    for name in ("DataQualityBaseline", "ModelQualityBaseline"):
        arguments = steps[name]["Arguments"]
        assert arguments["AppSpecification"] == {"ImageUri": IMAGE}
        assert arguments["ProcessingOutputConfig"]["KmsKeyId"].startswith("arn:aws:kms")
        assert_valid_request(
            "sagemaker", "CreateProcessingJob", {**arguments, "ProcessingJobName": "j"}
        )
    registered = json.dumps(
        next(s for s in definition["Steps"] if s["Type"] == "RegisterModel")["Arguments"]
    )
    for step, section, file in (
        ("DataQualityBaseline", "ModelDataQuality", "statistics.json"),
        ("DataQualityBaseline", "ModelDataQuality", "constraints.json"),
        ("ModelQualityBaseline", "ModelQuality", "constraints.json"),
    ):
        output = f"Steps.{step}.ProcessingOutputConfig.Outputs['monitoring_output'].S3Output.S3Uri"
        assert output in registered and file in registered and section in registered
    assert '"DriftCheckBaselines"' in registered


def test_every_region_image_is_one_the_deploy_lambda_accepts() -> None:
    sagemaker_sdk.start_import()
    sagemaker_sdk.ready()
    mapping = baselines.image_mapping()
    assert {"us-east-1", "eu-west-1"} <= set(mapping)
    # The rule the deploy Lambda reads MONITORING_IMAGE_URI with.
    pattern = re.compile(monitoring_settings.IMAGE_URI_PATTERN)
    for region, images in mapping.items():
        uri = images[baselines.IMAGE_KEY]
        assert pattern.fullmatch(uri) and f".{region}." in uri, uri
