"""IAM from both sides: what a role's synthesized policies allow, and what an API call needs.

Granted side: every ``Allow`` statement of the policies attached to a role (its inline
``Policies``, and ``AWS::IAM::Policy`` resources naming it), with CloudFormation intrinsics
resolved to ``*`` (account, region, other stacks' ARNs and generated ids are not known at
synth). Conditions are kept for the report but not evaluated: they only narrow a grant, and
the logic tests prove the code acts only on this environment's (tagged) resources.

Needed side: an API operation maps to one IAM action (``<prefix>:<Operation>``, the prefix from
the service model's signing name, with the few exceptions below), and, where the request names
it, to the resource ARN it acts on (SageMaker names are lower-cased in ARNs).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import botocore.exceptions
import botocore.session

# Signing names that are not the IAM prefix.
IAM_PREFIX = {"monitoring": "cloudwatch", "tagging": "tag"}
# Operations whose IAM action is not named after them.
OPERATION_ACTIONS = {
    ("s3", "HeadObject"): "s3:GetObject",
    ("s3", "HeadBucket"): "s3:ListBucket",
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "ListObjectVersions"): "s3:ListBucketVersions",
    ("s3", "DeleteObjects"): "s3:DeleteObject",
}

_models = botocore.session.get_session()


def iam_action(service: str, operation: str) -> str:
    """``service`` as boto3 names it (``service-quotas``), ``operation`` as the API does.

    A service botocore does not know is a call recorded outside botocore (the SigV4-signed
    MLflow REST calls, recorded by tests/experiments): it is named by its IAM prefix already.
    """
    override = OPERATION_ACTIONS.get((service, operation))
    if override:
        return override
    try:
        prefix_source = _signing_name(service)
    except botocore.exceptions.UnknownServiceError:
        return f"{service}:{operation}"
    return f"{IAM_PREFIX.get(prefix_source, prefix_source)}:{operation}"


def _signing_name(service: str) -> str:
    metadata = _models.get_service_model(service).metadata
    return str(metadata.get("signingName") or metadata["endpointPrefix"])


@dataclass(frozen=True)
class Statement:
    sid: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    conditioned: bool

    def allows(self, action: str, resource: str | None) -> bool:
        if not any(_matches(pattern, action, ignore_case=True) for pattern in self.actions):
            return False
        if resource is None:  # the call names no resource: any grant of the action serves
            return True
        return any(_matches(pattern, resource) for pattern in self.resources)


def _matches(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    # IAM wildcards: * (any run, / included) and ? (one character); no [...] classes.
    escaped = pattern.replace("[", "[[]")
    if ignore_case:
        return fnmatch.fnmatchcase(value.lower(), escaped.lower())
    return fnmatch.fnmatchcase(value, escaped)


def resolve(value: Any) -> str:
    """A policy value with intrinsics replaced by ``*`` (``AWS::Partition`` is ``aws``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        if value.get("Ref") == "AWS::Partition":
            return "aws"
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return str(separator).join(resolve(part) for part in parts)
        return "*"
    raise AssertionError(f"unexpected policy value {value!r}")


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_statements(template: dict[str, Any], role: str) -> list[Statement]:
    resources = template["Resources"]
    documents = [
        policy["PolicyDocument"] for policy in resources[role]["Properties"].get("Policies", [])
    ]
    if resources[role]["Properties"].get("ManagedPolicyArns"):
        raise AssertionError(f"{role} has managed policies: they cannot be checked here")
    for resource in resources.values():
        if resource["Type"] == "AWS::IAM::Policy" and {"Ref": role} in resource["Properties"].get(
            "Roles", []
        ):
            documents.append(resource["Properties"]["PolicyDocument"])
    statements = []
    for document in documents:
        for index, raw in enumerate(document["Statement"]):
            if raw["Effect"] != "Allow":
                continue
            statements.append(
                Statement(
                    sid=raw.get("Sid", f"#{index}"),
                    actions=tuple(_listed(raw["Action"])),
                    resources=tuple(resolve(r) for r in _listed(raw["Resource"])),
                    conditioned="Condition" in raw,
                )
            )
    return statements


def granted_actions(statements: Iterable[Statement]) -> set[str]:
    return {action for statement in statements for action in statement.actions}


# --- the resource a call acts on --------------------------------------------------------------

_SAGEMAKER_NAMES = {
    "EndpointName": "endpoint",
    "EndpointConfigName": "endpoint-config",
    "ModelName": "model",
    "ProcessingJobName": "processing-job",
    "TrainingJobName": "training-job",
    "TransformJobName": "transform-job",
    "AutoMLJobName": "automl-job",
    "ModelPackageGroupName": "model-package-group",
    "MonitoringScheduleName": "monitoring-schedule",
}
# Job definitions share the parameter name; the operation says which kind.
_JOB_DEFINITION_KINDS = {
    "DataQuality": "data-quality-job-definition",
    "ModelQuality": "model-quality-job-definition",
}
_LIST_OPERATIONS = ("List", "Search")


def call_resource(service: str, operation: str, params: Mapping[str, Any]) -> str | None:
    """The ARN (region and account as ``*``) the call acts on, or None when it names none."""
    if operation.startswith(_LIST_OPERATIONS):
        return None
    arn = f"arn:aws:{_signing_name(service)}:*:*:"
    if service == "sagemaker":
        return _sagemaker_resource(arn, operation, params)
    if service == "efs" and "FileSystemId" in params:
        return f"{arn}file-system/{params['FileSystemId']}"
    if service == "ec2" and "GroupId" in params:
        return f"{arn}security-group/{params['GroupId']}"
    if service == "sns" and "TopicArn" in params:
        return str(params["TopicArn"])
    if service == "service-quotas" and operation == "RequestServiceQuotaIncrease":
        return f"{arn}{params['ServiceCode']}/{params['QuotaCode']}"
    if service == "cloudwatch" and operation == "DescribeAlarms" and params.get("AlarmNames"):
        names = params["AlarmNames"]
        if len(names) == 1:
            return f"arn:aws:cloudwatch:*:*:alarm:{names[0]}"
    return None


def _sagemaker_resource(arn: str, operation: str, params: Mapping[str, Any]) -> str | None:
    for key in ("ResourceArn", "PipelineExecutionArn"):
        if key in params:
            return str(params[key])
    if "ModelPackageName" in params:
        name = str(params["ModelPackageName"])
        return name if name.startswith("arn:") else f"{arn}model-package/{name.lower()}"
    if "DomainId" in params:
        domain = params["DomainId"]
        if "AppName" in params:
            owner = params.get("UserProfileName") or params.get("SpaceName")
            kind = str(params["AppType"]).lower()
            return f"{arn}app/{domain}/{str(owner).lower()}/{kind}/{params['AppName']}".lower()
        if "SpaceName" in params:
            return f"{arn}space/{domain}/{params['SpaceName']}".lower()
        return f"{arn}domain/{domain}"
    if operation.endswith("Pipeline") and "PipelineName" in params:
        return f"{arn}pipeline/{str(params['PipelineName']).lower()}"
    for key, kind in _SAGEMAKER_NAMES.items():
        if key in params:
            return f"{arn}{kind}/{str(params[key]).lower()}"
    if "JobDefinitionName" in params:
        for monitor, kind in _JOB_DEFINITION_KINDS.items():
            if monitor in operation:
                return f"{arn}{kind}/{str(params['JobDefinitionName']).lower()}"
    return None
