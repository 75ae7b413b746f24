"""Clarify: pre-training data bias of the train split for the configured facet."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlops.training.names import CLARIFY_REPORT, RunFolder, Step
from stacks.constructs.pipeline_definition.context import Context
from stacks.constructs.pipeline_definition.data import Splits
from stacks.constructs.pipeline_definition.evaluation import Prepared


@dataclass(frozen=True)
class Bias:
    step: Any
    report_uri: Any  # s3 URI of analysis.json


def clarify_step(ctx: Context, splits: Splits, prepared: Prepared, instance_type: Any) -> Bias:
    """The Clarify container reads ``analysis_config.json`` from the input named
    ``analysis_config`` at ``/opt/ml/processing/input/config`` and the data from ``dataset`` at
    ``/opt/ml/processing/input/data``; it writes ``analysis.json`` and its report to the output
    ``analysis_result`` (AWS: "Configure a SageMaker Clarify Processing Job"). The SDK's
    ClarifyCheckStep uploads its config while the definition is built (not offline) and a CDK
    asset's object is named by its hash, so PrepareTest writes the config under that name."""
    from sagemaker.processing import ProcessingInput, ProcessingOutput
    from sagemaker.workflow.functions import Join
    from sagemaker.workflow.steps import ProcessingStep

    clarify = ctx.processor(instance_type, image="ClarifyImageUri")
    step = ProcessingStep(
        name=Step.CLARIFY_BIAS,
        description=f"Pre-training bias of the train split for facet {ctx.settings.bias_facet}",
        step_args=clarify.run(
            inputs=[
                ProcessingInput(
                    source=prepared.clarify_config,
                    destination="/opt/ml/processing/input/config",
                    input_name="analysis_config",
                ),
                ProcessingInput(
                    source=splits.split("train"),
                    destination="/opt/ml/processing/input/data",
                    input_name="dataset",
                ),
            ],
            outputs=[
                ProcessingOutput(
                    output_name="analysis_result",
                    source="/opt/ml/processing/output",
                    destination=ctx.run_path(RunFolder.CLARIFY_BIAS),
                )
            ],
        ),
    )
    folder = step.properties.ProcessingOutputConfig.Outputs["analysis_result"].S3Output.S3Uri
    return Bias(step=step, report_uri=Join(on="/", values=[folder, CLARIFY_REPORT]))
