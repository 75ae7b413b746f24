"""The run logger's environment contract (``lambdas/experiment_logger``), written by the
Experiments construct and read back, validated, by the handler (see :mod:`mlops.environment`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mlops.environment import ENVIRONMENT_NAME_PATTERN, Variables

ENV_APP_ARN = "MLFLOW_APP_ARN"
ENV_ARTIFACTS_BUCKET = "ARTIFACTS_BUCKET"
ENV_ENVIRONMENT = "MLOPS_ENVIRONMENT"
# An MLflow app ARN (DescribeMlflowApp's Arn pattern in botocore's SageMaker model).
APP_ARN_PATTERN = r"arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:mlflow-app/.*"
# S3 bucket names: 3-63 lower-case letters, digits, dots and hyphens.
BUCKET_PATTERN = r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]"


@dataclass(frozen=True, kw_only=True)
class LoggerSettings:
    app_arn: str  # the environment's MLflow app
    artifacts_bucket: str  # where runs write their reports (mlops.training.names.run_folder)
    environment: str

    def to_environment(self) -> dict[str, str]:
        return {
            ENV_APP_ARN: self.app_arn,
            ENV_ARTIFACTS_BUCKET: self.artifacts_bucket,
            ENV_ENVIRONMENT: self.environment,
        }

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> LoggerSettings:
        variables = Variables(environ)
        return cls(
            app_arn=variables.text(ENV_APP_ARN, APP_ARN_PATTERN, allowed="an MLflow app ARN"),
            artifacts_bucket=variables.text(
                ENV_ARTIFACTS_BUCKET, BUCKET_PATTERN, allowed="an S3 bucket name"
            ),
            environment=variables.text(
                ENV_ENVIRONMENT, ENVIRONMENT_NAME_PATTERN, allowed="an environment name"
            ),
        )
