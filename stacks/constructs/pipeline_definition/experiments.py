"""Log the run to the environment's MLflow app: a Lambda step after registration.

The step calls the Experiments stack's run logger (``lambdas/experiment_logger``, logic in
:mod:`mlops.experiments.step`) with what only the pipeline knows at that point: every
parameter's value, the exact report URIs, the registered package, config hash and code
version. It runs outside the VPC, like every platform function, and never fails the run: an
unreachable app is reported in its ``status`` output. Runs that fail before it are logged from
their status event by the same function (docs/experiments.md).
"""

from __future__ import annotations

from typing import Any

from mlops.data.schema import SPLIT_REPORT
from mlops.training.names import pipeline_name
from stacks.constructs.pipeline_definition.clarify import Bias
from stacks.constructs.pipeline_definition.context import Context, placeholder
from stacks.constructs.pipeline_definition.data import Splits
from stacks.constructs.pipeline_definition.evaluation import Evaluated

# mlops.experiments.step: the logger's inputs carrying one pipeline parameter each.
PARAM_PREFIX = "param_"
OUTPUTS = ("status", "message", "run_id", "experiment_id")


class ExperimentLogging:
    """Builds the logging step of a registering branch (one per branch: a condition's branches
    cannot share a step, and no step may depend on a condition step)."""

    def __init__(
        self, ctx: Context, *, splits: Splits, evaluated: Evaluated, bias: Bias, automl: Any
    ) -> None:
        from sagemaker.workflow.execution_variables import ExecutionVariables
        from sagemaker.workflow.functions import Join

        s = ctx.settings
        self.ctx = ctx
        self.inputs: dict[str, Any] = {
            "pipeline_name": pipeline_name(s.environment),
            "execution_arn": ExecutionVariables.PIPELINE_EXECUTION_ARN,
            "environment": s.environment,
            "config_hash": s.config_hash,
            "code_version": s.code_version,
            **{f"{PARAM_PREFIX}{p.name}": p for p in ctx.parameters.all()},
            "evaluation_uri": evaluated.uri,
            "split_report_uri": Join(on="/", values=[splits.uri, SPLIT_REPORT]),
            "bias_report_uri": bias.report_uri,
            "explainability_report_uri": (
                automl.properties.BestCandidateProperties.ExplainabilityJsonReportPath
            ),
        }

    def step(self, name: str, registered: Any) -> Any:
        from sagemaker.lambda_helper import Lambda
        from sagemaker.workflow.lambda_step import LambdaOutput, LambdaOutputTypeEnum, LambdaStep

        return LambdaStep(
            name=name,
            description="Log this run (parameters, metrics, reports, version) to MLflow",
            lambda_func=Lambda(
                function_arn=placeholder("ExperimentLoggerFunctionArn"),
                session=self.ctx.session,
            ),
            inputs={**self.inputs, "model_package_arn": registered.properties.ModelPackageArn},
            outputs=[LambdaOutput(name, LambdaOutputTypeEnum.String) for name in OUTPUTS],
        )
