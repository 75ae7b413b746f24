"""`cdk destroy` of an environment, offline: the shipped clean-up functions on CloudFormation's
Delete requests, in CloudFormation's order, against an account that holds this environment's
Studio domain (apps, spaces, home EFS, SageMaker's security groups) and endpoints as the deploy
Lambda makes them, and another environment's domain, storage and endpoints.

AWS is the moto server (SageMaker models/configs/endpoints/domains, EFS, EC2, tagging); Studio
apps and spaces, which moto lacks, are stubs validated against SageMaker's service model.
The test plays CloudFormation: it sends the Delete requests and deletes the domain between
the two Studio clean-up resources, as the dependency order makes CloudFormation do.
"""

from __future__ import annotations

from typing import Any

from mlops.deployment import names
from tests.shipped.assembly import Assembly, PhysicalValues
from tests.shipped.fixtures import MotoServer, ResponseUrl
from tests.shipped.lambdas import Invocation, Stub, invoke
from tests.studio.storage import apps_cleanup_passes, create_domain_storage
from tests.synth import Synthesized
from tests.teardown.conftest import IMAGE, ROLE, tags

ENV, OTHER = "dev", "prod"
GROUP = "fraud-detection"
MUTATING = ("Delete", "Revoke", "Stop", "Update", "Create", "Put", "Tag", "Untag")


