"""Score the best candidate on the held-out test split: prepare, model, transform, evaluate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlops.training.evaluation import EVALUATION_FILE
from mlops.training.names import INFERENCE_OUTPUT, RunFolder, Step
from stacks.constructs.pipeline_definition.context import Context
from stacks.constructs.pipeline_definition.data import Splits

EVALUATION_MODULE = "mlops.training.evaluation"


@dataclass(frozen=True)
class Prepared:
    step: Any
    features: Any  # s3 prefix holding features.csv and labels.csv
    clarify_config: Any  # s3 prefix holding analysis_config.json


def prepare_step(ctx: Context, splits: Splits, instance_type: Any) -> Prepared:
    """Test split -> headerless ``features.csv`` + ``labels.csv``, and this run's Clarify
    analysis config (its label is the run's target column)."""
    from sagemaker.processing import ProcessingInput, ProcessingOutput
    from sagemaker.workflow.steps import ProcessingStep

    s, p = ctx.settings, ctx.parameters
    step = ProcessingStep(
        name=Step.PREPARE_TEST,
        description="Test split -> headerless features + labels; Clarify's analysis config",
        step_args=ctx.processor(instance_type, EVALUATION_MODULE).run(
            inputs=[
                ctx.code_input,
                ProcessingInput(
                    source=splits.split("test"),
                    destination="/opt/ml/processing/input/test",
                    input_name="test",
                ),
            ],
            outputs=[
                ProcessingOutput(
                    output_name="features",
                    source="/opt/ml/processing/output",
                    destination=ctx.run_path(RunFolder.TEST_FEATURES),
                ),
                ProcessingOutput(
                    output_name="clarify",
                    source="/opt/ml/processing/clarify",
                    destination=ctx.run_path(RunFolder.CLARIFY_CONFIG),
                ),
            ],
            arguments=[
                "prepare",
                "--target", p.target,
                "--drop-columns", s.drop_columns,
                "--bias-facet", s.bias_facet,
                "--positive-label", s.positive_label,
            ],
        ),
    )  # fmt: skip
    outputs = step.properties.ProcessingOutputConfig.Outputs
    return Prepared(
        step=step,
        features=outputs["features"].S3Output.S3Uri,
        clarify_config=outputs["clarify"].S3Output.S3Uri,
    )


def scoring_model(ctx: Context, automl: Any) -> Any:
    """The best candidate's inference container as a Model, answering label and probability:
    used for the test-split transform and registered as it is."""
    from sagemaker.model import Model

    container = automl.properties.BestCandidate.InferenceContainers[0]
    environment = container.Environment
    return Model(
        image_uri=container.Image,
        model_data=container.ModelDataUrl,
        env={
            "MODEL_NAME": environment["MODEL_NAME"],
            "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv",
            "SAGEMAKER_SUBMIT_DIRECTORY": environment["SAGEMAKER_SUBMIT_DIRECTORY"],
            "SAGEMAKER_INFERENCE_SUPPORTED": environment["SAGEMAKER_INFERENCE_SUPPORTED"],
            # Label and its probability: evaluation needs both, and the registered model keeps
            # this environment, so the endpoint answers as the evaluated model did.
            "SAGEMAKER_INFERENCE_OUTPUT": ",".join(INFERENCE_OUTPUT),
            "SAGEMAKER_PROGRAM": environment["SAGEMAKER_PROGRAM"],
        },
        role=ctx.role,
        vpc_config=ctx.vpc_config,
        enable_network_isolation=False,
        sagemaker_session=ctx.session,
    )


def scoring_model_step(ctx: Context, model: Any, instance_type: Any) -> Any:
    from sagemaker.workflow.model_step import ModelStep

    return ModelStep(
        name=Step.SCORING_MODEL,
        step_args=model.create(instance_type=instance_type, tags=ctx.tags),
    )


def transform_step(ctx: Context, model_step: Any, prepared: Prepared, instance_type: Any) -> Any:
    """Batch transform of the best candidate on ``features.csv``, one line per record."""
    from sagemaker.transformer import Transformer
    from sagemaker.workflow.functions import Join
    from sagemaker.workflow.steps import TransformStep

    transformer = Transformer(
        model_name=model_step.properties.ModelName,
        instance_count=1,
        instance_type=instance_type,
        strategy="MultiRecord",
        assemble_with="Line",
        accept="text/csv",
        output_path=ctx.run_path(RunFolder.TEST_PREDICTIONS),
        output_kms_key=ctx.key,
        volume_kms_key=ctx.key,
        base_transform_job_name=ctx.settings.name_prefix,
        sagemaker_session=ctx.session,
        tags=ctx.tags,
    )
    return TransformStep(
        name=Step.SCORE_TEST_SPLIT,
        description="Batch transform of the best candidate on the held-out test split",
        step_args=transformer.transform(
            data=Join(on="/", values=[prepared.features, "features.csv"]),
            content_type="text/csv",
            split_type="Line",
        ),
    )


@dataclass(frozen=True)
class Evaluated:
    step: Any
    report: Any  # PropertyFile evaluation.json
    uri: Any  # s3 URI of evaluation.json


def evaluate_step(
    ctx: Context, transform: Any, prepared: Prepared, instance_type: Any
) -> Evaluated:
    """Precision, recall, F1, accuracy, ROC AUC, PR AUC and the confusion matrix."""
    from sagemaker.processing import ProcessingInput, ProcessingOutput
    from sagemaker.workflow.functions import Join
    from sagemaker.workflow.properties import PropertyFile
    from sagemaker.workflow.steps import ProcessingStep

    report = PropertyFile(
        name="EvaluationReport", output_name=RunFolder.EVALUATION, path=EVALUATION_FILE
    )
    step = ProcessingStep(
        name=Step.EVALUATE,
        description="Precision, recall, F1, ROC AUC, PR AUC, confusion matrix on the test split",
        step_args=ctx.processor(instance_type, EVALUATION_MODULE).run(
            inputs=[
                ctx.code_input,
                ProcessingInput(
                    source=transform.properties.TransformOutput.S3OutputPath,
                    destination="/opt/ml/processing/input/predictions",
                    input_name="predictions",
                ),
                ProcessingInput(
                    source=Join(on="/", values=[prepared.features, "labels.csv"]),
                    destination="/opt/ml/processing/input/labels",
                    input_name="labels",
                ),
            ],
            outputs=[
                ProcessingOutput(
                    output_name="evaluation",
                    source="/opt/ml/processing/evaluation",
                    destination=ctx.run_path(RunFolder.EVALUATION),
                )
            ],
            arguments=["score", "--positive-label", ctx.settings.positive_label],
        ),
        property_files=[report],
    )
    folder = step.properties.ProcessingOutputConfig.Outputs["evaluation"].S3Output.S3Uri
    return Evaluated(step=step, report=report, uri=Join(on="/", values=[folder, EVALUATION_FILE]))
