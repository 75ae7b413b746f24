"""Training stack (stateless): the SageMaker Pipeline that trains, evaluates and registers."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from stacks.config import EnvironmentConfig
from stacks.constructs.experiments import ExperimentsResources
from stacks.constructs.network import NetworkResources
from stacks.constructs.training_pipeline import TrainingPipeline, TrainingResources
from stacks.data_stack import DataResources


class TrainingStack(cdk.Stack):
    """Partition -> quota preflight -> Autopilot -> test-split evaluation -> Clarify bias ->
    Model Registry version pending approval; plus run alerts to the notification topic."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        data: DataResources,
        network: NetworkResources | None,
        experiments: ExperimentsResources | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.training = TrainingPipeline(
            self, "Training", config=config, data=data, network=network, experiments=experiments
        )
        cdk.CfnOutput(self, "PipelineName", value=self.training.pipeline.pipeline_name)

    @property
    def resources(self) -> TrainingResources:
        return self.training.resources
