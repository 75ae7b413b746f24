"""Custom resources that make ``cdk destroy`` remove a Studio domain completely.

On stack delete CloudFormation deletes resources in reverse dependency order:

1. ``Apps`` (``Custom::StudioAppsCleanup``) depends on the domain and on every user profile, so
   it is deleted first: it deletes every app (space apps included), then every space.
2. CloudFormation deletes the user profiles, then the domain.
3. ``Storage`` (``Custom::StudioStorageCleanup``): the domain depends on it, so it is deleted
   after the domain: it deletes the home EFS (mount targets first) and the security groups
   SageMaker created for every deleted domain in the VPC, so the VPC can go. It is told the
   VPC and the account's domain ARN prefix (the domain's id would be a dependency cycle) and
   finds the storage by the ``ManagedByAmazonSageMakerResource`` tag SageMaker sets.

Both run on one CDK provider (on_event + is_complete polling, total timeout below
CloudFormation's one hour), with ``lambdas/studio_cleanup`` and the logic in ``mlops.studio``.
"""

from __future__ import annotations

from collections.abc import Iterable

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import custom_resources as cr
from constructs import Construct

from mlops.studio import SAGEMAKER_OWNER_TAG, CleanupFunctionSettings
from stacks.constructs.network import NetworkResources
from stacks.constructs.python_function import PythonFunction
from stacks.nag import (
    acknowledge,
    acknowledge_inline_policy,
    acknowledge_lambda_controls,
    arn_in_finding,
)

# App deletion takes minutes, EFS mount targets and their network interfaces a few more.
QUERY_INTERVAL = cdk.Duration.seconds(30)
TOTAL_TIMEOUT = cdk.Duration.minutes(55)
SERVICE_TIMEOUT = cdk.Duration.minutes(60)  # CloudFormation's maximum for a custom resource
_SYNCHRONOUS = "Invoked synchronously by the CDK provider framework, which retries and reports."


