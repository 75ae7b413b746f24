"""A Lambda function for a thin handler in ``lambdas/<name>/``, with the shared ``mlops`` layer.

Every function of the platform is built here, so all get the same controls: their own
least-privilege role (no AWS managed policies), a KMS-encrypted log group with retention,
X-Ray tracing, ARM64, explicit memory and timeout, and the ``mlops`` package as a layer.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.constructs.mlops_package import IGNORED, MLOPS_DIR, ROOT, mlops_bundling
from stacks.nag import acknowledge, acknowledge_inline_policy, acknowledge_lambda_controls

RUNTIME = lambda_.Runtime.PYTHON_3_14


class MlopsLayer(Construct):
    """The shared logic package, once per stack, for every function in it."""

    @staticmethod
    def of(stack: cdk.Stack) -> lambda_.LayerVersion:
        existing = stack.node.try_find_child("MlopsLayer")
        if isinstance(existing, MlopsLayer):
            return existing.layer
        return MlopsLayer(stack, "MlopsLayer").layer

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            description="mlops: the platform's shared logic (deploy, quotas, teardown)",
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[lambda_.Architecture.ARM_64],
            code=lambda_.Code.from_asset(
                str(MLOPS_DIR),
                asset_hash_type=cdk.AssetHashType.OUTPUT,
                bundling=mlops_bundling("python"),
            ),
        )


class PythonFunction(Construct):
    """``lambdas/<handler_dir>/handler.py:handler`` as a Lambda function.

    Grant the function what its code calls on ``self.role`` (or ``self.function``); nothing is
    granted by default beyond writing its own logs and traces. A function invoked
    asynchronously needs ``dead_letter_queue``; one invoked only synchronously (SQS event
    source, custom resource provider, pipeline step) says so in ``no_dead_letter_queue_reason``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler_dir: str,
        description: str,
        environment: dict[str, str],
        log_key: kms.IKey,
        log_retention_days: int,
        timeout: cdk.Duration | None = None,
        memory_size: int = 256,
        dead_letter_queue: sqs.IQueue | None = None,
        no_dead_letter_queue_reason: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        code_dir = ROOT / "lambdas" / handler_dir
        if not (code_dir / "handler.py").is_file():
            raise ValueError(f"no handler at {code_dir}/handler.py")

        self.log_group = logs.LogGroup(
            self,
            "Logs",
            encryption_key=log_key,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        # The L2 takes an enum; the config holds CloudWatch's day count (already validated).
        log_group_resource = self.log_group.node.default_child
        assert isinstance(log_group_resource, logs.CfnLogGroup)
        log_group_resource.retention_in_days = log_retention_days
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Runs {handler_dir}: {description}",
        )
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            description=description,
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler="handler.handler",
            code=lambda_.Code.from_asset(str(code_dir), exclude=list(IGNORED)),
            layers=[MlopsLayer.of(cdk.Stack.of(self))],
            role=self.role,
            timeout=timeout or cdk.Duration.minutes(1),
            memory_size=memory_size,
            environment=environment,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            dead_letter_queue=dead_letter_queue,
        )
        if dead_letter_queue is None:
            if not no_dead_letter_queue_reason:
                raise ValueError(f"{construct_id}: give a dead_letter_queue or the reason for none")
            acknowledge(self.function, "Serverless-LambdaDLQ", no_dead_letter_queue_reason)
        acknowledge_lambda_controls(
            self.function,
            no_dead_letter_queue=no_dead_letter_queue_reason if dead_letter_queue is None else None,
        )
        acknowledge_inline_policy(self.role)
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray PutTraceSegments/PutTelemetryRecords have no resource-level permissions.",
        )
