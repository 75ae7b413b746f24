"""The quota gate: the preflight Lambda step, the condition on its verdict and the Fail step."""

from __future__ import annotations

from typing import Any

from mlops.training.names import PreflightOutput, Step
from stacks.constructs.pipeline_definition.context import Context, placeholder


def preflight_step(ctx: Context) -> Any:
    """Service Quotas against current use for everything this run and its deployment hold.
    Inputs are parameters and constants only, so it runs first: before anything that bills."""
    from sagemaker.lambda_helper import Lambda
    from sagemaker.workflow.lambda_step import LambdaOutput, LambdaOutputTypeEnum, LambdaStep

    s, p = ctx.settings, ctx.parameters
    text, boolean = LambdaOutputTypeEnum.String, LambdaOutputTypeEnum.Boolean
    return LambdaStep(
        name=Step.QUOTA_PREFLIGHT,
        description="Service Quotas vs current use for this run and its blue/green deployment",
        lambda_func=Lambda(function_arn=placeholder("PreflightFunctionArn"), session=ctx.session),
        inputs={
            "processing_instance_type": p.processing_type,
            "transform_instance_type": p.transform_type,
            "automl_processing_instance_type": p.automl_processing_type,
            "automl_training_instance_type": p.automl_training_type,
            "automl_training_instances": s.automl_training_instances,
            "partition_instance_count": s.partition_instance_count,
            "endpoint_instance_type": s.endpoint_instance_type,
            "endpoint_instance_count": s.endpoint_instance_count,
            # With monitoring: the baselines run, and the endpoint's schedules will hold one.
            **(
                {"monitoring_instance_type": s.monitoring_instance_type}
                if s.monitoring_instance_type is not None
                else {}
            ),
        },
        outputs=[
            LambdaOutput(PreflightOutput.PROCEED, boolean),
            LambdaOutput(PreflightOutput.VERDICT, text),
            LambdaOutput(PreflightOutput.MESSAGE, text),
            LambdaOutput(PreflightOutput.PROCESSING_INSTANCE_TYPE, text),
            LambdaOutput(PreflightOutput.TRANSFORM_INSTANCE_TYPE, text),
        ],
    )


def gate_step(preflight: Any, billing_steps: list[Any]) -> Any:
    """Every step that starts a job is in ``IfSteps``: they start only when the preflight
    says the run may proceed; otherwise ``QuotaShortage`` fails the run with its message.
    (No step may depend on a condition step: CreatePipeline rejects it,
    aws/sagemaker-python-sdk#3565, so gating is by branch membership only.)"""
    from sagemaker.workflow.condition_step import ConditionStep
    from sagemaker.workflow.conditions import ConditionEquals
    from sagemaker.workflow.fail_step import FailStep

    outputs = preflight.properties.Outputs
    shortage = FailStep(name=Step.QUOTA_SHORTAGE, error_message=outputs[PreflightOutput.MESSAGE])
    return ConditionStep(
        name=Step.CHECK_QUOTAS,
        conditions=[ConditionEquals(left=outputs[PreflightOutput.PROCEED], right=True)],
        if_steps=billing_steps,
        else_steps=[shortage],
    )
