"""The shared Studio domain: VPC-only, IAM auth, KMS, idle shutdown; its users; their role.

The execution role is least privilege for this environment only: its two buckets, its KMS key,
its model package groups (by name), its pipelines, jobs, models and endpoints (by the
``resource_prefix(env)`` name prefix followed by ``-``, so ``dev`` never matches ``dev2``), and
this domain's apps and spaces. Read-only calls that
have no resource-level permissions (List*, Search) are the only ones on ``*``, each listed
explicitly. No AWS managed policy (``AmazonSageMakerFullAccess`` would grant every bucket named
``*sagemaker*`` and every SageMaker resource of the account); see docs/security.md.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from mlops.constants import STUDIO_SHARING_PREFIX, model_package_group_name, resource_prefix
from stacks.config import EnvironmentConfig, UserProfileConfig
from stacks.constructs.experiments import APP_API_ACTION, MLFLOW_ACTIONS, ExperimentsResources
from stacks.constructs.network import NetworkResources
from stacks.data_stack import DataResources
from stacks.nag import acknowledge, acknowledge_inline_policy, arn_in_finding

# Read-only SageMaker calls without resource-level permissions (Studio UI, SDK, CLI).
_LIST_ACTIONS = [
    "sagemaker:ListApps",
    "sagemaker:ListSpaces",
    "sagemaker:ListUserProfiles",
    "sagemaker:ListDomains",
    "sagemaker:ListPipelines",
    "sagemaker:ListModelPackageGroups",
    "sagemaker:ListModelPackages",
    "sagemaker:ListEndpoints",
    "sagemaker:ListEndpointConfigs",
    "sagemaker:ListModels",
    "sagemaker:ListTrainingJobs",
    "sagemaker:ListProcessingJobs",
    "sagemaker:ListTransformJobs",
    "sagemaker:ListAutoMLJobs",
    "sagemaker:ListCandidatesForAutoMLJob",
    "sagemaker:ListExperiments",
    "sagemaker:ListTrials",
    "sagemaker:ListTrialComponents",
    "sagemaker:ListImages",
    "sagemaker:ListStudioLifecycleConfigs",
    "sagemaker:Search",
    "sagemaker:GetSearchSuggestions",
    "sagemaker:QueryLineage",
]
# Runs of this environment (pipelines and the jobs/experiments they start), by name prefix.
_RUN_ACTIONS = [
    "sagemaker:AddTags",
    "sagemaker:ListTags",
    "sagemaker:DescribePipeline",
    "sagemaker:DescribePipelineDefinitionForExecution",
    "sagemaker:DescribePipelineExecution",
    "sagemaker:ListPipelineExecutions",
    "sagemaker:ListPipelineExecutionSteps",
    "sagemaker:ListPipelineParametersForExecution",
    "sagemaker:StartPipelineExecution",
    "sagemaker:StopPipelineExecution",
    "sagemaker:RetryPipelineExecution",
    "sagemaker:CreateProcessingJob",
    "sagemaker:DescribeProcessingJob",
    "sagemaker:StopProcessingJob",
    "sagemaker:CreateTrainingJob",
    "sagemaker:DescribeTrainingJob",
    "sagemaker:StopTrainingJob",
    "sagemaker:CreateTransformJob",
    "sagemaker:DescribeTransformJob",
    "sagemaker:StopTransformJob",
    "sagemaker:CreateAutoMLJobV2",
    "sagemaker:DescribeAutoMLJob",
    "sagemaker:DescribeAutoMLJobV2",
    "sagemaker:StopAutoMLJob",
    "sagemaker:CreateExperiment",
    "sagemaker:DescribeExperiment",
    "sagemaker:CreateTrial",
    "sagemaker:DescribeTrial",
    "sagemaker:CreateTrialComponent",
    "sagemaker:DescribeTrialComponent",
    "sagemaker:UpdateTrialComponent",
    "sagemaker:AssociateTrialComponent",
    "sagemaker:BatchPutMetrics",
    "sagemaker:DescribeModel",
    "sagemaker:DescribeEndpointConfig",
    "sagemaker:DescribeEndpoint",
    "sagemaker:InvokeEndpoint",
]
# A pipeline execution's ARN is pipeline/<name>/execution/<id>: covered by "pipeline".
_RUN_RESOURCE_TYPES = (
    "pipeline",
    "processing-job",
    "training-job",
    "transform-job",
    "automl-job",
    "experiment",
    "experiment-trial",
    "experiment-trial-component",
    "model",
    "endpoint-config",
    "endpoint",
)
# The registry: register versions, read them, approve or reject them (which deploys).
_REGISTRY_ACTIONS = [
    "sagemaker:CreateModelPackage",
    "sagemaker:DescribeModelPackage",
    "sagemaker:DescribeModelPackageGroup",
    "sagemaker:UpdateModelPackage",
    "sagemaker:BatchDescribeModelPackage",
    "sagemaker:AddTags",
    "sagemaker:ListTags",
]
# Studio itself: the web UI and the apps act with the execution role inside this domain.
_STUDIO_ACTIONS = [
    "sagemaker:DescribeDomain",
    "sagemaker:DescribeUserProfile",
    "sagemaker:CreateApp",
    "sagemaker:DeleteApp",
    "sagemaker:DescribeApp",
    "sagemaker:CreateSpace",
    "sagemaker:UpdateSpace",
    "sagemaker:DeleteSpace",
    "sagemaker:DescribeSpace",
    "sagemaker:AddTags",
    "sagemaker:ListTags",
]


class StudioDomain(Construct):
    """One Studio domain per environment, the execution role, and one profile per user."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        data: DataResources,
        network: NetworkResources,
        experiments: ExperimentsResources | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.domain_name = f"{resource_prefix(config.name)}-studio"
        security_group_ids = [network.workload_security_group.security_group_id]

        self.execution_role = iam.Role(
            self,
            "ExecutionRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description=f"Studio users and jobs of the {config.name} fraud MLOps environment",
            max_session_duration=cdk.Duration.hours(12),
        )
        idle = config.studio.idle_shutdown_minutes
        idle_settings = sagemaker.CfnDomain.AppLifecycleManagementProperty(
            idle_settings=sagemaker.CfnDomain.IdleSettingsProperty(
                lifecycle_management="ENABLED",
                idle_timeout_in_minutes=idle,
                min_idle_timeout_in_minutes=60,
                max_idle_timeout_in_minutes=idle,  # users may shorten it, never lengthen it
            )
        )
        self.domain = sagemaker.CfnDomain(
            self,
            "Domain",
            domain_name=self.domain_name,
            auth_mode="IAM",
            app_network_access_type="VpcOnly",
            vpc_id=network.vpc.vpc_id,
            subnet_ids=[subnet.subnet_id for subnet in network.subnets],
            kms_key_id=data.key.key_arn,
            # Jobs and apps started from Studio carry the domain's tags (teardown finds them).
            tag_propagation="ENABLED",
            default_user_settings=sagemaker.CfnDomain.UserSettingsProperty(
                execution_role=self.execution_role.role_arn,
                security_groups=security_group_ids,
                studio_web_portal="ENABLED",
                default_landing_uri="studio::",
                sharing_settings=sagemaker.CfnDomain.SharingSettingsProperty(
                    notebook_output_option="Allowed",
                    s3_output_path=data.artifacts_bucket.s3_url_for_object(
                        STUDIO_SHARING_PREFIX.rstrip("/")
                    ),
                    s3_kms_key_id=data.key.key_arn,
                ),
                jupyter_lab_app_settings=sagemaker.CfnDomain.JupyterLabAppSettingsProperty(
                    app_lifecycle_management=idle_settings
                ),
                code_editor_app_settings=sagemaker.CfnDomain.CodeEditorAppSettingsProperty(
                    app_lifecycle_management=idle_settings
                ),
            ),
            # Shared spaces: SageMaker's DefaultSpaceSettings take JupyterLab app settings only
            # (no Code Editor), so shared Code Editor apps rely on the scheduled clean-up.
            default_space_settings=sagemaker.CfnDomain.DefaultSpaceSettingsProperty(
                execution_role=self.execution_role.role_arn,
                security_groups=security_group_ids,
                jupyter_lab_app_settings=sagemaker.CfnDomain.JupyterLabAppSettingsProperty(
                    app_lifecycle_management=idle_settings
                ),
            ),
        )
        self.profiles = [
            self._profile(user, security_group_ids) for user in config.studio.user_profiles
        ]
        self._grant_execution_role(config, data, network, stack)
        if experiments is not None:
            self._grant_mlflow_app(experiments)

    def _grant_mlflow_app(self, experiments: ExperimentsResources) -> None:
        """Users may use this environment's MLflow app, and no other: every MLflow action (listed),
        the app's UI (presigned URL) and description, on this one app's ARN (Service
        Authorization Reference: ``mlflow-app/${MLflowAppId}``; docs/experiments.md)."""
        self.mlflow_policy = iam.Policy(
            self,
            "MlflowAppPolicy",
            roles=[self.execution_role],
            statements=[
                iam.PolicyStatement(
                    sid="ThisEnvironmentsMlflowAppOnly",
                    actions=[
                        APP_API_ACTION,
                        "sagemaker:DescribeMlflowApp",
                        "sagemaker:CreatePresignedMlflowAppUrl",
                        *MLFLOW_ACTIONS,
                    ],
                    resources=[experiments.app_arn],
                ),
                iam.PolicyStatement(
                    sid="FindTheApp",  # ListMlflowApps has no resource-level permissions
                    actions=["sagemaker:ListMlflowApps"],
                    resources=["*"],
                ),
            ],
        )
        acknowledge_inline_policy(self.mlflow_policy)
        acknowledge(
            self.mlflow_policy,
            "AwsSolutions-IAM5[Resource::*]",
            "sagemaker:ListMlflowApps has no resource-level permissions (it lists names and "
            "ARNs; using an app needs the app-scoped statement).",
        )

    def _profile(
        self, user: UserProfileConfig, security_group_ids: list[str]
    ) -> sagemaker.CfnUserProfile:
        jupyter_lab = (
            sagemaker.CfnUserProfile.JupyterLabAppSettingsProperty(
                default_resource_spec=sagemaker.CfnUserProfile.ResourceSpecProperty(
                    instance_type=user.instance_type
                )
            )
            if user.instance_type
            else None
        )
        return sagemaker.CfnUserProfile(
            self,
            f"User-{user.name}",
            domain_id=self.domain.attr_domain_id,
            user_profile_name=user.name,
            user_settings=sagemaker.CfnUserProfile.UserSettingsProperty(
                execution_role=self.execution_role.role_arn,
                security_groups=security_group_ids,
                jupyter_lab_app_settings=jupyter_lab,
            ),
        )

    def _grant_execution_role(
        self,
        config: EnvironmentConfig,
        data: DataResources,
        network: NetworkResources,
        stack: cdk.Stack,
    ) -> None:
        prefix = resource_prefix(config.name)
        region, account, partition = stack.region, stack.account, stack.partition
        sagemaker_arn = f"arn:{partition}:sagemaker:{region}:{account}"
        domain_id = self.domain.attr_domain_id
        buckets = (data.data_bucket, data.artifacts_bucket)
        groups = [
            model_package_group_name(config.name, g.name)
            for g in config.registry.model_package_groups
        ]
        statements = [
            iam.PolicyStatement(
                sid="ListEnvironmentBuckets",
                actions=["s3:ListBucket", "s3:GetBucketLocation"],
                resources=[bucket.bucket_arn for bucket in buckets],
            ),
            iam.PolicyStatement(
                sid="ReadWriteEnvironmentObjects",
                actions=[
                    "s3:GetObject",
                    "s3:PutObject",
                    "s3:DeleteObject",
                    "s3:AbortMultipartUpload",
                ],
                resources=[bucket.arn_for_objects("*") for bucket in buckets],
            ),
            iam.PolicyStatement(
                sid="UseEnvironmentKey",
                actions=[
                    "kms:Decrypt",
                    "kms:Encrypt",
                    "kms:GenerateDataKey",
                    "kms:DescribeKey",
                ],
                resources=[data.key.key_arn],
            ),
            data.volume_key_grant("KeyGrantsForSageMakerVolumes"),
            iam.PolicyStatement(
                sid="ReadOnlyCallsWithoutResourceLevelPermissions",
                actions=_LIST_ACTIONS,
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="EnvironmentRunsByNamePrefix",
                actions=_RUN_ACTIONS,
                resources=[f"{sagemaker_arn}:{kind}/{prefix}-*" for kind in _RUN_RESOURCE_TYPES],
            ),
            iam.PolicyStatement(
                sid="EnvironmentModelPackageGroups",
                actions=_REGISTRY_ACTIONS,
                resources=[
                    arn
                    for name in groups
                    for arn in (
                        f"{sagemaker_arn}:model-package-group/{name}",
                        f"{sagemaker_arn}:model-package/{name}/*",
                    )
                ],
            ),
            iam.PolicyStatement(
                sid="ThisDomainOnly",
                actions=_STUDIO_ACTIONS,
                resources=[
                    f"{sagemaker_arn}:domain/{domain_id}",
                    f"{sagemaker_arn}:user-profile/{domain_id}/*",
                    f"{sagemaker_arn}:app/{domain_id}/*",
                    f"{sagemaker_arn}:space/{domain_id}/*",
                ],
            ),
            iam.PolicyStatement(
                sid="PassThisRoleToSageMakerOnly",
                actions=["iam:PassRole"],
                resources=[self.execution_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            ),
            iam.PolicyStatement(
                sid="SageMakerLogs",
                actions=[
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:DescribeLogStreams",
                    "logs:GetLogEvents",
                ],
                resources=[f"arn:{partition}:logs:{region}:{account}:log-group:/aws/sagemaker/*"],
            ),
            iam.PolicyStatement(
                sid="SageMakerMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/*"]}},
            ),
            # Jobs users start with this role pull their (AWS-owned) images as the role
            # ("CreateTrainingJob API: Execution Role Permissions", sagemaker-roles.html).
            iam.PolicyStatement(
                sid="PullSageMakerImages",
                actions=[
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                ],
                resources=[f"arn:{partition}:ecr:{region}:*:repository/*"],
            ),
            iam.PolicyStatement(
                sid="EcrLogin", actions=["ecr:GetAuthorizationToken"], resources=["*"]
            ),
            *network.network_interface_statements(self),
            iam.PolicyStatement(
                sid="ReadSageMakerQuotas",
                actions=[
                    "servicequotas:GetServiceQuota",
                    "servicequotas:GetAWSDefaultServiceQuota",
                    "servicequotas:ListServiceQuotas",
                    "servicequotas:ListAWSDefaultServiceQuotas",
                    "servicequotas:ListRequestedServiceQuotaChangeHistoryByQuota",
                ],
                resources=["*"],
            ),
        ]
        # A separate policy: it names the domain, and the domain names the role.
        self.execution_policy = iam.Policy(
            self, "ExecutionPolicy", statements=statements, roles=[self.execution_role]
        )
        acknowledge_inline_policy(self.execution_policy)
        self._acknowledge_scoped_wildcards(config, data, stack)

    def _acknowledge_scoped_wildcards(
        self, config: EnvironmentConfig, data: DataResources, stack: cdk.Stack
    ) -> None:
        """One acknowledgment per wildcard resource, each saying what it is scoped to."""
        prefix = resource_prefix(config.name)
        sagemaker_arn = arn_in_finding(stack, "sagemaker", "").removesuffix(":")
        domain_ref = f"<{stack.resolve(stack.get_logical_id(self.domain))}.DomainId>"
        findings = {
            "*": "Only List*/Search/QueryLineage, EC2 Describe*, Service Quotas reads, "
            "ecr:GetAuthorizationToken and cloudwatch:PutMetricData (namespace-conditioned): "
            "none of them has resource-level permissions.",
            arn_in_finding(stack, "ecr", "repository/*", account="*"): "Pulls only, of the "
            "AWS-owned SageMaker images the jobs users start run (accounts differ by region).",
            f"{data.bucket_arn_in_finding('data')}/*": "Objects of this environment's data "
            "bucket (raw data, splits).",
            f"{data.bucket_arn_in_finding('artifacts')}/*": "Objects of this environment's "
            "artifacts bucket (models, reports, Studio sharing).",
            f"{arn_in_finding(stack, 'logs', '')}log-group:/aws/sagemaker/*": "SageMaker's own "
            "log groups (jobs, endpoints, Studio apps).",
        }
        for kind in _RUN_RESOURCE_TYPES:
            findings[f"{sagemaker_arn}:{kind}/{prefix}-*"] = (
                f"{kind} resources of this environment only: names start with '{prefix}-'."
            )
        for group in config.registry.model_package_groups:
            name = model_package_group_name(config.name, group.name)
            findings[f"{sagemaker_arn}:model-package/{name}/*"] = (
                f"Versions of this environment's model package group {name!r}."
            )
        for kind in ("user-profile", "app", "space"):
            findings[f"{sagemaker_arn}:{kind}/{domain_ref}/*"] = (
                f"{kind}s of this environment's domain only (names chosen by users)."
            )
        for resource, reason in findings.items():
            acknowledge(self.execution_policy, f"AwsSolutions-IAM5[Resource::{resource}]", reason)
