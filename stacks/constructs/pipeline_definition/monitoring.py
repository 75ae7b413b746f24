"""Model monitoring baselines (with ``monitoring.enabled``): the datasets, then one Model Monitor
baseline job per monitor type; the registration points the version's ``DriftCheckBaselines``
and ``ModelMetrics`` at their files (docs/monitoring.md).

Both datasets come from the held-out test split as the registered model answers it
(``ScoreTestSplit``'s output and ``PrepareTest``'s files), so the data-quality baseline has the
endpoint's answer columns first, as its captured traffic does
(:mod:`mlops.monitoring.baseline_data`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlops.monitoring.baseline_data import (
    DATA_QUALITY,
    MODEL_QUALITY,
    OUTPUT_DIR,
    PREDICTIONS_DIR,
    PREPARED_DIR,
)
from mlops.training.names import INFERENCE_OUTPUT, RunFolder, Step
from stacks.constructs.monitoring_baselines import IMAGE_PLACEHOLDER_NAME, baseline_step_args
from stacks.constructs.pipeline_definition.context import Context, placeholder
from stacks.constructs.pipeline_definition.evaluation import Prepared

DATASETS_MODULE = "mlops.monitoring.baseline_data"


@dataclass(frozen=True)
class Baselines:
    datasets: Any
    data_quality: Any
    model_quality: Any

    @property
    def steps(self) -> list[Any]:
        return [self.datasets, self.data_quality, self.model_quality]


def baseline_steps(
    ctx: Context, prepared: Prepared, transform: Any, instance_type: Any
) -> Baselines:
    """``MonitoringDatasets`` (our code), then ``DataQualityBaseline`` and
    ``ModelQualityBaseline`` (the Model Monitor container), on the preflight's processing type."""
    from sagemaker.processing import ProcessingInput, ProcessingOutput
    from sagemaker.workflow.steps import ProcessingStep

    datasets = ProcessingStep(
        name=Step.MONITORING_DATASETS,
        description="Test split as the model answers it -> the monitoring baselines' datasets",
        step_args=ctx.processor(instance_type, DATASETS_MODULE).run(
            inputs=[
                ctx.code_input,
                ProcessingInput(
                    source=transform.properties.TransformOutput.S3OutputPath,
                    destination=PREDICTIONS_DIR,
                    input_name="predictions",
                ),
                ProcessingInput(
                    source=prepared.features,
                    destination=PREPARED_DIR,
                    input_name="prepared",
                ),
            ],
            outputs=[
                ProcessingOutput(
                    output_name=kind,
                    source=f"{OUTPUT_DIR}/{kind}",
                    destination=ctx.run_path(RunFolder.MONITORING_DATASETS, kind),
                )
                for kind in (DATA_QUALITY, MODEL_QUALITY)
            ],
            arguments=["--output-columns", ",".join(INFERENCE_OUTPUT)],
        ),
    )
    outputs = datasets.properties.ProcessingOutputConfig.Outputs

    def baseline(name: str, kind: Any, dataset: str, folder: str) -> Any:
        return ProcessingStep(
            name=name,
            description=f"Model Monitor {kind.replace('_', '-')} baseline of the scored test split",
            step_args=baseline_step_args(
                kind,
                dataset=outputs[dataset].S3Output.S3Uri,
                destination=ctx.run_path(folder),
                role=ctx.role,
                image_uri=placeholder(IMAGE_PLACEHOLDER_NAME),
                instance_type=instance_type,
                kms_key=ctx.key,
                network_config=ctx.network,
                session=ctx.session,
                base_job_name=ctx.settings.name_prefix,
                tags=ctx.tags,
            ),
        )

    return Baselines(
        datasets=datasets,
        data_quality=baseline(
            Step.DATA_QUALITY_BASELINE,
            "data_quality",
            DATA_QUALITY,
            RunFolder.DATA_QUALITY_BASELINE,
        ),
        model_quality=baseline(
            Step.MODEL_QUALITY_BASELINE,
            "model_quality",
            MODEL_QUALITY,
            RunFolder.MODEL_QUALITY_BASELINE,
        ),
    )