def _deploy(sm: Any, env: str, version: int) -> None:
    """A model, endpoint config and endpoint named and tagged as the deploy Lambda does."""
    model = names.model_name(env, GROUP, version)
    config = names.endpoint_config_name(env, GROUP, version, "0123456789abcdef")
    sm.create_model(
        ModelName=model, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE}, Tags=tags(env)
    )
    sm.create_endpoint_config(
        EndpointConfigName=config,
        ProductionVariants=[
            {
                "VariantName": names.VARIANT_NAME,
                "ModelName": model,
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
        Tags=tags(env),
    )
    sm.create_endpoint(
        EndpointName=names.endpoint_name(env, GROUP), EndpointConfigName=config, Tags=tags(env)
    )
    # moto keeps an endpoint config's ARN as a 1-tuple (see tests/teardown/conftest.py).
    from tests.teardown.conftest import moto_sagemaker

    stored = moto_sagemaker().endpoint_configs[config]
    stored.arn = stored.endpoint_config_arn


def _domain(sm: Any, ec2: Any, efs: Any, env: str, cidr: str) -> tuple[str, dict[str, str]]:
    """A Studio domain tagged with its environment (stack tags), and its storage."""
    vpc = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=cidr.replace("0.0/16", "200.0/24"))
    domain = sm.create_domain(
        DomainName=f"mlops-{env}-studio",
        AuthMode="IAM",
        DefaultUserSettings={"ExecutionRole": ROLE},
        SubnetIds=[subnet["Subnet"]["SubnetId"]],
        VpcId=vpc,
        Tags=tags(env),
    )
    return domain["DomainArn"], create_domain_storage(ec2, efs, domain["DomainArn"], vpc=vpc)


def _request(
    assembly: Assembly, part: str, resource_type: str, values: PhysicalValues, url: str
) -> dict[str, Any]:
    resources = assembly.templates[part]["Resources"]
    (logical_id,) = [k for k, r in resources.items() if r["Type"] == resource_type]
    return {
        "RequestType": "Delete",
        "ResponseURL": url,
        "StackId": assembly.resolve(part, {"Ref": "AWS::StackId"}, values),
        "RequestId": f"00000000-0000-4000-8000-{len(resource_type):012d}",
        "LogicalResourceId": logical_id,
        "PhysicalResourceId": f"{resource_type}-physical-id",
        "ResourceType": resource_type,
        "ResourceProperties": assembly.resolve(part, resources[logical_id]["Properties"], values),
    }


def _logical_id(assembly: Assembly, part: str, resource_type: str) -> str:
    resources = assembly.templates[part]["Resources"]
    (logical_id,) = [k for k, r in resources.items() if r["Type"] == resource_type]
    return str(logical_id)


def test_cdk_destroy_leaves_nothing_of_this_environment_and_touches_nothing_else(
    dev: Synthesized, moto_server: MotoServer, response_url: ResponseUrl
) -> None:
    assembly = dev.assembly
    sm, ec2, efs = (moto_server.client(s) for s in ("sagemaker", "ec2", "efs"))
    for version in (2, 3):
        _deploy(sm, ENV, version)
        _deploy(sm, OTHER, version)
    our_domain, ours = _domain(sm, ec2, efs, ENV, "10.40.0.0/16")
    their_domain, theirs = _domain(sm, ec2, efs, OTHER, "10.41.0.0/16")
    our_domain_id = our_domain.rsplit("/", 1)[1]
    mount_targets = efs.describe_mount_targets(FileSystemId=ours["efs"])["MountTargets"]
    ours_ids = {*ours.values(), our_domain_id, *(t["MountTargetId"] for t in mount_targets)}
    theirs_ids = {*theirs.values(), their_domain.rsplit("/", 1)[1]}
    values = PhysicalValues(
        pinned={
            f"network.{_logical_id(assembly, 'network', 'AWS::EC2::VPC')}": ours["vpc"],
            f"studio.{_logical_id(assembly, 'studio', 'AWS::SageMaker::Domain')}.DomainId": (
                our_domain_id
            ),
        }
    )
    runs: list[Invocation] = []

    def run(part: str, prefix: str, event: dict[str, Any], stubs: list[Stub]) -> Any:
        invocation = invoke(
            assembly,
            assembly.function(part, prefix),
            event,
            endpoint_url=moto_server.endpoint_url,
            values=values,
            stubs=stubs,
            trusted_ca_file=response_url.ca_file,
        )
        runs.append(invocation)
        return invocation.returned()

    # Deployment stack: the destroy hook removes the endpoints, configs and models.
    run(
        "deployment",
        "EndpointCleanup",
        _request(assembly, "deployment", "Custom::EndpointCleanup", values, response_url.url),
        [],
    )
    assert response_url.answer()["Status"] == "SUCCESS"

    # Studio stack: apps and spaces (polled by the provider), the domain, then its storage.
    apps = _request(assembly, "studio", "Custom::StudioAppsCleanup", values, response_url.url)
    assert apps["ResourceProperties"]["DomainId"] == our_domain_id
    answers = [
        run("studio", "CleanupIsComplete", apps, stubs)
        for stubs in apps_cleanup_passes(our_domain_id)
    ]
    assert [a["IsComplete"] for a in answers] == [False, False, True]
    sm.delete_domain(DomainId=our_domain_id)  # CloudFormation deletes the domain
    storage = _request(assembly, "studio", "Custom::StudioStorageCleanup", values, response_url.url)
    answers = [run("studio", "CleanupIsComplete", storage, []) for _ in range(3)]
    assert [a["IsComplete"] for a in answers] == [False, True, True]

    # Nothing of this environment that bills (or blocks deleting its VPC) is left ...
    assert all(
        e["EndpointName"].startswith("mlops-prod-") for e in sm.list_endpoints()["Endpoints"]
    )
    left = {
        *(c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]),
        *(m["ModelName"] for m in sm.list_models()["Models"]),
    }
    assert left and all(name.startswith("mlops-prod-") for name in left)
    assert [fs["FileSystemId"] for fs in efs.describe_file_systems()["FileSystems"]] == [
        theirs["efs"]
    ]
    in_our_vpc = [{"Name": "vpc-id", "Values": [ours["vpc"]]}]
    assert ec2.describe_network_interfaces(Filters=in_our_vpc)["NetworkInterfaces"] == []
    our_groups = ec2.describe_security_groups(Filters=in_our_vpc)["SecurityGroups"]
    assert [g["GroupName"] for g in our_groups] == ["default"]
    # ... and the other environment is untouched: its domain, storage and serving stack.
    assert sm.describe_domain(DomainId=their_domain.rsplit("/", 1)[1])["Status"]
    assert efs.describe_mount_targets(FileSystemId=theirs["efs"])["MountTargets"]
    their_groups = ec2.describe_security_groups(GroupIds=[theirs["inbound"], theirs["outbound"]])
    assert len(their_groups["SecurityGroups"]) == 2
    assert len(sm.list_endpoints()["Endpoints"]) == 1
    # Every change any clean-up made named one of ours.
    mutations = [
        call
        for invocation in runs
        for call in invocation.calls
        if call["operation"].startswith(MUTATING)
    ]
    assert len(mutations) >= 6 + 2 + 1 + 1 + 1 + 2  # serving stacks, apps, space, EFS, groups
    for call in mutations:
        named = " ".join(str(v) for v in call["params"].values())
        assert f"mlops-{ENV}-" in named or any(i in named for i in ours_ids), call
        assert f"mlops-{OTHER}-" not in named and not any(i in named for i in theirs_ids), call
