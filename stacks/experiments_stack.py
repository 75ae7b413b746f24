"""Experiments stack (stateless): the environment's MLflow app, its role and the run logger."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from stacks.config import EnvironmentConfig
from stacks.constructs.experiments import Experiments, ExperimentsResources
from stacks.data_stack import DataResources


class ExperimentsStack(cdk.Stack):
    """One serverless MLflow app shared by the environment's users and pipeline runs (artifacts
    under mlflow/ of the artifacts bucket, KMS-encrypted), and the function that logs every
    training pipeline run to it. Deleting the stack deletes the app and its run records; the
    artifacts stay with the artifacts bucket (docs/experiments.md)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        data: DataResources,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.experiments = Experiments(self, "Experiments", config=config, data=data)
        cdk.CfnOutput(self, "MlflowAppArn", value=self.experiments.app.attr_arn)
        cdk.CfnOutput(
            self, "RunLoggerFunctionArn", value=self.experiments.logger.function.function_arn
        )

    @property
    def resources(self) -> ExperimentsResources:
        return self.experiments.resources
