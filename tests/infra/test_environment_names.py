"""Two environments in one account and region: no name that must be unique is shared.

With no ``account`` in ``cdk.json`` both environments deploy wherever the credentials point,
so ``dev`` and ``prod`` may land in one account. Every explicit resource name that AWS keeps
unique per account and region (or account-wide) is collected from both synthesized apps and
compared, and so are the names the deploy Lambda gives endpoints, models and configs at run
time (read from each template's environment, as the handler reads it). A literal name-like
property this test does not know fails it until it is classified below.
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any

from mlops.deployment import names
from mlops.deployment.settings import DeploySettings
from tests.synth import Synthesized

# (resource type, property): names AWS keeps unique per account and region (IAM: per account,
# S3: globally). Some are not in today's templates; they are listed so that adding one with an
# explicit name is checked at once.
UNIQUE_NAMES = {
    ("AWS::SageMaker::ModelPackageGroup", "ModelPackageGroupName"),
    ("AWS::SageMaker::Pipeline", "PipelineName"),
    ("AWS::SageMaker::MlflowApp", "Name"),
    # Not enforced unique by SageMaker, but two would be indistinguishable to people and tools.
    ("AWS::SageMaker::Domain", "DomainName"),
    ("AWS::CloudWatch::Alarm", "AlarmName"),
    ("AWS::SQS::Queue", "QueueName"),
    ("AWS::SNS::Topic", "TopicName"),
    ("AWS::Events::Rule", "Name"),
    ("AWS::Scheduler::Schedule", "Name"),
    ("AWS::Scheduler::ScheduleGroup", "Name"),
    ("AWS::IAM::Role", "RoleName"),
    ("AWS::IAM::ManagedPolicy", "ManagedPolicyName"),
    ("AWS::Lambda::Function", "FunctionName"),
    ("AWS::Lambda::LayerVersion", "LayerName"),
    ("AWS::Logs::LogGroup", "LogGroupName"),
    ("AWS::S3::Bucket", "BucketName"),
    ("AWS::KMS::Alias", "AliasName"),
    ("AWS::StepFunctions::StateMachine", "StateMachineName"),
}
# Name-like properties that are no account-wide name, and why.
NOT_ACCOUNT_NAMES = {
    ("AWS::IAM::Policy", "PolicyName"): "an inline policy's name is unique per role only",
    ("AWS::SageMaker::UserProfile", "UserProfileName"): "unique within its domain only",
    ("AWS::CloudWatch::Alarm", "MetricName"): "the metric watched, not a name of the alarm",
    ("AWS::SNS::Topic", "DisplayName"): "a label for e-mail/SMS senders",
    ("AWS::SageMaker::Pipeline", "PipelineDisplayName"): "a label",
    ("AWS::EC2::VPCEndpoint", "ServiceName"): "the AWS service the endpoint reaches",
    ("AWS::EC2::FlowLog", "LogGroupName"): "refers to a log group of the stack",
    ("AWS::Lambda::EventSourceMapping", "FunctionName"): "refers to a function",
    ("AWS::Lambda::Permission", "FunctionName"): "refers to a function",
    ("Custom::S3AutoDeleteObjects", "BucketName"): "refers to a bucket",
}


def _is_name(key: str) -> bool:
    return key == "Name" or key.endswith("Name")


def _explicit_names(synth: Synthesized) -> dict[str, str]:
    """Every explicit account-unique name of the app: value -> where it is set."""
    found: dict[str, str] = {}
    unknown: list[str] = []
    assembly = synth.assembly
    for part, template in synth.templates.items():
        for logical_id, resource in template["Resources"].items():
            kind = resource["Type"]
            for key, value in resource.get("Properties", {}).items():
                if not _is_name(key) or (kind, key) in NOT_ACCOUNT_NAMES:
                    continue
                if (kind, key) not in UNIQUE_NAMES:
                    unknown.append(f"{part}.{logical_id}: {kind} {key}")
                    continue
                found[str(assembly.resolve(part, value))] = f"{part}.{logical_id} {key}"
    assert not unknown, f"classify these name properties in this test: {unknown}"
    return found


def _deploy_settings(synth: Synthesized) -> DeploySettings:
    assembly = synth.assembly
    function = assembly.function("deployment", "ApprovalsDeploy")
    return DeploySettings.from_environment(assembly.environment(function))


def _runtime_names(settings: DeploySettings) -> dict[str, str]:
    """What the deploy Lambda names at run time (prefixes of models and configs included)."""
    env = settings.environment
    found: dict[str, str] = {}
    for group in settings.groups:
        found[names.endpoint_name(env, group)] = f"endpoint of {group}"
        found[names.name_prefix(env, group)] = f"model/config prefix of {group}"
        found[names.model_name(env, group, 1)] = f"model v1 of {group}"
    found.update({name: "model package group" for name in settings.package_groups})
    return found


def _deploy_role_patterns(synth: Synthesized) -> list[str]:
    """The SageMaker resource patterns the deploy role may change (create/update/delete)."""
    for logical_id, policy in synth.resources("deployment", "AWS::IAM::Policy").items():
        if "ApprovalsDeployRole" not in logical_id:
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement.get("Sid") == "ManageOwnEndpoints":
                resolved = synth.assembly.resolve("deployment", statement["Resource"])
                return [str(r).rsplit("/", 1)[-1] for r in resolved]
    raise AssertionError("no ManageOwnEndpoints statement on the deploy role")


def test_dev_and_prod_share_no_explicit_unique_name(dev: Synthesized, prod: Synthesized) -> None:
    dev_names, prod_names = _explicit_names(dev), _explicit_names(prod)

    assert any("ModelPackageGroupName" in where for where in dev_names.values())
    shared = {name: (dev_names[name], prod_names[name]) for name in dev_names & prod_names.keys()}
    assert not shared, json.dumps(shared, indent=1)


def test_dev_and_prod_share_no_run_time_name_or_prefix(dev: Synthesized, prod: Synthesized) -> None:
    dev_names = _runtime_names(_deploy_settings(dev))
    prod_names = _runtime_names(_deploy_settings(prod))

    overlapping = [
        (a, b)
        for a in dev_names
        for b in prod_names
        if a.startswith(b) or b.startswith(a)  # a prefix of one would list the other's
    ]
    assert not overlapping, overlapping


def test_each_deploy_role_changes_nothing_of_the_other_environment(
    dev: Synthesized, prod: Synthesized
) -> None:
    for mine, other in ((dev, prod), (prod, dev)):
        patterns = _deploy_role_patterns(mine)
        others: dict[str, Any] = _runtime_names(_deploy_settings(other))
        reachable = [
            (pattern, name)
            for pattern in patterns
            for name in others
            if fnmatch.fnmatchcase(name, pattern)
        ]
        assert patterns and not reachable, reachable