class StudioCleanup(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        domain: sagemaker.CfnDomain,
        profiles: list[sagemaker.CfnUserProfile],
        network: NetworkResources,
        log_key: kms.IKey,
        log_retention_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        region, account, partition = stack.region, stack.account, stack.partition
        sagemaker_arn = f"arn:{partition}:sagemaker:{region}:{account}"
        functions = {
            stage: PythonFunction(
                self,
                name,
                handler_dir="studio_cleanup",
                description=f"Studio clean-up on stack delete ({stage})",
                environment=CleanupFunctionSettings(stage=stage).to_environment(),
                log_key=log_key,
                log_retention_days=log_retention_days,
                timeout=cdk.Duration.minutes(5 if stage == "is_complete" else 1),
                no_dead_letter_queue_reason=_SYNCHRONOUS,
            )
            for stage, name in (("on_event", "OnEvent"), ("is_complete", "IsComplete"))
        }
        worker = functions["is_complete"].role
        domain_arn_prefix = f"{sagemaker_arn}:domain/"
        owned_by_a_domain = {
            "StringLike": {f"aws:ResourceTag/{SAGEMAKER_OWNER_TAG}": f"{domain_arn_prefix}*"}
        }
        in_this_vpc = {"ArnEquals": {"ec2:Vpc": network.vpc_arn(self)}}
        ec2_arn = f"arn:{partition}:ec2:{region}:{account}"
        file_systems = f"arn:{partition}:elasticfilesystem:{region}:{account}:file-system/*"
        for statement in (
            iam.PolicyStatement(
                sid="ListAppsAndSpaces",
                actions=["sagemaker:ListApps", "sagemaker:ListSpaces"],
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="IsTheDomainGone",
                actions=["sagemaker:DescribeDomain"],
                resources=[f"{domain_arn_prefix}*"],
            ),
            iam.PolicyStatement(
                sid="FindFileSystems",
                actions=[
                    "elasticfilesystem:DescribeFileSystems",
                    "elasticfilesystem:DescribeMountTargets",
                ],
                resources=[file_systems],
            ),
            iam.PolicyStatement(
                sid="DeleteDomainFileSystems",
                actions=[
                    "elasticfilesystem:DeleteMountTarget",
                    "elasticfilesystem:DeleteFileSystem",
                ],
                resources=[file_systems],
                conditions=owned_by_a_domain,
            ),
            # DeleteMountTarget also needs ec2:DeleteNetworkInterface on the mount target's
            # interface, checked on the caller (botocore's EFS DeleteMountTarget doc).
            iam.PolicyStatement(
                sid="DeleteMountTargetInterfacesInThisVpc",
                actions=["ec2:DeleteNetworkInterface"],
                resources=[f"{ec2_arn}:network-interface/*"],
                conditions=in_this_vpc,
            ),
            iam.PolicyStatement(
                sid="FindSecurityGroups",
                actions=["ec2:DescribeSecurityGroups"],
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="DeleteDomainSecurityGroupsInThisVpc",
                actions=[
                    "ec2:RevokeSecurityGroupIngress",
                    "ec2:RevokeSecurityGroupEgress",
                    "ec2:DeleteSecurityGroup",
                ],
                resources=[f"{ec2_arn}:security-group/*"],
                conditions={**owned_by_a_domain, **in_this_vpc},
            ),
        ):
            worker.add_to_principal_policy(statement)
        acknowledge(
            worker,
            "AwsSolutions-IAM5[Resource::*]",
            "sagemaker:ListApps/ListSpaces and ec2:DescribeSecurityGroups have no resource-level "
            "permissions (results are filtered to one domain, or this VPC, in code).",
        )
        for finding in (
            f"Resource::{arn_in_finding(stack, 'sagemaker', 'domain/*')}",
            f"Resource::{arn_in_finding(stack, 'elasticfilesystem', 'file-system/*')}",
            f"Resource::{arn_in_finding(stack, 'ec2', 'security-group/*')}",
            f"Resource::{arn_in_finding(stack, 'ec2', 'network-interface/*')}",
        ):
            acknowledge(
                worker,
                f"AwsSolutions-IAM5[{finding}]",
                "The domain id is only known after the domain is deleted (naming it here would "
                "be a dependency cycle); deletes are conditioned on SageMaker's "
                "ManagedByAmazonSageMakerResource tag and, for EC2, on this VPC (ec2:Vpc); the "
                "code only deletes the storage of deleted domains in this VPC.",
            )
        # Named in a policy of its own: the Storage resource must not depend on the domain.
        apps_policy = iam.Policy(
            self,
            "AppsPolicy",
            roles=[worker],
            statements=[
                iam.PolicyStatement(
                    sid="DeleteThisDomainsAppsAndSpaces",
                    actions=["sagemaker:DeleteApp", "sagemaker:DeleteSpace"],
                    resources=[
                        f"{sagemaker_arn}:app/{domain.attr_domain_id}/*",
                        f"{sagemaker_arn}:space/{domain.attr_domain_id}/*",
                    ],
                )
            ],
        )
        acknowledge_inline_policy(apps_policy)
        domain_ref = f"<{stack.resolve(stack.get_logical_id(domain))}.DomainId>"
        for kind in ("app", "space"):
            acknowledge(
                apps_policy,
                f"AwsSolutions-IAM5[Resource::{arn_in_finding(stack, 'sagemaker', '')}"
                f"{kind}/{domain_ref}/*]",
                f"The {kind}s of this one domain: their names are chosen by users at run time.",
            )

        framework_logs = logs.LogGroup(
            self, "ProviderLogs", encryption_key=log_key, removal_policy=cdk.RemovalPolicy.DESTROY
        )
        framework_logs_resource = framework_logs.node.default_child
        assert isinstance(framework_logs_resource, logs.CfnLogGroup)
        framework_logs_resource.retention_in_days = log_retention_days
        self.provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=functions["on_event"].function,
            is_complete_handler=functions["is_complete"].function,
            query_interval=QUERY_INTERVAL,
            total_timeout=TOTAL_TIMEOUT,
            log_group=framework_logs,
            waiter_state_machine_log_options=cr.LogOptions(
                destination=framework_logs, level=cdk.aws_stepfunctions.LogLevel.ALL
            ),
        )

        _acknowledge_provider_framework(self.provider, functions.values())

        self.storage = cdk.CustomResource(
            self,
            "Storage",
            service_token=self.provider.service_token,
            resource_type="Custom::StudioStorageCleanup",
            properties={
                "Cleanup": "storage",
                "VpcId": network.vpc.vpc_id,
                "DomainArnPrefix": domain_arn_prefix,
            },
            service_timeout=SERVICE_TIMEOUT,
        )
        storage_resource = self.storage.node.default_child
        assert isinstance(storage_resource, cdk.CfnResource)
        domain.add_resource_dependency(storage_resource)

        self.apps = cdk.CustomResource(
            self,
            "Apps",
            service_token=self.provider.service_token,
            resource_type="Custom::StudioAppsCleanup",
            properties={"Cleanup": "apps", "DomainId": domain.attr_domain_id},
            service_timeout=SERVICE_TIMEOUT,
        )
        self.apps.node.add_dependency(apps_policy, *profiles)


def _acknowledge_provider_framework(
    provider: cr.Provider, functions: Iterable[PythonFunction]
) -> None:
    """The provider framework's functions, roles and state machine are CDK-internal: their
    code, runtime, memory, tracing and managed policy cannot be configured."""
    stack = cdk.Stack.of(provider)
    internal = "CDK provider framework internals (not configurable): "
    findings = {
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AWSLambdaBasicExecutionRole]": internal + "its functions only write their own logs.",
        "AwsSolutions-SF1": internal + "the waiter logs to an encrypted log group.",
        "AwsSolutions-SF2": internal + "the waiter state machine has no X-Ray option.",
        "Serverless-StepFunctionStateMachineXray": internal + "no X-Ray option on the waiter.",
        "Serverless-LambdaDLQ": internal + "invoked synchronously by CloudFormation/the waiter.",
        "Serverless-LambdaDefaultMemorySize": internal + "small, fixed-size relay functions.",
        "Serverless-LambdaTracing": internal + "no tracing option on its relay functions.",
    }
    invoked = [
        *(function.function for function in functions),
        *(
            child
            for child in provider.node.find_all()
            if isinstance(child, lambda_.Function) and "framework-" in child.node.id
        ),
    ]
    for function in invoked:
        resource = function.node.default_child
        assert isinstance(resource, cdk.CfnResource)
        logical_id = stack.resolve(stack.get_logical_id(resource))
        findings[f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>:*]"] = (
            internal + "may invoke any version of its own handler function."
        )
    for rule_id, reason in findings.items():
        acknowledge(provider, rule_id, reason)
    # NIST 800-53 R5: the framework's functions are API-only relays, invoked synchronously.
    acknowledge_lambda_controls(
        provider,
        no_dead_letter_queue=internal + "invoked synchronously by CloudFormation/the waiter.",
    )
    acknowledge_inline_policy(provider)
