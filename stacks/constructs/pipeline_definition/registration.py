"""Register the evaluated model as a new version, with its metrics, reproducibility metadata and,
with monitoring, the drift baselines its endpoint's schedules will compare against."""

from __future__ import annotations

from typing import Any

from mlops.training.names import Step
from stacks.constructs.monitoring_baselines import drift_check_baselines, model_metrics_sources
from stacks.constructs.pipeline_definition.clarify import Bias
from stacks.constructs.pipeline_definition.context import Context
from stacks.constructs.pipeline_definition.data import Splits
from stacks.constructs.pipeline_definition.evaluation import Evaluated
from stacks.constructs.pipeline_definition.monitoring import Baselines


class Registration:
    """The ``RegisterModel`` request of a run: the scoring model (same image, artifacts and
    environment as evaluated), quality / bias / explainability reports, metadata, and with
    ``baselines`` the ``DriftCheckBaselines`` plus the matching ``ModelMetrics``."""

    def __init__(
        self,
        ctx: Context,
        *,
        model: Any,
        automl: Any,
        splits: Splits,
        evaluated: Evaluated,
        bias: Bias,
        baselines: Baselines | None = None,
    ) -> None:
        from sagemaker.model_metrics import MetricsSource, ModelMetrics
        from sagemaker.workflow.execution_variables import ExecutionVariables
        from sagemaker.workflow.functions import JsonGet

        self.ctx, self.model = ctx, model
        s, p = ctx.settings, ctx.parameters
        explainability = automl.properties.BestCandidateProperties.ExplainabilityJsonReportPath
        self.metrics = ModelMetrics(
            model_statistics=MetricsSource(s3_uri=evaluated.uri, content_type="application/json"),
            bias_pre_training=MetricsSource(
                s3_uri=bias.report_uri, content_type="application/json"
            ),
            explainability=MetricsSource(s3_uri=explainability, content_type="application/json"),
            **(
                model_metrics_sources(baselines.data_quality, baselines.model_quality)
                if baselines is not None
                else {}
            ),
        )
        self.drift_check_baselines = (
            drift_check_baselines(baselines.data_quality, baselines.model_quality)
            if baselines is not None
            else None
        )
        self.metadata = {
            "mlops:config-hash": s.config_hash,
            "mlops:code-version": s.code_version,
            "mlops:input-data": p.input_data_uri,
            "mlops:input-fingerprint": JsonGet(
                step_name=splits.last.name,
                property_file=splits.report,
                json_path="input.fingerprint",
            ),
            "mlops:split-seed": p.split_seed.to_string(),
            "mlops:automl-job": automl.properties.AutoMLJobName,
            "mlops:pipeline-execution": ExecutionVariables.PIPELINE_EXECUTION_ARN,
        }

    def step(self, name: str, status: str) -> Any:
        from sagemaker.workflow.model_step import ModelStep

        s = self.ctx.settings
        return ModelStep(
            name=name,
            step_args=self.model.register(
                content_types=["text/csv"],
                response_types=["text/csv"],
                inference_instances=[s.endpoint_instance_type],
                transform_instances=[s.transform_instance_type],
                model_package_group_name=s.model_package_group,
                approval_status=status,
                model_metrics=self.metrics,
                drift_check_baselines=self.drift_check_baselines,
                customer_metadata_properties=self.metadata,
                description=f"Autopilot best candidate ({s.environment}), scored on test",
            ),
        )


def check_f1_step(
    evaluated: Evaluated, threshold: float, *, if_steps: list[Any], else_steps: list[Any]
) -> Any:
    """Non-prod only: ``if_steps`` (register ``Approved``) when the test F1 reaches
    ``threshold``, else ``else_steps`` (pending). F1 is always a number in evaluation.json (0
    when undefined), so the comparison never meets null."""
    from sagemaker.workflow.condition_step import ConditionStep
    from sagemaker.workflow.conditions import ConditionGreaterThanOrEqualTo
    from sagemaker.workflow.functions import JsonGet

    f1: Any = JsonGet(
        step_name=evaluated.step.name,
        property_file=evaluated.report,
        json_path="binary_classification_metrics.f1.value",
    )
    return ConditionStep(
        name=Step.CHECK_F1,
        conditions=[ConditionGreaterThanOrEqualTo(left=f1, right=threshold)],
        if_steps=if_steps,
        else_steps=else_steps,
    )
