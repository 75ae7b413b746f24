"""Names shared by the Training stack (synth) and the CLI (run time), defined once.

The pipeline definition is built from these (``stacks/constructs/pipeline_definition``) and the
CLI reads a deployed pipeline by them (``mlops.training.cli``), so a renamed step or parameter
cannot leave one side behind. Standard library only.
"""

from __future__ import annotations

from typing import Final

from mlops.constants import PIPELINES_PREFIX, resource_prefix


def pipeline_name(environment: str) -> str:
    """The SageMaker Pipeline of ``environment``."""
    return f"{resource_prefix(environment)}-training"


class Parameter:
    """Pipeline parameters (``--param Name=Value`` of ``pipeline start``)."""

    INPUT_DATA_URI: Final = "InputDataUri"
    TARGET_COLUMN: Final = "TargetColumn"
    PROBLEM_TYPE: Final = "ProblemType"
    OBJECTIVE_METRIC: Final = "ObjectiveMetric"
    SPLIT_METHOD: Final = "SplitMethod"
    SPLIT_RATIOS: Final = "SplitRatios"
    SPLIT_SEED: Final = "SplitSeed"
    SPLIT_KEY: Final = "SplitKey"
    SPLIT_ORDER_BY: Final = "SplitOrderBy"
    MAX_CANDIDATES: Final = "MaxCandidates"
    MAX_RUNTIME_PER_TRAINING_JOB: Final = "MaxRuntimePerTrainingJobSeconds"
    MAX_AUTOML_RUNTIME: Final = "MaxAutoMLRuntimeSeconds"
    PROCESSING_INSTANCE_TYPE: Final = "ProcessingInstanceType"
    TRANSFORM_INSTANCE_TYPE: Final = "TransformInstanceType"
    AUTOML_PROCESSING_INSTANCE_TYPE: Final = "AutoMLProcessingInstanceType"
    AUTOML_TRAINING_INSTANCE_TYPE: Final = "AutoMLTrainingInstanceType"


class Step:
    """Step names as they appear in the definition, in ``ListPipelineExecutionSteps`` and in
    Studio. The SDK's ``ModelStep`` appends the request kind to the name it is given:
    ``CreateScoringModel`` becomes ``CreateScoringModel-CreateModel``."""

    QUOTA_PREFLIGHT: Final = "QuotaPreflight"
    CHECK_QUOTAS: Final = "CheckQuotas"
    QUOTA_SHORTAGE: Final = "QuotaShortage"
    PARTITION: Final = "Partition"
    MERGE_SPLITS: Final = "MergeSplits"
    AUTOML: Final = "AutoML"
    PREPARE_TEST: Final = "PrepareTest"
    SCORING_MODEL: Final = "CreateScoringModel"
    SCORE_TEST_SPLIT: Final = "ScoreTestSplit"
    EVALUATE: Final = "Evaluate"
    CLARIFY_BIAS: Final = "ClarifyBias"
    REGISTER: Final = "RegisterModel"
    CHECK_F1: Final = "CheckF1"
    REGISTER_APPROVED: Final = "RegisterApproved"
    # Model monitoring baselines (with ``monitoring.enabled``; docs/monitoring.md).
    MONITORING_DATASETS: Final = "MonitoringDatasets"
    DATA_QUALITY_BASELINE: Final = "DataQualityBaseline"
    MODEL_QUALITY_BASELINE: Final = "ModelQualityBaseline"
    # After registration, in each branch that registers (experiments.enabled).
    LOG_EXPERIMENT: Final = "LogExperiment"
    LOG_EXPERIMENT_APPROVED: Final = "LogExperimentApproved"


# What the registered model answers per CSV record (Autopilot's inference container reads
# SAGEMAKER_INFERENCE_OUTPUT): the test split is scored with it, the endpoint serves it, and
# model monitoring reads its columns by position (docs/monitoring.md).
INFERENCE_OUTPUT: Final = ("predicted_label", "probability")


def model_step_name(name: str, request: str) -> str:
    """The definition's name of a ``ModelStep`` called ``name`` making a ``request``
    (``CreateModel`` or ``RegisterModel``), as the SDK names it."""
    return f"{name}-{request}"


class PreflightOutput:
    """The QuotaPreflight Lambda step's outputs (what the handler returns)."""

    PROCEED: Final = "proceed"
    VERDICT: Final = "verdict"
    MESSAGE: Final = "message"
    PROCESSING_INSTANCE_TYPE: Final = "processing_instance_type"
    TRANSFORM_INSTANCE_TYPE: Final = "transform_instance_type"


# Pipeline parameters that carry the preflight's chosen instance types (its fallback).
FALLBACK_PARAMETERS: Final = {
    PreflightOutput.PROCESSING_INSTANCE_TYPE: Parameter.PROCESSING_INSTANCE_TYPE,
    PreflightOutput.TRANSFORM_INSTANCE_TYPE: Parameter.TRANSFORM_INSTANCE_TYPE,
}


class RunFolder:
    """Folders of one run under :func:`run_folder`: where its steps write (the definition's
    ``run_path``) and where the experiment logger reads reports back after a failed run."""

    SPLITS: Final = "splits"
    TEST_FEATURES: Final = "test-features"
    CLARIFY_CONFIG: Final = "clarify-config"
    TEST_PREDICTIONS: Final = "test-predictions"
    EVALUATION: Final = "evaluation"
    CLARIFY_BIAS: Final = "clarify-bias"
    MONITORING_DATASETS: Final = "monitoring-datasets"
    DATA_QUALITY_BASELINE: Final = "data-quality-baseline"
    MODEL_QUALITY_BASELINE: Final = "model-quality-baseline"


# The file Clarify writes its analysis to (its container's contract).
CLARIFY_REPORT: Final = "analysis.json"


def run_folder(bucket: str, environment: str, execution_id: str) -> str:
    """``s3://<artifacts>/pipelines/<env>/<execution id>``: one folder per run. The definition
    builds the same path from pipeline expressions (``Context.execution_path``)."""
    return f"s3://{bucket}/{PIPELINES_PREFIX.rstrip('/')}/{environment}/{execution_id}"
