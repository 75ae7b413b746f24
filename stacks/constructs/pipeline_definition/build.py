"""Compose the step builders into one definition."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from mlops.training.names import PreflightOutput, Step
from stacks.constructs.pipeline_definition.automl import automl_step
from stacks.constructs.pipeline_definition.clarify import clarify_step
from stacks.constructs.pipeline_definition.context import (
    PLACEHOLDER_PREFIX,
    Context,
    Definition,
    PipelineSettings,
    placeholder,
)
from stacks.constructs.pipeline_definition.data import splits_steps
from stacks.constructs.pipeline_definition.evaluation import (
    evaluate_step,
    prepare_step,
    scoring_model,
    scoring_model_step,
    transform_step,
)
from stacks.constructs.pipeline_definition.experiments import ExperimentLogging
from stacks.constructs.pipeline_definition.gate import gate_step, preflight_step
from stacks.constructs.pipeline_definition.monitoring import baseline_steps
from stacks.constructs.pipeline_definition.registration import Registration, check_f1_step


def build_definition(settings: PipelineSettings) -> Definition:
    """The pipeline definition JSON (with placeholders) for ``settings``."""
    from sagemaker.workflow.pipeline import Pipeline

    ctx = Context(settings)
    preflight = preflight_step(ctx)
    # Later steps use the instance types the preflight chose (its fallback, if any).
    processing_type = preflight.properties.Outputs[PreflightOutput.PROCESSING_INSTANCE_TYPE]
    transform_type = preflight.properties.Outputs[PreflightOutput.TRANSFORM_INSTANCE_TYPE]

    splits = splits_steps(ctx, processing_type)
    automl = automl_step(ctx, splits)
    prepared = prepare_step(ctx, splits, processing_type)
    bias = clarify_step(ctx, splits, prepared, processing_type)
    model = scoring_model(ctx, automl)
    model_step = scoring_model_step(ctx, model, transform_type)
    transform = transform_step(ctx, model_step, prepared, transform_type)
    evaluated = evaluate_step(ctx, transform, prepared, processing_type)
    baselines = (
        baseline_steps(ctx, prepared, transform, processing_type)
        if settings.monitoring_instance_type is not None
        else None
    )
    registration = Registration(
        ctx,
        model=model,
        automl=automl,
        splits=splits,
        evaluated=evaluated,
        bias=bias,
        baselines=baselines,
    )

    logging = (
        ExperimentLogging(ctx, splits=splits, evaluated=evaluated, bias=bias, automl=automl)
        if settings.log_experiments
        else None
    )

    def registered(name: str, status: str, log_name: str) -> list[Any]:
        """The registration, then (with experiments) the run's logging step."""
        step = registration.step(name, status)
        return [step, logging.step(log_name, step)] if logging else [step]

    billing: list[Any] = [
        *splits.steps, automl, prepared.step, bias.step, model_step, transform, evaluated.step,
        *(baselines.steps if baselines is not None else []),
    ]  # fmt: skip
    steps: list[Any] = [preflight]
    pending = registered(Step.REGISTER, "PendingManualApproval", Step.LOG_EXPERIMENT)
    threshold = settings.auto_approve_f1_threshold
    if threshold is None:
        steps.append(gate_step(preflight, [*billing, *pending]))
    else:
        approved = registered(Step.REGISTER_APPROVED, "Approved", Step.LOG_EXPERIMENT_APPROVED)
        steps += [
            gate_step(preflight, billing),
            check_f1_step(evaluated, threshold, if_steps=approved, else_steps=pending),
        ]

    pipeline = Pipeline(
        name=placeholder("PipelineName"),
        parameters=ctx.parameters.all(),
        steps=steps,
        sagemaker_session=ctx.session,
    )
    body = pipeline.definition()
    if "${" in body:
        raise ValueError("the pipeline definition contains '${', which Fn::Sub would resolve")
    variables = tuple(sorted(set(_placeholders_in(body)), key=lambda n: (len(n), n)))
    names = tuple(step["Name"] for step in _all_steps(json.loads(body)["Steps"]))
    return Definition(body=body, variables=variables, step_names=names)


def _placeholders_in(body: str) -> list[str]:
    return re.findall(rf"{PLACEHOLDER_PREFIX}([A-Za-z0-9]+)", body)


def _all_steps(steps: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    found: list[Mapping[str, Any]] = []
    for step in steps:
        found.append(step)
        arguments = step.get("Arguments", {})
        if step.get("Type") == "Condition":
            found += _all_steps(arguments.get("IfSteps", []))
            found += _all_steps(arguments.get("ElseSteps", []))
    return found
