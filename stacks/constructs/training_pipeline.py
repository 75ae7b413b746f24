"""The training pipeline: SageMaker Pipeline, its role, preflight Lambda, code asset, alerts.

The definition comes from :mod:`stacks.constructs.pipeline_definition` (SageMaker SDK, offline);
its placeholders become ``Fn::Sub`` variables here. Image URIs are per region: a CfnMapping
generated from the SDK's offline image tables keeps the stack environment-agnostic.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from mlops.constants import (
    MODELS_PREFIX,
    PIPELINES_PREFIX,
    RAW_PREFIX,
    TAG_ENVIRONMENT,
    model_package_group_name,
    resource_prefix,
)
from mlops.training.names import pipeline_name
from mlops.training.settings import PreflightSettings
from stacks.config import ConfigError, EnvironmentConfig
from stacks.constructs import monitoring_baselines, sagemaker_sdk
from stacks.constructs.experiments import ExperimentsResources
from stacks.constructs.mlops_package import MLOPS_DIR, mlops_bundling
from stacks.constructs.network import NETWORK_INTERFACES_REASON, NetworkResources
from stacks.constructs.pipeline_definition import (
    ROLE_PLACEHOLDER,
    PipelineSettings,
    build_definition,
    placeholder,
)
from stacks.constructs.python_function import PythonFunction
from stacks.data_stack import DataResources
from stacks.nag import acknowledge, acknowledge_inline_policy, arn_in_finding

SKLEARN_VERSION = "1.4-2"  # Python 3.10, numpy 2.1, pyarrow 17: what mlops.data needs
PIPELINE_STATUS_EVENT = "SageMaker Model Building Pipeline Execution Status Change"
ALERT_STATUSES = ("Failed", "Stopped", "Succeeded")


def image_mapping(*, monitoring: bool = False) -> dict[str, dict[str, str]]:
    """Region -> {Sklearn, Clarify[, ModelMonitor]} image URI, from the SDK's offline tables (no
    AWS call). With ``monitoring``, the Model Monitor image of each region that has one (a
    region without it has no ``ModelMonitor`` key: deploying there fails at ``Fn::FindInMap``)."""
    from sagemaker import image_uris as _image_uris

    image_uris: Any = _image_uris  # untyped in the SDK
    mapping: dict[str, dict[str, str]] = {}
    with sagemaker_sdk.one_endpoints_resolver():  # 70-odd retrieve calls: 3.5 s -> 0.03 s
        for region in image_uris.config_for_framework("sklearn")["training"]["versions"][
            SKLEARN_VERSION
        ]["registries"]:
            try:
                sklearn = image_uris.retrieve(
                    "sklearn", region=region, version=SKLEARN_VERSION, image_scope="training"
                )
                clarify = image_uris.retrieve("clarify", region=region)
            except ValueError:
                continue  # not offered in that region
            mapping[region] = {"Sklearn": sklearn, "Clarify": clarify}
    if monitoring:
        for region, images in monitoring_baselines.image_mapping().items():
            if region in mapping:
                mapping[region].update(images)
    return dict(sorted(mapping.items()))


def check_training_config(config: EnvironmentConfig) -> None:
    """Cross-field rules of the training config, refused at synth with one line each."""
    training = config.training
    path = f"environments.{config.name}"
    if training.auto_approve_f1_threshold is not None and not config.ephemeral:
        raise ConfigError(
            f"{path}.training.auto_approve_f1_threshold",
            training.auto_approve_f1_threshold,
            "auto-approval is allowed only in ephemeral (non-prod) environments",
        )
    if training.partition_instance_count > 1 and training.split_method == "ordered":
        raise ConfigError(
            f"{path}.training.partition_instance_count",
            training.partition_instance_count,
            "split_method 'ordered' needs every row on one instance: use 1, or another method",
        )
    if not config.registry.model_package_groups:
        raise ConfigError(
            f"{path}.registry.model_package_groups",
            [],
            "the training pipeline registers into the first group: configure one",
        )


def pipeline_settings(
    config: EnvironmentConfig,
    *,
    code_version: str,
    subnet_count: int = 0,
    security_group_count: int = 0,
    log_experiments: bool = False,
) -> PipelineSettings:
    """What the definition builders need from an environment's config."""
    training = config.training
    config_hash = hashlib.sha256(
        json.dumps(asdict(training), sort_keys=True, default=str).encode()
    ).hexdigest()[:16]
    return PipelineSettings(
        environment=config.name,
        name_prefix=resource_prefix(config.name),
        model_package_group=model_package_group_name(
            config.name, config.registry.model_package_groups[0].name
        ),
        target_column=training.target_column,
        objective_metric=training.objective_metric,
        split_method=training.split_method,
        split_ratios=training.split_ratios,
        split_seed=training.split_seed,
        split_key=training.split_key,
        split_order_by=training.split_order_by,
        drop_columns=",".join(training.drop_columns),
        positive_label=training.positive_label,
        bias_facet=training.bias_facet,
        max_candidates=training.max_candidates,
        max_runtime_per_training_job_seconds=training.max_runtime_per_training_job_seconds,
        max_automl_runtime_seconds=training.max_automl_runtime_seconds,
        processing_instance_type=training.processing_instance_type,
        transform_instance_type=training.transform_instance_type,
        automl_processing_instance_type=training.automl_processing_instance_type,
        automl_training_instance_type=training.automl_training_instance_type,
        automl_training_instances=training.automl_training_instances,
        partition_instance_count=training.partition_instance_count,
        partition_volume_size_gb=training.partition_volume_size_gb,
        endpoint_instance_type=config.deployment.instance_type,
        endpoint_instance_count=config.deployment.instance_count,
        auto_approve_f1_threshold=training.auto_approve_f1_threshold,
        monitoring_instance_type=(
            config.monitoring.instance_type if config.monitoring.enabled else None
        ),
        config_hash=config_hash,
        code_version=code_version,
        code_zip_name=f"{code_version}.zip",
        # Where `python -m mlops data generate --out s3://<data bucket>/raw/` writes rows.
        input_prefix=f"{RAW_PREFIX}transactions/",
        subnet_count=subnet_count,
        security_group_count=security_group_count,
        log_experiments=log_experiments,
    )


