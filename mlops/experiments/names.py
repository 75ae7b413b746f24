"""Names shared by the Experiments stack (synth) and the runtime logic, defined once."""

from __future__ import annotations

from mlops.constants import resource_prefix


def mlflow_app_name(environment: str) -> str:
    """The environment's MLflow app (``AWS::SageMaker::MlflowApp`` ``Name``; its ARN carries a
    server-generated id instead, so the ARN is read from the stack or ListMlflowApps)."""
    return f"{resource_prefix(environment)}-experiments"


# Tag keys this platform sets on the runs it logs (MLflow tags, not AWS tags).
TAG_EXECUTION_ARN = "mlops.pipeline_execution_arn"
TAG_MODEL_PACKAGE_ARN = "mlops.model_package_arn"
TAG_STATUS = "mlops.pipeline_status"
TAG_SOURCE = "mlops.source"
TAG_ENVIRONMENT = "mlops.environment"
SOURCE_PIPELINE = "pipeline"
