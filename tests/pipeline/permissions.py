"""What the pipeline's role must allow for the requests an execution made, per AWS's documents.

SageMaker Pipelines makes each step's Create call with the pipeline's role, and every job it
starts assumes the ``RoleArn`` it is given (here: the same role). For each recorded request
:func:`needs` lists the actions AWS documents ("How to use SageMaker AI execution roles":
CreateProcessingJob, CreateTransformJob, CreateAutoMLJob and CreateModel sections; "Provide
permissions for tagging SageMaker AI resources" for AddTags), each with the resource it acts on;
:func:`gaps` finds those no ``Allow`` statement of the role grants (conditions are not
evaluated: they only narrow a grant; see tests/security/iam.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from tests.pipeline.executor import Request
from tests.security.iam import role_statements
from tests.shipped.assembly import ACCOUNT, REGION

# AWS, "CreateAutoMLJob and CreateAutoMLJobV2 API: Execution Role Permissions": what the role
# passed to Autopilot needs besides S3, logs and metrics. Autopilot names these resources at
# run time; a generated name stands for them.
AUTOPILOT_ACTIONS = {
    "sagemaker:CreateModel": "model",
    "sagemaker:DescribeModel": "model",
    "sagemaker:DeleteModel": "model",
    "sagemaker:CreateEndpointConfig": "endpoint-config",
    "sagemaker:DescribeEndpointConfig": "endpoint-config",
    "sagemaker:DeleteEndpointConfig": "endpoint-config",
    "sagemaker:CreateEndpoint": "endpoint",
    "sagemaker:DescribeEndpoint": "endpoint",
    "sagemaker:DeleteEndpoint": "endpoint",
    "sagemaker:InvokeEndpoint": "endpoint",
    "sagemaker:ListTags": "endpoint",
}
# The resource each Create call acts on (Service Authorization Reference, Amazon SageMaker).
CREATED = {
    "CreateProcessingJob": ("processing-job", "ProcessingJobName"),
    "CreateTransformJob": ("transform-job", "TransformJobName"),
    "CreateAutoMLJob": ("automl-job", "AutoMLJobName"),
    "CreateModel": ("model", "ModelName"),
    "CreateModelPackage": ("model-package-group", "ModelPackageGroupName"),
}
ECR_PULL = ("ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage")
ANY_ACCOUNT_JOB_LOGS = ("cloudwatch:PutMetricData", "ecr:GetAuthorizationToken")


def needs(request: Request) -> Iterator[tuple[str, str]]:
    """(IAM action, resource ARN) pairs the request and the job it starts need."""
    params = request.params
    kind, name_field = CREATED[request.operation]
    resource = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{kind}/{str(params[name_field]).lower()}"
    yield f"sagemaker:{request.operation}", resource
    if params.get("Tags"):
        yield "sagemaker:AddTags", resource
    for role in _values(params, "RoleArn", "ExecutionRoleArn"):
        yield "iam:PassRole", role
    for key in _volume_keys(params):
        yield "kms:CreateGrant", key
    for key in _values(params, "KmsKeyId"):
        yield "kms:GenerateDataKey", key
    for uri in _inputs(params):
        yield "s3:GetObject", _object_arn(uri)
    for uri in _outputs(params):
        yield "s3:PutObject", _object_arn(uri)
    if request.operation in ("CreateProcessingJob", "CreateAutoMLJob", "CreateTransformJob"):
        for action in ANY_ACCOUNT_JOB_LOGS:
            yield action, "*"
    if request.operation == "CreateAutoMLJob":
        for action, kind in AUTOPILOT_ACTIONS.items():
            yield action, f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{kind}/automl-emulated-1"
        for action in ECR_PULL:
            yield action, f"arn:aws:ecr:{REGION}:763104351884:repository/autogluon-inference"


def gaps(template: Mapping[str, Any], role: str, requests: Sequence[Request]) -> list[str]:
    """``"<step>: <action> on <resource>"`` for every need the role's policies do not grant."""
    statements = role_statements(dict(template), role)
    missing = []
    for request in requests:
        for action, resource in needs(request):
            if not any(statement.allows(action, resource) for statement in statements):
                missing.append(f"{request.step}: {action} on {resource}")
    return sorted(set(missing))


def _walk(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield key, value
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def _values(params: Mapping[str, Any], *names: str) -> list[str]:
    return sorted({str(v) for k, v in _walk(params) if k in names and isinstance(v, str)})


def _volume_keys(params: Mapping[str, Any]) -> list[str]:
    return _values(params, "VolumeKmsKeyId")


def _inputs(params: Mapping[str, Any]) -> list[str]:
    uris = [item["S3Input"]["S3Uri"] for item in params.get("ProcessingInputs", [])]
    uris += [
        channel["DataSource"]["S3DataSource"]["S3Uri"]
        for channel in params.get("InputDataConfig", [])
    ]
    if "TransformInput" in params:
        uris.append(params["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"])
    return uris


def _outputs(params: Mapping[str, Any]) -> list[str]:
    uris = [
        output["S3Output"]["S3Uri"]
        for output in params.get("ProcessingOutputConfig", {}).get("Outputs", [])
    ]
    for name in ("OutputDataConfig", "TransformOutput"):
        if name in params:
            uris.append(params[name].get("S3OutputPath", ""))
    return [uri for uri in uris if uri]


def _object_arn(uri: str) -> str:
    return "arn:aws:s3:::" + uri.removeprefix("s3://").rstrip("/") + "/object"
