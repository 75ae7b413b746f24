"""The role SageMaker assumes to run a deployed model (the ``ExecutionRoleArn`` of CreateModel).

Least privilege: read model artifacts under ``models/`` of the artifacts bucket, write data
capture under ``data-capture/``, use the environment's key for both, pull the (AWS-owned)
inference images, write the endpoint's logs and metrics, and let SageMaker create the
containers' network interfaces in the environment's VPC (the models run there).

What SageMaker needs from this role is documented in "CreateModel API: Execution Role
Permissions" (https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html), including
``logs:DescribeLogStreams``; deployment guardrails add ``cloudwatch:DescribeAlarms`` on the
auto-rollback alarms for "your IAM execution role"
(https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-configuration.html),
which may mean this role or the caller of UpdateEndpoint: both have it (docs/security.md).
tests/security/test_service_roles.py checks each documented need against this role.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from mlops.constants import DATA_CAPTURE_PREFIX, MODELS_PREFIX, resource_prefix
from stacks.constructs.network import NETWORK_INTERFACES_REASON, NetworkResources
from stacks.data_stack import DataResources
from stacks.nag import acknowledge, acknowledge_inline_policy, arn_in_finding


class ModelExecutionRole(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: str,
        data: DataResources,
        network: NetworkResources,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description=f"Runs the {environment} fraud models on SageMaker endpoints",
        )
        acknowledge_inline_policy(self.role)
        models = data.artifacts_bucket.arn_for_objects(f"{MODELS_PREFIX}*")
        capture = data.artifacts_bucket.arn_for_objects(f"{DATA_CAPTURE_PREFIX}*")
        self.role.add_to_policy(
            iam.PolicyStatement(sid="ReadModels", actions=["s3:GetObject"], resources=[models])
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteDataCapture", actions=["s3:PutObject"], resources=[capture]
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="UseDataKey",
                actions=["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                resources=[data.key.key_arn],
            )
        )
        for prefix, reason in (
            (MODELS_PREFIX, "Reads model artifacts under models/ of the artifacts bucket only."),
            (
                DATA_CAPTURE_PREFIX,
                "Writes data capture under data-capture/ of the artifacts bucket.",
            ),
        ):
            acknowledge(
                self.role,
                f"AwsSolutions-IAM5[Resource::{data.bucket_arn_in_finding('artifacts')}/{prefix}*]",
                reason,
            )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="PullInferenceImages",
                actions=[
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                ],
                resources=[f"arn:{stack.partition}:ecr:{stack.region}:*:repository/*"],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="EcrLogin", actions=["ecr:GetAuthorizationToken"], resources=["*"]
            )
        )
        # SageMaker creates the endpoint's log group and streams (names end with the variant).
        log_group = (
            f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:"
            f"/aws/sagemaker/Endpoints/{resource_prefix(environment)}-*"
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="EndpointLogs",
                actions=[
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:DescribeLogStreams",
                ],
                resources=[log_group, f"{log_group}:log-stream:*"],
            )
        )
        # Auto-rollback alarms of this environment's endpoints (names start with its prefix).
        alarms = f"alarm:{resource_prefix(environment)}-*"
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadRollbackAlarms",
                actions=["cloudwatch:DescribeAlarms"],
                resources=[stack.format_arn(service="cloudwatch", resource=alarms)],
            )
        )
        acknowledge(
            self.role,
            f"AwsSolutions-IAM5[Resource::{arn_in_finding(stack, 'cloudwatch', alarms)}]",
            "Deployment guardrails read the auto-rollback alarms of this environment's "
            "endpoints (named with its prefix) while shifting traffic.",
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="EndpointMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}},
            )
        )
        # CreateModel's VpcConfig: SageMaker attaches network interfaces to the containers.
        for statement in network.network_interface_statements(self):
            self.role.add_to_policy(statement)
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            "ecr:GetAuthorizationToken and cloudwatch:PutMetricData have no resource-level "
            "permissions (PutMetricData is limited to SageMaker namespaces by condition); "
            f"{NETWORK_INTERFACES_REASON}.",
        )
        logs = arn_in_finding(
            stack, "logs", f"log-group:/aws/sagemaker/Endpoints/{resource_prefix(environment)}-*"
        )
        for resource in (logs, f"{logs}:log-stream:*"):
            acknowledge(
                self.role,
                f"AwsSolutions-IAM5[Resource::{resource}]",
                "Endpoint log groups are named by SageMaker after the endpoint: this "
                "environment's prefix only.",
            )
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::"
            f"{arn_in_finding(stack, 'ecr', 'repository/*', account='*')}]",
            "Autopilot's inference images live in AWS-owned ECR accounts that differ by region "
            "and algorithm (sklearn-automl, xgboost, autogluon); only pull actions are allowed.",
        )
