"""Baseline steps of the training pipeline, built offline with the SageMaker SDK (pure functions).

**Choice: the Model Monitor container in a ProcessingStep, not ``QualityCheckStep``.** Both run
the same container with the same environment contract; ``QualityCheckStep`` does not fit a
definition built offline at synth:

* its ``CheckJobConfig`` makes a ``DefaultModelMonitor``/``ModelQualityMonitor``, which resolves
  the image for the *building* session's region (``image_uris.retrieve("model-monitor",
  session.boto_region_name)``): the definition would carry one region's image, while this app
  stays region-agnostic through a CfnMapping (the Clarify step was moved to a processing step
  for the same family of reasons: ``ClarifyCheckStep`` uploads its config at build time);
* a ``QualityCheck`` step's drift check against the latest approved version and its
  ``CalculatedBaseline*`` properties are resolved by the Pipelines service; a processing step's
  outputs are plain ``ProcessingOutputConfig`` properties, which the offline pipeline executor
  (tests) already emulates.

:func:`baseline_environment` calls the same SDK function ``QualityCheckStep`` uses
(``ModelMonitor._generate_env_map``), and a test checks the result equals a ``QualityCheckStep``'s.

Datasets (``mlops.monitoring.baseline_data``, docs/monitoring.md), both from the held-out test
split as the registered model answers it:

* data quality: ``data-quality.csv`` (the answer's columns ``predicted_label,probability``
  first, then the features in payload order, with header): captured traffic is the endpoint's
  output followed by the request, matched to it by position;
* model quality: ``model-quality.csv`` (``prediction,label`` with header).

The job writes ``statistics.json`` and ``constraints.json`` into its output;
:func:`drift_check_baselines` and :func:`model_metrics_sources` point the registration at them.
"""

from __future__ import annotations

from typing import Any, Final, Literal

from mlops.monitoring.baseline_data import LABEL_COLUMN, PREDICTION_COLUMN
from mlops.monitoring.baselines import CONSTRAINTS_FILE, STATISTICS_FILE
from mlops.monitoring.settings import PROBLEM_TYPE

BaselineKind = Literal["data_quality", "model_quality"]
# The SDK's container paths and names for a baseline job (sagemaker.model_monitor).
DATASET_INPUT_NAME: Final = "baseline_dataset_input"
DATASET_PATH: Final = f"/opt/ml/processing/input/{DATASET_INPUT_NAME}"
OUTPUT_NAME: Final = "monitoring_output"
OUTPUT_PATH: Final = "/opt/ml/processing/output"
# CfnMapping key and pipeline placeholder of the region's Model Monitor image.
IMAGE_KEY: Final = "ModelMonitor"
IMAGE_PLACEHOLDER_NAME: Final = "ModelMonitorImageUri"


def model_monitor_image(region: str) -> str | None:
    """The region's Model Monitor (analyzer) image, from the SDK's offline table; None where
    the SDK lists none. ``image_uris.retrieve("model-monitor", region)`` makes no AWS call."""
    from sagemaker import image_uris as _image_uris

    image_uris: Any = _image_uris  # untyped in the SDK
    try:
        return str(image_uris.retrieve("model-monitor", region=region))
    except ValueError:
        return None


def image_regions() -> tuple[str, ...]:
    """Regions the SDK has a Model Monitor image for."""
    from sagemaker import image_uris as _image_uris

    image_uris: Any = _image_uris
    config = image_uris.config_for_framework("model-monitor")
    return tuple(sorted(config["versions"][""]["registries"]))


def image_mapping() -> dict[str, dict[str, str]]:
    """Region -> {IMAGE_KEY: uri}, to merge into a stack's image CfnMapping."""
    from stacks.constructs.sagemaker_sdk import one_endpoints_resolver

    mapping: dict[str, dict[str, str]] = {}
    with one_endpoints_resolver():
        for region in image_regions():
            uri = model_monitor_image(region)
            if uri:
                mapping[region] = {IMAGE_KEY: uri}
    return mapping


