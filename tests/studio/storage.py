"""A Studio domain's run-time state for the tests: what SageMaker creates outside of it, made
in moto (the home EFS with a mount target, and the NFS pair of security groups that reference
each other, all tagged ``ManagedByAmazonSageMakerResource`` = the domain ARN), and how
SageMaker answers the apps clean-up pass after pass (stubs: moto has no apps or spaces)."""

from __future__ import annotations

from typing import Any

from mlops.studio import SAGEMAKER_OWNER_TAG
from tests.shipped.lambdas import Stub


def create_domain_storage(
    ec2: Any, efs: Any, domain_arn: str, *, vpc: str | None = None, cidr: str = "10.0.0.0/16"
) -> dict[str, str]:
    """The storage of ``domain_arn`` in ``vpc`` (a new VPC when None); returns its ids."""
    domain_id = domain_arn.rsplit("/", 1)[1]
    tags = [{"Key": SAGEMAKER_OWNER_TAG, "Value": domain_arn}]
    if vpc is None:
        vpc = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    block = ec2.describe_vpcs(VpcIds=[vpc])["Vpcs"][0]["CidrBlock"]
    subnet_cidr = block.rsplit(".", 2)[0] + f".{len(ec2.describe_subnets()['Subnets']) % 250}.0/24"
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=subnet_cidr)["Subnet"]["SubnetId"]

    def group(name: str) -> str:
        return str(
            ec2.create_security_group(
                GroupName=f"{name}-{domain_id}",
                Description=f"[DO NOT DELETE] NFS traffic for SageMaker Domain [{domain_id}]",
                VpcId=vpc,
                TagSpecifications=[{"ResourceType": "security-group", "Tags": tags}],
            )["GroupId"]
        )

    inbound = group("security-group-for-inbound-nfs")
    outbound = group("security-group-for-outbound-nfs")
    nfs = {"IpProtocol": "tcp", "FromPort": 2049, "ToPort": 2049}
    ec2.authorize_security_group_ingress(
        GroupId=inbound, IpPermissions=[{**nfs, "UserIdGroupPairs": [{"GroupId": outbound}]}]
    )
    ec2.authorize_security_group_egress(
        GroupId=outbound, IpPermissions=[{**nfs, "UserIdGroupPairs": [{"GroupId": inbound}]}]
    )
    file_system = efs.create_file_system(CreationToken=domain_id, Tags=tags)["FileSystemId"]
    efs.create_mount_target(FileSystemId=file_system, SubnetId=subnet, SecurityGroups=[inbound])
    return {"efs": file_system, "inbound": inbound, "outbound": outbound, "vpc": vpc}


def apps_cleanup_passes(domain_id: str) -> list[list[Stub]]:
    """What SageMaker answers the apps clean-up, pass by pass: a user's app and a shared
    space's app are deleted; once they are gone, the space; then nothing is left."""
    user_app = {
        "DomainId": domain_id,
        "UserProfileName": "data-scientist-1",
        "AppType": "JupyterLab",
        "AppName": "default",
    }
    space_app = {"DomainId": domain_id, "SpaceName": "team", "AppType": "CodeEditor",
                 "AppName": "default"}  # fmt: skip
    listing = {"DomainIdEquals": domain_id}
    return [
        [
            Stub("sagemaker", "ListApps", {"Apps": [{**user_app, "Status": "InService"},
                 {**space_app, "Status": "InService"}]}, expected_params=listing),
            Stub("sagemaker", "DeleteApp", {}, expected_params=user_app),
            Stub("sagemaker", "DeleteApp", {}, expected_params=space_app),
        ],
        [
            Stub("sagemaker", "ListApps", {"Apps": [{**user_app, "Status": "Deleted"},
                 {**space_app, "Status": "Deleted"}]}, expected_params=listing),
            Stub("sagemaker", "ListSpaces", {"Spaces": [{"DomainId": domain_id,
                 "SpaceName": "team", "Status": "InService"}]}, expected_params=listing),
            Stub("sagemaker", "DeleteSpace", {}, expected_params={"DomainId": domain_id,
                 "SpaceName": "team"}),
        ],
        [
            Stub("sagemaker", "ListApps", {"Apps": []}, expected_params=listing),
            Stub("sagemaker", "ListSpaces", {"Spaces": []}, expected_params=listing),
        ],
    ]  # fmt: skip
