"""Autopilot (ensembling) on the train split, validated on the validation split."""

from __future__ import annotations

from typing import Any

from mlops.training.names import Step
from stacks.constructs.pipeline_definition.context import Context
from stacks.constructs.pipeline_definition.data import Splits


def automl_step(ctx: Context, splits: Splits) -> Any:
    """Capped in candidates and time, encrypted, in the VPC; ENSEMBLING is the mode the SDK's
    pipeline step supports. Output under models/, where the endpoints' role may read it."""
    from sagemaker.automl.automl import AutoML
    from sagemaker.automl.automl import AutoMLInput as _AutoMLInput
    from sagemaker.workflow.automl_step import AutoMLStep

    AutoMLInput: Any = _AutoMLInput  # untyped in the SDK
    p = ctx.parameters
    automl = AutoML(
        role=ctx.role,
        target_attribute_name=p.target,
        sagemaker_session=ctx.session,
        output_kms_key=ctx.key,
        output_path=ctx.models_path("automl"),
        base_job_name=ctx.settings.name_prefix,
        problem_type=p.problem_type,
        max_candidates=p.max_candidates,
        max_runtime_per_training_job_in_seconds=p.max_job_runtime,
        total_job_runtime_in_seconds=p.max_automl_runtime,
        job_objective={"MetricName": p.objective},
        volume_kms_key=ctx.key,
        encrypt_inter_container_traffic=True,
        vpc_config=ctx.vpc_config,
        mode="ENSEMBLING",
        tags=ctx.tags,
    )
    channels = [
        AutoMLInput(inputs=splits.split(split), target_attribute_name=p.target, channel_type=kind)
        for split, kind in (("train", "training"), ("validation", "validation"))
    ]
    return AutoMLStep(
        name=Step.AUTOML,
        description="Autopilot ensembling: several algorithms, tuned, best by the objective",
        step_args=automl.fit(inputs=channels),
    )