def baseline_environment(kind: BaselineKind) -> dict[str, str]:
    """The container's environment for a baseline job (what ``QualityCheckStep`` sets)."""
    from sagemaker.model_monitor.dataset_format import DatasetFormat as _DatasetFormat
    from sagemaker.model_monitor.model_monitoring import ModelMonitor as _ModelMonitor

    monitor: Any = _ModelMonitor
    formats: Any = _DatasetFormat
    common = {
        "env": None,
        "output_path": OUTPUT_PATH,
        "enable_cloudwatch_metrics": False,  # only schedules publish metrics
        "dataset_source_container_path": DATASET_PATH,
    }
    if kind == "data_quality":
        env = monitor._generate_env_map(dataset_format=formats.csv(header=True), **common)
    else:
        env = monitor._generate_env_map(
            dataset_format=formats.csv(header=True),
            analysis_type="MODEL_QUALITY",
            problem_type=PROBLEM_TYPE,
            inference_attribute=PREDICTION_COLUMN,
            ground_truth_attribute=LABEL_COLUMN,
            **common,
        )
    return dict(env)


def baseline_step_args(
    kind: BaselineKind,
    *,
    dataset: Any,
    destination: Any,
    role: str,
    image_uri: str,
    instance_type: Any,
    kms_key: str,
    network_config: Any,
    session: Any,
    base_job_name: str,
    tags: Any = None,
    max_runtime_seconds: int = 3600,
) -> Any:
    """``step_args`` of the baseline ProcessingStep (``ProcessingStep(name, step_args=...)``).

    ``dataset``: S3 URI (or pipeline variable) of the folder or file to baseline;
    ``destination``: where ``statistics.json`` and ``constraints.json`` go; ``session``: the
    pipeline's ``PipelineSession`` (nothing is called); ``image_uri``: the placeholder the
    construct replaces with the region's :data:`IMAGE_KEY` mapping value.
    """
    from sagemaker.processing import ProcessingInput, ProcessingOutput, Processor

    processor = Processor(
        role=role,
        image_uri=image_uri,
        instance_count=1,
        instance_type=instance_type,
        volume_kms_key=kms_key,
        output_kms_key=kms_key,
        max_runtime_in_seconds=max_runtime_seconds,
        env=dict[str, Any](baseline_environment(kind)),
        network_config=network_config,
        base_job_name=base_job_name,
        sagemaker_session=session,
        tags=tags,
    )
    return processor.run(
        inputs=[
            ProcessingInput(source=dataset, destination=DATASET_PATH, input_name=DATASET_INPUT_NAME)
        ],
        outputs=[
            ProcessingOutput(source=OUTPUT_PATH, destination=destination, output_name=OUTPUT_NAME)
        ],
    )


def output_uri(step: Any) -> Any:
    """The baseline step's output folder (a property the registration step reads)."""
    return step.properties.ProcessingOutputConfig.Outputs[OUTPUT_NAME].S3Output.S3Uri


def _source(step: Any, file_name: str) -> Any:
    from sagemaker.model_metrics import MetricsSource
    from sagemaker.workflow.functions import Join

    return MetricsSource(
        s3_uri=Join(on="/", values=[output_uri(step), file_name]),
        content_type="application/json",
    )


def drift_check_baselines(data_quality_step: Any, model_quality_step: Any) -> Any:
    """The version's ``DriftCheckBaselines``: what its monitoring schedules compare against."""
    from sagemaker.drift_check_baselines import DriftCheckBaselines

    return DriftCheckBaselines(
        model_data_statistics=_source(data_quality_step, STATISTICS_FILE),
        model_data_constraints=_source(data_quality_step, CONSTRAINTS_FILE),
        model_statistics=_source(model_quality_step, STATISTICS_FILE),
        model_constraints=_source(model_quality_step, CONSTRAINTS_FILE),
    )


def model_metrics_sources(data_quality_step: Any, model_quality_step: Any) -> dict[str, Any]:
    """``ModelMetrics`` keyword arguments for the same baselines (the registry shows them).

    ``model_statistics`` stays the evaluation report the pipeline already registers.
    """
    return {
        "model_data_statistics": _source(data_quality_step, STATISTICS_FILE),
        "model_data_constraints": _source(data_quality_step, CONSTRAINTS_FILE),
        "model_constraints": _source(model_quality_step, CONSTRAINTS_FILE),
    }
