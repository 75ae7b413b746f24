"""The private network SageMaker workloads run in: created, or imported by explicit ids.

Created: a VPC with isolated subnets in two zones (private subnets with NAT only when the config
asks for NAT gateways), the interface endpoints Studio and the jobs call (SageMaker API and
runtime, STS, CloudWatch Logs and monitoring, ECR API and DKR, Service Quotas), an S3 gateway
endpoint, and KMS-encrypted flow logs. Imported: ``Vpc.from_vpc_attributes`` with the ids from
the config, so synth never looks anything up; the VPC must already have those endpoints.

Both give ``workload_security_group``: the group of Studio apps and jobs. It talks to itself
(Studio's JupyterServer and kernel apps connect to each other) and out on HTTPS only.
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.config import ConfigError, ExistingVpcConfig, NetworkConfig
from stacks.nag import acknowledge, acknowledge_inline_policy, arn_in_finding

# Interface endpoints by CDK's service name; Service Quotas has no predefined constant.
INTERFACE_ENDPOINTS: dict[str, ec2.InterfaceVpcEndpointAwsService] = {
    "SageMakerApi": ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_API,
    "SageMakerRuntime": ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_RUNTIME,
    "Sts": ec2.InterfaceVpcEndpointAwsService.STS,
    "Logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    "Monitoring": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING,
    "EcrApi": ec2.InterfaceVpcEndpointAwsService.ECR,
    "EcrDkr": ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
    "ServiceQuotas": ec2.InterfaceVpcEndpointAwsService("servicequotas"),
}
# SageMaker AI MLflow's interface endpoint (aws.sagemaker.<region>.experiments; AWS docs
# "Connecting to an MLflow tracking server through an Interface VPC Endpoint"), with
# experiments.private_endpoint: Studio notebooks reach MLflow without internet.
MLFLOW_ENDPOINT = {"SageMakerMlflow": ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_EXPERIMENTS}
ZONES = 2

# What SageMaker calls as a role whose containers run in the VPC: the "private VPC" permissions
# of https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html (CreateModel,
# CreateTrainingJob, CreateProcessingJob, CreateAutoMLJob), used through
# NetworkResources.network_interface_statements.
DESCRIBE_NETWORK_ACTIONS = (
    "ec2:DescribeVpcs",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeDhcpOptions",
)
# Actions on an existing interface: the SAR lists ec2:Vpc for their network-interface resource.
EXISTING_INTERFACE_ACTIONS = (
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
    "ec2:DeleteNetworkInterfacePermission",
)
NETWORK_INTERFACES_REASON = (
    "EC2 Describe calls SageMaker makes for containers in the VPC have no resource-level "
    "permissions; its network-interface calls are limited to this environment's VPC "
    "(ec2:Vpc condition on the subnet, security group or existing interface)"
)


@dataclass(frozen=True)
class NetworkResources:
    """What the stacks whose containers run in the VPC (Studio, training jobs, endpoints)
    receive from the Network stack."""

    vpc: ec2.IVpc
    subnets: list[ec2.ISubnet]
    workload_security_group: ec2.ISecurityGroup

    def vpc_arn(self, scope: Construct) -> str:
        return cdk.Stack.of(scope).format_arn(
            service="ec2", resource="vpc", resource_name=self.vpc.vpc_id
        )

    def network_interface_statements(self, scope: Construct) -> list[iam.PolicyStatement]:
        """What a role SageMaker assumes needs to run containers in this VPC (Studio apps,
        jobs, endpoints): SageMaker creates and deletes their network interfaces as the role.

        The EC2 Describe calls have no resource-level permissions (``*``). The ``ec2:Vpc``
        condition key exists on the subnet and security group a new interface is created in,
        and on an existing interface, but not on the interface being created (Service
        Authorization Reference, ``CreateNetworkInterface``): so creation is allowed for any new
        interface *resource* but only in this VPC's subnets and security groups (both are
        required resources of the call), and the calls on existing interfaces only for this
        VPC's. See docs/security.md ("ec2:Vpc"). Acknowledges the wildcard resources on
        ``scope``; every role also acknowledges ``AwsSolutions-IAM5[Resource::*]`` with
        :data:`NETWORK_INTERFACES_REASON` in its reason.
        """
        stack = cdk.Stack.of(scope)
        ec2_arn = f"arn:{stack.partition}:ec2:{stack.region}:{stack.account}"
        in_this_vpc = {"ArnEquals": {"ec2:Vpc": self.vpc_arn(scope)}}
        for resource in ("network-interface/*", "subnet/*", "security-group/*"):
            acknowledge(
                scope,
                f"AwsSolutions-IAM5[Resource::{arn_in_finding(stack, 'ec2', resource)}]",
                "SageMaker names the interfaces it creates for containers at run time; "
                "creating one needs this VPC's subnet and security group (ec2:Vpc), and "
                "changing or deleting one is limited to this VPC's interfaces (ec2:Vpc).",
            )
        return [
            iam.PolicyStatement(
                sid="DescribeNetworkForContainersInTheVpc",
                actions=list(DESCRIBE_NETWORK_ACTIONS),
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="NewNetworkInterfaces",
                actions=["ec2:CreateNetworkInterface"],
                resources=[f"{ec2_arn}:network-interface/*"],
            ),
            iam.PolicyStatement(
                sid="NetworkInterfacesInThisVpcsSubnets",
                actions=["ec2:CreateNetworkInterface"],
                resources=[f"{ec2_arn}:subnet/*", f"{ec2_arn}:security-group/*"],
                conditions=in_this_vpc,
            ),
            iam.PolicyStatement(
                sid="ThisVpcsNetworkInterfacesOnly",
                actions=list(EXISTING_INTERFACE_ACTIONS),
                resources=[f"{ec2_arn}:network-interface/*"],
                conditions=in_this_vpc,
            ),
        ]


class Network(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: NetworkConfig,
        log_key: kms.IKey,
        log_retention_days: int,
        mlflow_endpoint: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        if config.existing_vpc is not None:
            self.vpc = _imported_vpc(self, config.existing_vpc)
            subnets = self.vpc.isolated_subnets
        else:
            endpoints = {**INTERFACE_ENDPOINTS, **(MLFLOW_ENDPOINT if mlflow_endpoint else {})}
            vpc = self._created_vpc(config, log_key, log_retention_days, endpoints)
            self.vpc = vpc
            subnets = vpc.private_subnets if config.nat_gateways else vpc.isolated_subnets

        self.workload_security_group = ec2.SecurityGroup(
            self,
            "WorkloadSecurityGroup",
            vpc=self.vpc,
            description="SageMaker Studio apps and jobs: each other, and HTTPS out",
            allow_all_outbound=False,
        )
        self.workload_security_group.add_ingress_rule(
            self.workload_security_group,
            ec2.Port.all_tcp(),
            "Studio apps of the domain connect to each other",
        )
        self.workload_security_group.add_egress_rule(
            self.workload_security_group, ec2.Port.all_tcp(), "Studio apps of the domain"
        )
        self.workload_security_group.add_egress_rule(
            ec2.Peer.any_ipv4(),
            ec2.Port.tcp(443),
            "HTTPS to the VPC endpoints and the S3 gateway (and the internet only through NAT)",
        )
        self.resources = NetworkResources(
            vpc=self.vpc,
            subnets=list(subnets),
            workload_security_group=self.workload_security_group,
        )

    def _created_vpc(
        self,
        config: NetworkConfig,
        log_key: kms.IKey,
        log_retention_days: int,
        endpoints: dict[str, ec2.InterfaceVpcEndpointAwsService],
    ) -> ec2.Vpc:
        if config.availability_zones and len(config.availability_zones) != ZONES:
            raise ConfigError(
                "network.availability_zones",
                list(config.availability_zones),
                f"allowed: exactly {ZONES} zones, or none",
            )
        # Tokens (Fn::GetAZs) unless zones are configured: never a context lookup at synth.
        zones = list(config.availability_zones) or [
            cdk.Fn.select(i, cdk.Fn.get_azs()) for i in range(ZONES)
        ]
        private = ec2.SubnetConfiguration(
            name="workloads",
            subnet_type=(
                ec2.SubnetType.PRIVATE_WITH_EGRESS
                if config.nat_gateways
                else ec2.SubnetType.PRIVATE_ISOLATED
            ),
            cidr_mask=20,
        )
        subnets = [private]
        if config.nat_gateways:
            subnets.insert(
                0,
                ec2.SubnetConfiguration(
                    name="nat", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=26
                ),
            )
        vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(config.vpc_cidr),
            availability_zones=zones,
            nat_gateways=config.nat_gateways,
            subnet_configuration=subnets,
            # Nothing uses the default security group: CDK removes its rules at deploy.
            restrict_default_security_group=True,
        )
        flow_logs = logs.LogGroup(
            self,
            "FlowLogs",
            encryption_key=log_key,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        flow_logs_resource = flow_logs.node.default_child
        assert isinstance(flow_logs_resource, logs.CfnLogGroup)
        flow_logs_resource.retention_in_days = log_retention_days
        flow_log_role = iam.Role(
            self,
            "FlowLogsRole",
            assumed_by=iam.ServicePrincipal("vpc-flow-logs.amazonaws.com"),
            description="Delivers this VPC's flow logs to its log group",
        )
        acknowledge_inline_policy(flow_log_role)
        vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs, flow_log_role),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )

        vpc.add_gateway_endpoint(
            "S3", service=ec2.GatewayVpcEndpointAwsService.S3, subnets=[ec2.SubnetSelection()]
        )
        endpoint_sg = ec2.SecurityGroup(
            self,
            "EndpointSecurityGroup",
            vpc=vpc,
            description="Interface endpoints: HTTPS from inside the VPC",
            allow_all_outbound=False,
        )
        endpoint_sg.add_ingress_rule(
            ec2.Peer.ipv4(config.vpc_cidr), ec2.Port.tcp(443), "HTTPS from the VPC"
        )
        for name, service in endpoints.items():
            vpc.add_interface_endpoint(
                name,
                service=service,
                private_dns_enabled=True,
                security_groups=[endpoint_sg],
                open=False,
                subnets=ec2.SubnetSelection(subnets=vpc.isolated_subnets or vpc.private_subnets),
            )
        return vpc


def _imported_vpc(scope: Construct, existing: ExistingVpcConfig) -> ec2.IVpc:
    if len(existing.subnet_ids) != len(existing.availability_zones) or not existing.subnet_ids:
        raise ConfigError(
            "network.existing_vpc.availability_zones",
            list(existing.availability_zones),
            f"allowed: one zone per subnet id ({len(existing.subnet_ids)} subnet ids given)",
        )
    return ec2.Vpc.from_vpc_attributes(
        scope,
        "Vpc",
        vpc_id=existing.vpc_id,
        availability_zones=list(existing.availability_zones),
        isolated_subnet_ids=list(existing.subnet_ids),
    )
