"""On stack delete, remove the endpoints, endpoint configs and models the deploy Lambda
created at run time, and their monitoring schedules (first) and job definitions
(CloudFormation does not know them, so ``cdk destroy`` alone would leave endpoints billing).

A Lambda-backed custom resource (no Provider framework: one call does the work, since
SageMaker deletes asynchronously, and the handler always answers CloudFormation itself).
``delete_after`` lists constructs (e.g. the deploy pipeline) that must be gone before the
clean-up runs, so nothing creates a new endpoint behind it.
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct

from mlops.constants import resource_prefix
from mlops.teardown.custom_resource import EndpointCleanupSettings
from stacks.config import EnvironmentConfig
from stacks.constructs.python_function import PythonFunction
from stacks.constructs.teardown_permissions import act_on_tagged, read_by_tag
from stacks.data_stack import DataResources
from stacks.nag import acknowledge, arn_in_finding

# What the deploy Lambda creates at run time (generated names): deleted only when tagged.
_TAGGED_RESOURCES = (
    "monitoring-schedule/*",
    "endpoint/*",
    "endpoint-config/*",
    "data-quality-job-definition/*",
    "model-quality-job-definition/*",
    "model/*",
)


class EndpointCleanup(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        data: DataResources,
        delete_after: Sequence[IConstruct] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.function = PythonFunction(
            self,
            "Handler",
            handler_dir="endpoint_cleanup",
            description=f"On stack delete: remove {config.name}'s endpoints, configs, models and "
            "monitoring",
            environment=EndpointCleanupSettings(environment=config.name).to_environment(),
            log_key=data.key,
            log_retention_days=config.log_retention_days,
            timeout=cdk.Duration.minutes(10),
            no_dead_letter_queue_reason=(
                "Invoked only by CloudFormation for this custom resource; the handler always "
                "answers CloudFormation (FAILED with the reason), which shows it in stack events."
            ),
        )
        role = self.function.role
        role.add_to_policy(
            read_by_tag(
                [
                    "sagemaker:ListEndpoints",
                    "sagemaker:ListEndpointConfigs",
                    "sagemaker:ListModels",
                    "sagemaker:ListMonitoringSchedules",
                    "sagemaker:ListDataQualityJobDefinitions",
                    "sagemaker:ListModelQualityJobDefinitions",
                ]
            )
        )
        role.add_to_policy(
            act_on_tagged(
                stack,
                config.name,
                [
                    "sagemaker:DeleteMonitoringSchedule",
                    "sagemaker:DeleteEndpoint",
                    "sagemaker:DeleteEndpointConfig",
                    "sagemaker:DeleteDataQualityJobDefinition",
                    "sagemaker:DeleteModelQualityJobDefinition",
                    "sagemaker:DeleteModel",
                ],
                list(_TAGGED_RESOURCES),
            )
        )
        # Waiting for deleted endpoints to be gone: a deleted endpoint has no tags left to
        # match, so this read is scoped by the deploy Lambda's endpoint names instead.
        endpoints = f"endpoint/{resource_prefix(config.name)}-*"
        role.add_to_policy(
            iam.PolicyStatement(
                sid="WaitForEndpointDeletion",
                actions=["sagemaker:DescribeEndpoint"],
                resources=[stack.format_arn(service="sagemaker", resource=endpoints)],
            )
        )
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::{arn_in_finding(stack, 'sagemaker', endpoints)}]",
            "Describes only endpoints named with this environment's prefix (deploy Lambda's).",
        )
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "tag:GetResources and SageMaker List* have no resource-level permissions; "
            "deletions are limited to resources tagged with this environment.",
        )
        for resource in _TAGGED_RESOURCES:
            acknowledge(
                role,
                f"AwsSolutions-IAM5[Resource::{arn_in_finding(stack, 'sagemaker', resource)}]",
                "Endpoints, configs, models and monitoring resources are created at run time "
                "with generated names; the statement only applies to those tagged with this "
                "environment.",
            )
        self.resource = cdk.CustomResource(
            self,
            "Resource",
            service_token=self.function.function.function_arn,
            resource_type="Custom::EndpointCleanup",
            properties={"Environment": config.name},
        )
        # Deleted before its function, role and policy: they must still exist when it runs.
        self.resource.node.add_dependency(self.function)
        for construct in delete_after:
            construct.node.add_dependency(self.resource)