@dataclass(frozen=True)
class TrainingResources:
    pipeline_name: str
    role: iam.IRole


class TrainingPipeline(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        data: DataResources,
        network: NetworkResources | None,
        experiments: ExperimentsResources | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        sagemaker_sdk.ready()  # imported in the background by build_platform
        stack = cdk.Stack.of(self)
        training = config.training
        check_training_config(config)
        name = pipeline_name(config.name)

        # Code of the processing steps: the same mlops package the CLI and Lambdas use.
        self.code = s3_assets.Asset(
            self,
            "MlopsCode",
            path=str(MLOPS_DIR),
            asset_hash_type=cdk.AssetHashType.OUTPUT,
            bundling=mlops_bundling(),
        )
        settings = pipeline_settings(
            config,
            code_version=self.code.asset_hash,
            subnet_count=len(network.subnets) if network else 0,
            security_group_count=1 if network else 0,
            log_experiments=experiments is not None,
        )
        images = cdk.CfnMapping(
            self, "Images", mapping=image_mapping(monitoring=config.monitoring.enabled)
        )

        self.role = iam.Role(
            self,
            "ExecutionRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description=f"Runs the {config.name} training pipeline and the jobs it starts",
        )
        acknowledge_inline_policy(self.role)

        self.preflight = PythonFunction(
            self,
            "QuotaPreflight",
            handler_dir="quota_preflight",
            description="Training pipeline step: Service Quotas preflight",
            environment=PreflightSettings(
                fallback_instance_type=training.fallback_instance_type,
                request_quota_increase=training.request_quota_increase,
            ).to_environment(),
            log_key=data.key,
            log_retention_days=config.log_retention_days,
            timeout=cdk.Duration.minutes(5),
            no_dead_letter_queue_reason=(
                "Invoked synchronously by the SageMaker pipeline's Lambda step, which records "
                "the failure in the execution."
            ),
        )
        self._grant_preflight(stack)

        definition = build_definition(settings)
        variables: dict[str, str] = {
            "PipelineRoleArn": self.role.role_arn,
            "KeyArn": data.key.key_arn,
            "ArtifactsBucket": data.artifacts_bucket.bucket_name,
            "DataBucket": data.data_bucket.bucket_name,
            "CodeAssetBucket": self.code.s3_bucket_name,
            "CodeAssetKey": self.code.s3_object_key,
            "SklearnImageUri": images.find_in_map(cdk.Aws.REGION, "Sklearn"),
            "ClarifyImageUri": images.find_in_map(cdk.Aws.REGION, "Clarify"),
            "PreflightFunctionArn": self.preflight.function.function_arn,
        }
        if config.monitoring.enabled:
            variables[monitoring_baselines.IMAGE_PLACEHOLDER_NAME] = images.find_in_map(
                cdk.Aws.REGION, monitoring_baselines.IMAGE_KEY
            )
        if experiments:
            variables["ExperimentLoggerFunctionArn"] = experiments.logger_function_arn
        if network:
            for index, subnet in enumerate(network.subnets):
                variables[f"Subnet{index}"] = subnet.subnet_id
            variables["SecurityGroup0"] = network.workload_security_group.security_group_id
        missing = set(definition.variables) - set(variables)
        if missing:
            raise ValueError(f"pipeline definition placeholders without a value: {missing}")
        body = definition.body.replace(ROLE_PLACEHOLDER, placeholder("PipelineRoleArn"))
        for variable in definition.variables:
            body = body.replace(placeholder(variable), "${" + variable + "}")
        self.definition = definition

        self.pipeline = sagemaker.CfnPipeline(
            self,
            "Pipeline",
            pipeline_name=name,
            pipeline_display_name=name,
            pipeline_description=(
                f"{config.name}: quota preflight, partition, Autopilot, test-split evaluation, "
                "Clarify bias, "
                + ("monitoring baselines, " if config.monitoring.enabled else "")
                + "registration pending approval"
            ),
            role_arn=self.role.role_arn,
            pipeline_definition={
                "PipelineDefinitionBody": cdk.Fn.sub(
                    body, {k: v for k, v in variables.items() if k in definition.variables}
                )
            },
            tags=[cdk.CfnTag(key=TAG_ENVIRONMENT, value=config.name)],
        )
        self.pipeline.node.add_dependency(self.role)
        pipeline_arn = stack.format_arn(
            service="sagemaker", resource="pipeline", resource_name=name
        )
        self._grant_pipeline_role(stack, data, settings.model_package_group, network)
        if experiments:
            self.role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="InvokeExperimentLogger",
                    actions=["lambda:InvokeFunction"],
                    resources=[experiments.logger_function_arn],
                )
            )

        # Operability: every execution that ends, to the environment's topic.
        self.alerts = events.Rule(
            self,
            "ExecutionStatusRule",
            description=f"{name}: execution Failed, Stopped or Succeeded -> notifications",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=[PIPELINE_STATUS_EVENT],
                detail={
                    "pipelineArn": [pipeline_arn],
                    "currentPipelineExecutionStatus": list(ALERT_STATUSES),
                },
            ),
            targets=[targets.SnsTopic(data.notifications)],
        )
        acknowledge(
            self.alerts,
            "Serverless-EventBusDLQ",
            "Run notifications are informational; every execution's status and steps stay in "
            "SageMaker's execution history (and `python -m mlops pipeline watch`).",
        )
        self.resources = TrainingResources(pipeline_name=name, role=self.role)

    def _grant_preflight(self, stack: cdk.Stack) -> None:
        role = self.preflight.role
        arn = stack.format_arn
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadQuotas",
                actions=[
                    "servicequotas:ListServiceQuotas",
                    "servicequotas:ListAWSDefaultServiceQuotas",
                    "servicequotas:ListRequestedServiceQuotaChangeHistoryByQuota",
                    "sagemaker:ListProcessingJobs",
                    "sagemaker:ListTrainingJobs",
                    "sagemaker:ListTransformJobs",
                    "sagemaker:ListEndpoints",
                ],
                resources=["*"],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="RequestSageMakerQuotaIncrease",
                actions=["servicequotas:RequestServiceQuotaIncrease"],
                resources=[arn(service="servicequotas", resource="sagemaker", resource_name="*",
                               arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME)],
            )
        )  # fmt: skip
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="DescribeWhatHoldsInstances",
                actions=[
                    "sagemaker:DescribeProcessingJob",
                    "sagemaker:DescribeTrainingJob",
                    "sagemaker:DescribeTransformJob",
                    "sagemaker:DescribeEndpoint",
                    "sagemaker:DescribeEndpointConfig",
                ],
                resources=[
                    arn(service="sagemaker", resource=kind, resource_name="*")
                    for kind in (
                        "processing-job",
                        "training-job",
                        "transform-job",
                        "endpoint",
                        "endpoint-config",
                    )
                ],
            )
        )
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "Service Quotas List* and SageMaker List*Jobs/ListEndpoints have no resource-level "
            "permissions; the preflight counts every job and endpoint of the account.",
        )
        for finding in (
            f"AwsSolutions-IAM5[Resource::{arn_in_finding(stack, 'servicequotas', 'sagemaker/*')}]",
            *(
                f"AwsSolutions-IAM5[Resource::{arn_in_finding(stack, 'sagemaker', f'{kind}/*')}]"
                for kind in (
                    "processing-job",
                    "training-job",
                    "transform-job",
                    "endpoint",
                    "endpoint-config",
                )
            ),
        ):
            acknowledge(
                role,
                finding,
                "Current use counts all jobs and endpoints of the account (quotas are "
                "account-wide), and a quota code is only known at run time.",
            )

    def _grant_pipeline_role(
        self,
        stack: cdk.Stack,
        data: DataResources,
        group: str,
        network: NetworkResources | None,
    ) -> None:
        role = self.role
        arn = stack.format_arn
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="RunArtifacts",
                actions=["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
                resources=[
                    data.artifacts_bucket.arn_for_objects(f"{PIPELINES_PREFIX}*"),
                    data.artifacts_bucket.arn_for_objects(f"{MODELS_PREFIX}*"),
                ],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadInputData",
                actions=["s3:GetObject"],
                resources=[data.data_bucket.arn_for_objects("*")],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadCode",
                actions=["s3:GetObject"],
                resources=[self.code.bucket.arn_for_objects(self.code.s3_object_key)],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ListBuckets",
                actions=["s3:ListBucket"],
                resources=[
                    data.artifacts_bucket.bucket_arn,
                    data.data_bucket.bucket_arn,
                    self.code.bucket.bucket_arn,
                ],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="UseDataKey",
                actions=["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                resources=[data.key.key_arn],
            )
        )
        # Processing, transform and AutoML jobs set VolumeKmsKeyId.
        role.add_to_principal_policy(data.volume_key_grant("GrantVolumeKeyToSageMaker"))
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="InvokePreflight",
                actions=["lambda:InvokeFunction"],
                resources=[self.preflight.function.function_arn],
            )
        )
        job_kinds = ("processing-job", "training-job", "transform-job", "automl-job")
        job_arns = [
            arn(service="sagemaker", resource=kind, resource_name="*") for kind in job_kinds
        ]
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="RunJobs",
                actions=[
                    "sagemaker:CreateProcessingJob",
                    "sagemaker:DescribeProcessingJob",
                    "sagemaker:StopProcessingJob",
                    "sagemaker:CreateTrainingJob",
                    "sagemaker:DescribeTrainingJob",
                    "sagemaker:StopTrainingJob",
                    "sagemaker:CreateTransformJob",
                    "sagemaker:DescribeTransformJob",
                    "sagemaker:StopTransformJob",
                    "sagemaker:CreateAutoMLJob",
                    "sagemaker:DescribeAutoMLJob",
                    "sagemaker:StopAutoMLJob",
                    "sagemaker:AddTags",
                ],
                resources=job_arns,
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ScoringModelAndRegistration",
                actions=[
                    "sagemaker:CreateModel",
                    "sagemaker:DescribeModel",
                    "sagemaker:CreateModelPackage",
                    "sagemaker:DescribeModelPackage",
                    "sagemaker:AddTags",
                ],
                resources=[
                    arn(service="sagemaker", resource="model", resource_name="*"),
                    arn(service="sagemaker", resource="model-package-group", resource_name=group),
                    arn(service="sagemaker", resource="model-package", resource_name=f"{group}/*"),
                ],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ExperimentsAndLineage",
                actions=[
                    "sagemaker:CreateExperiment",
                    "sagemaker:CreateTrial",
                    "sagemaker:CreateTrialComponent",
                    "sagemaker:UpdateTrialComponent",
                    "sagemaker:AssociateTrialComponent",
                    "sagemaker:DescribeExperiment",
                    "sagemaker:DescribeTrial",
                    "sagemaker:DescribeTrialComponent",
                    "sagemaker:AddTags",
                ],
                resources=[
                    arn(service="sagemaker", resource=kind, resource_name="*")
                    for kind in ("experiment", "experiment-trial", "experiment-trial-component")
                ],
            )
        )
        self._grant_autopilot(stack)
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="PassOnlyThisRoleToSageMaker",
                actions=["iam:PassRole"],
                resources=[role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="JobLogs",
                actions=[
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:DescribeLogStreams",
                ],
                resources=[
                    arn(service="logs", resource="log-group", resource_name="/aws/sagemaker/*",
                        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME)
                ],
            )
        )  # fmt: skip
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="NoResourceLevelPermissions",
                actions=[
                    "cloudwatch:PutMetricData",
                    "ecr:GetAuthorizationToken",
                    # No resource types in the Service Authorization Reference: "*" only.
                    "sagemaker:ListCandidatesForAutoMLJob",
                ],
                resources=["*"],
            )
        )
        if network:
            # The network interfaces SageMaker creates for the jobs: in this VPC only.
            for statement in network.network_interface_statements(self):
                role.add_to_principal_policy(statement)
        for finding, reason in (
            (
                "AwsSolutions-IAM5[Resource::*]",
                "PutMetricData, ECR GetAuthorizationToken and ListCandidatesForAutoMLJob have "
                f"no resource-level permissions; {NETWORK_INTERFACES_REASON}.",
            ),
            *(
                (
                    "AwsSolutions-IAM5[Resource::"
                    f"{arn_in_finding(stack, 'sagemaker', f'{kind}/*')}]",
                    "Pipeline steps and Autopilot generate job, model and experiment names at run "
                    "time; scoped to this account, region and resource type.",
                )
                for kind in (
                    *job_kinds,
                    "model",
                    "experiment",
                    "experiment-trial",
                    "experiment-trial-component",
                )
            ),
            (
                f"AwsSolutions-IAM5[Resource::{arn_in_finding(stack, 'sagemaker', '')}"
                f"model-package/{group}/*]",
                "Versions of this environment's Model Package Group get numbers at run time.",
            ),
            (
                f"AwsSolutions-IAM5[Resource::{data.bucket_arn_in_finding('artifacts')}"
                f"/{PIPELINES_PREFIX}*]",
                "Pipeline runs read and write under pipelines/ of the artifacts bucket only.",
            ),
            (
                f"AwsSolutions-IAM5[Resource::{data.bucket_arn_in_finding('artifacts')}"
                f"/{MODELS_PREFIX}*]",
                "Autopilot writes model artifacts under models/, where endpoints read them.",
            ),
            (
                f"AwsSolutions-IAM5[Resource::{data.bucket_arn_in_finding('data')}/*]",
                "A run reads its input data (a parameter) from anywhere in the data bucket.",
            ),
            (
                f"AwsSolutions-IAM5[Resource::{arn_in_finding(stack, 'logs', '')}"
                "log-group:/aws/sagemaker/*]",
                "SageMaker writes job logs to /aws/sagemaker/<job kind> log groups.",
            ),
        ):
            acknowledge(role, finding, reason)

    def _grant_autopilot(self, stack: cdk.Stack) -> None:
        """What AWS lists for a role passed to CreateAutoMLJob ("CreateAutoMLJob and
        CreateAutoMLJobV2 API: Execution Role Permissions"): its candidate and explainability
        work creates, describes, invokes and deletes models, endpoint configs and endpoints,
        lists tags, and pulls SageMaker's images. Logs, metrics, S3, KMS and PassRole are
        granted above for every job."""
        role = self.role
        arn = stack.format_arn
        kinds = ("model", "endpoint-config", "endpoint")
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="AutopilotModelsAndEndpoints",
                actions=[
                    "sagemaker:CreateModel",
                    "sagemaker:DescribeModel",
                    "sagemaker:DeleteModel",
                    "sagemaker:CreateEndpointConfig",
                    "sagemaker:DescribeEndpointConfig",
                    "sagemaker:DeleteEndpointConfig",
                    "sagemaker:CreateEndpoint",
                    "sagemaker:DescribeEndpoint",
                    "sagemaker:DeleteEndpoint",
                    "sagemaker:InvokeEndpoint",
                    "sagemaker:ListTags",
                ],
                resources=[
                    arn(service="sagemaker", resource=kind, resource_name="*") for kind in kinds
                ],
            )
        )
        # Autopilot's names are generated at run time, so the grant above covers the account's
        # models and endpoints; the ones this platform deploys (mlops-<env>-...) stay out of it.
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="NeverDeleteDeployedEndpoints",
                effect=iam.Effect.DENY,
                actions=[
                    "sagemaker:DeleteModel",
                    "sagemaker:DeleteEndpointConfig",
                    "sagemaker:DeleteEndpoint",
                ],
                resources=[
                    arn(service="sagemaker", resource=kind, resource_name="mlops-*")
                    for kind in kinds
                ],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="PullSageMakerImages",
                actions=[
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchGetImage",
                ],
                # SageMaker's images live in AWS-owned accounts that differ per region and
                # algorithm: this region's repositories, any account.
                resources=[
                    arn(service="ecr", resource="repository", resource_name="*", account="*")
                ],
            )
        )
        for kind in ("endpoint-config", "endpoint"):
            acknowledge(
                role,
                f"AwsSolutions-IAM5[Resource::{arn_in_finding(stack, 'sagemaker', f'{kind}/*')}]",
                "Autopilot creates and deletes models, endpoint configs and endpoints with "
                "generated names (AWS: CreateAutoMLJob execution role permissions); this "
                "account and region only, this platform's mlops-* endpoints denied.",
            )
        images = arn_in_finding(stack, "ecr", "repository/*", account="*")
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::{images}]",
            "SageMaker's processing, Autopilot and inference images are in AWS-owned accounts "
            "that differ per region and algorithm; pull only, this region only.",
        )
