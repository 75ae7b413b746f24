"""Teardown stack: the scheduled clean-up of idle and expired resources (stateless)."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from stacks.config import EnvironmentConfig
from stacks.constructs.scheduled_cleanup import ScheduledCleanup
from stacks.data_stack import DataResources


class TeardownStack(cdk.Stack):
    """Composes the scheduled clean-up; its report goes to the Data stack's topic.

    The ``cdk destroy`` clean-up of endpoints lives in the Deployment stack (EndpointCleanup),
    next to the Lambda that creates them, so it runs when that stack is deleted.
    """

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
        self.cleanup = ScheduledCleanup(self, "ScheduledCleanup", config=config, data=data)
        cdk.CfnOutput(
            self, "CleanupFunctionName", value=self.cleanup.function.function.function_name
        )
        cdk.CfnOutput(
            self, "CleanupDeadLetterQueueUrl", value=self.cleanup.dead_letter_queue.queue_url
        )
