"""Make a group's endpoint serve the version the registry wants: create, update or leave it.

``converge`` is idempotent and order-independent: it reads the registry and the endpoint,
decides, and acts at most once. Calling it twice, or for a stale event, is a no-op.

Order of work, so that a refusal never leaves anything half-created:
1. wanted version (registry) -> none approved: leave the endpoint, report ``no_approved_version``;
2. endpoint state:
   * ``OutOfService`` or ``UpdateRollbackFailed``: a person must look; report
     ``needs_attention`` with what to do, touch nothing (no retry: it cannot help);
   * already moving to the wanted config (``Creating`` it, or ``Updating`` with it as
     ``PendingDeploymentSummary.EndpointConfigName``): report ``in_progress`` (SageMaker "may
     send multiple events", so duplicates during an update are normal);
   * otherwise busy (Creating, Updating, ...): ``RetryableError`` (the queue retries);
   * ``Failed``: deleted, ``RetryableError`` (the next delivery creates it again);
   * already serving the wanted config: prune old versions, report ``unchanged``;
3. quota check for the new fleet (blue/green holds old + new fleet during the switch);
4. model (in the environment's VPC, from the wanted package) and endpoint config
   (deterministic names, reused when they exist and match; a model outside the VPC or of
   another package is re-created), then ``CreateEndpoint`` (retried briefly while the new
   config is not yet visible to it) or ``UpdateEndpoint`` with blue/green traffic shifting
   and auto-rollback on the stack's CloudWatch alarms.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

from botocore.exceptions import ClientError

from mlops.constants import (
    MANAGED_BY_VALUE,
    TAG_ENVIRONMENT,
    TAG_MANAGED_BY,
    TAG_MODEL_PACKAGE_ARN,
    TAG_MODEL_PACKAGE_GROUP,
    TAG_MODEL_PACKAGE_VERSION,
    model_package_group_name,
)
from mlops.deployment import names
from mlops.deployment.settings import DeploySettings
from mlops.errors import MlopsError, RetryableError
from mlops.registry import ModelVersion, wanted_version
from mlops.training import quotas

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_sagemaker.literals import ProductionVariantInstanceTypeType
    from mypy_boto3_sagemaker.type_defs import (
        DeploymentConfigTypeDef,
        ProductionVariantTypeDef,
        TagTypeDef,
        VpcConfigTypeDef,
    )
    from mypy_boto3_service_quotas import ServiceQuotasClient

logger = logging.getLogger(__name__)

Action = Literal[
    "created", "updated", "unchanged", "in_progress", "no_approved_version", "needs_attention"
]
BUSY_STATUSES = ("Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting")
# States in which SageMaker accepts no update and a retry cannot help: a person decides.
ATTENTION_STATUSES = ("OutOfService", "UpdateRollbackFailed")
TRAFFIC_TYPES = {"all_at_once": "ALL_AT_ONCE", "canary": "CANARY", "linear": "LINEAR"}
# CreateEndpoint right after CreateEndpointConfig may not see the config yet (botocore's
# CreateEndpoint doc: an eventually consistent read, "retry logic is recommended", and call
# DescribeEndpointConfig first). Waits between tries, in seconds: bounded well inside the
# function's timeout; after the last one the record is retried with the queue's backoff.
CREATE_RETRY_DELAYS: tuple[float, ...] = (2.0, 4.0, 8.0)
SUBJECTS: dict[Action, str] = {
    "created": "Deployment created",
    "updated": "Deployment updated",
    "no_approved_version": "Nothing to deploy",
    "needs_attention": "Endpoint needs attention",
}


class QuotaExceededError(MlopsError):
    """The account's endpoint instance quota cannot hold the deployment; nothing was created."""


@dataclass(frozen=True)
class Outcome:
    group: str
    endpoint: str
    action: Action
    version: ModelVersion | None
    message: str
    pruned: tuple[str, ...] = ()

    @property
    def notify(self) -> bool:
        """Deployments started, "nothing to serve" and "needs attention" are worth a message;
        no-ops and duplicates of a deployment in progress are not."""
        return self.action in SUBJECTS

    @property
    def subject(self) -> str:
        return f"{SUBJECTS.get(self.action, self.action)}: {self.group}"


def converge(
    sagemaker: SageMakerClient,
    service_quotas: ServiceQuotasClient,
    settings: DeploySettings,
    group: str,
) -> Outcome:
    """Make the endpoint of the logical ``group`` serve its wanted version (module doc)."""
    endpoint = names.endpoint_name(settings.environment, group)
    wanted = wanted_version(sagemaker, model_package_group_name(settings.environment, group))
    if wanted is None:
        return Outcome(
            group,
            endpoint,
            "no_approved_version",
            None,
            f"{group}: no approved version left; endpoint {endpoint} left as it is",
        )
    config_name = names.endpoint_config_name(
        settings.environment, group, wanted.version, _config_hash(settings, wanted)
    )
    current = _describe_endpoint(sagemaker, endpoint)
    if current is not None:
        status = current["EndpointStatus"]
        if status in ATTENTION_STATUSES:
            return Outcome(
                group, endpoint, "needs_attention", wanted, _attention(current, group, wanted)
            )
        if _moving_to(current, config_name):
            return Outcome(
                group,
                endpoint,
                "in_progress",
                wanted,
                f"{group}: {endpoint} is already {status} to v{wanted.version} ({config_name})",
            )
        if status in BUSY_STATUSES:
            raise RetryableError(f"endpoint {endpoint} is {status}; retrying later")
        if status == "Failed":
            # A failed endpoint can only be deleted; the next delivery creates it again.
            sagemaker.delete_endpoint(EndpointName=endpoint)
            raise RetryableError(f"endpoint {endpoint} had Failed and was deleted; recreating")
        if current["EndpointConfigName"] == config_name:
            pruned = prune(sagemaker, settings, group, in_use=config_name)
            return Outcome(
                group,
                endpoint,
                "unchanged",
                wanted,
                f"{group}: {endpoint} already serves v{wanted.version}",
                pruned,
            )

    _check_quota(sagemaker, service_quotas, settings, group, endpoint)
    tags = _tags(settings, wanted, group)
    model = _ensure_model(sagemaker, settings, group, wanted, tags)
    _ensure_endpoint_config(sagemaker, settings, config_name, model, tags)
    if current is None:
        _create_endpoint(sagemaker, endpoint, config_name, _tags(settings, None, group))
        action: Action = "created"
        message = f"{group}: creating endpoint {endpoint} with v{wanted.version}"
    else:
        sagemaker.update_endpoint(
            EndpointName=endpoint,
            EndpointConfigName=config_name,
            RetainAllVariantProperties=False,
            DeploymentConfig=deployment_config(settings, group),
        )
        action = "updated"
        message = (
            f"{group}: switching {endpoint} to v{wanted.version} "
            f"({settings.traffic_shift}, auto-rollback on alarms)"
        )
    return Outcome(group, endpoint, action, wanted, message)


def deployment_config(settings: DeploySettings, group: str) -> DeploymentConfigTypeDef:
    """Blue/green with the configured traffic shift and rollback on this group's alarms."""
    bake = settings.bake_minutes * 60
    routing: dict[str, Any] = {
        "Type": TRAFFIC_TYPES[settings.traffic_shift],
        "WaitIntervalInSeconds": bake,
    }
    size = {"Type": "CAPACITY_PERCENT", "Value": settings.step_percent}
    if settings.traffic_shift == "canary":
        routing["CanarySize"] = size
    elif settings.traffic_shift == "linear":
        routing["LinearStepSize"] = size
    return {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": routing,  # type: ignore[typeddict-item]
            # Keep the old fleet for one bake period after the full shift: alarms still roll
            # back during that time.
            "TerminationWaitInSeconds": bake,
            # Longer than every wait of this shift (validated at synth and at invocation).
            "MaximumExecutionTimeoutInSeconds": settings.update_timeout_seconds,
        },
        "AutoRollbackConfiguration": {
            "Alarms": [
                {"AlarmName": name}
                for name in names.rollback_alarm_names(settings.environment, group)
            ]
        },
    }


def _config_hash(settings: DeploySettings, version: ModelVersion) -> str:
    """Names the endpoint config of ``version``: its endpoint settings and its package, so a
    version number reused by another package (a re-created group) gets a config of its own."""
    return hashlib.sha256(f"{settings.endpoint_settings_hash}:{version.arn}".encode()).hexdigest()


def _moving_to(endpoint: Mapping[str, Any], config_name: str) -> bool:
    """The endpoint is being created with, or updated to, ``config_name`` right now."""
    status = endpoint["EndpointStatus"]
    pending = (endpoint.get("PendingDeploymentSummary") or {}).get("EndpointConfigName")
    if status == "Creating":
        return bool(endpoint.get("EndpointConfigName") == config_name)
    return status == "Updating" and pending == config_name


def _attention(endpoint: Mapping[str, Any], group: str, wanted: ModelVersion) -> str:
    """What happened and what to do, in the notification (docs/runbook.md says more)."""
    name = endpoint["EndpointName"]
    reason = endpoint.get("FailureReason")
    because = f" ({reason})" if reason else ""
    if endpoint["EndpointStatus"] == "OutOfService":
        what = f"endpoint {name} is OutOfService: it takes no requests{because}"
    else:
        what = (
            f"endpoint {name} is UpdateRollbackFailed: an update failed and so did its "
            f"rollback{because}"
        )
    return (
        f"{group}: {what}. Nothing was changed and v{wanted.version} was not deployed. "
        f"Check `aws sagemaker describe-endpoint --endpoint-name {name}`; if it does not "
        f"recover, delete it (`aws sagemaker delete-endpoint --endpoint-name {name}`) and "
        f"approve v{wanted.version} again to re-create it (docs/runbook.md, endpoint needs "
        "attention)."
    )


def _describe_endpoint(sagemaker: SageMakerClient, name: str) -> dict[str, Any] | None:
    try:
        return dict(sagemaker.describe_endpoint(EndpointName=name))
    except ClientError as error:
        if _is_not_found(error):
            return None
        raise


def _is_not_found(error: ClientError) -> bool:
    message = str(error.response.get("Error", {}).get("Message", ""))
    return "Could not find" in message or "does not exist" in message


def _create_endpoint(
    sagemaker: SageMakerClient, endpoint: str, config_name: str, tags: list[TagTypeDef]
) -> None:
    """CreateEndpoint, tried again while SageMaker does not see the new config yet."""
    for delay in (*CREATE_RETRY_DELAYS, None):
        try:
            sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
            sagemaker.create_endpoint(
                EndpointName=endpoint, EndpointConfigName=config_name, Tags=tags
            )
            return
        except ClientError as error:
            if not _config_not_visible(error):
                raise
            if delay is None:
                raise RetryableError(
                    f"endpoint config {config_name} still not visible to CreateEndpoint after "
                    f"{len(CREATE_RETRY_DELAYS) + 1} tries; retrying later"
                ) from error
            logger.info("endpoint config %s not visible yet; retry in %ss", config_name, delay)
            time.sleep(delay)


def _config_not_visible(error: ClientError) -> bool:
    """The validation error of a config that exists but was read stale (its exact text is not
    documented: any ValidationException naming a missing config counts)."""
    details = error.response.get("Error", {})
    message = str(details.get("Message", "")).lower()
    return (
        details.get("Code") == "ValidationException"
        and ("could not find" in message or "endpoint config" in message)
        and "already exist" not in message
    )


def _check_quota(
    sagemaker: SageMakerClient,
    service_quotas: ServiceQuotasClient,
    settings: DeploySettings,
    group: str,
    endpoint: str,
) -> None:
    """Current use already counts the live fleet; the new fleet comes on top of it while
    blue/green shifts traffic, so the need is one more fleet in every case."""
    need = quotas.Need(
        usage="endpoint",
        instance_type=settings.instance_type,
        count=settings.instance_count,
        purpose=f"endpoint {endpoint}",
        fallback_allowed=False,
    )
    (result,) = quotas.check([need], quotas_client=service_quotas, sagemaker_client=sagemaker)
    if not result.sufficient:
        raise QuotaExceededError(
            f"{group}: not deployed, quota '{result.quota.name}' is "
            f"{result.quota.value:g}, {result.in_use} in use, {need.count} more needed for the "
            f"{'blue/green switch' if result.in_use else 'new endpoint'}; request an increase "
            "in Service Quotas, then redrive the dead-letter queue"
        )


def _tags(settings: DeploySettings, version: ModelVersion | None, group: str) -> list[TagTypeDef]:
    """Ownership tags (teardown finds resources by them) and, on models and configs, the
    package they serve. ``mlops:model-package-group`` holds the SageMaker group name."""
    tags: dict[str, str] = {
        TAG_ENVIRONMENT: settings.environment,
        TAG_MANAGED_BY: MANAGED_BY_VALUE,
        TAG_MODEL_PACKAGE_GROUP: model_package_group_name(settings.environment, group),
    }
    if version is not None:
        tags[TAG_MODEL_PACKAGE_ARN] = version.arn
        tags[TAG_MODEL_PACKAGE_VERSION] = str(version.version)
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def _ensure_model(
    sagemaker: SageMakerClient,
    settings: DeploySettings,
    group: str,
    version: ModelVersion,
    tags: list[TagTypeDef],
) -> str:
    """The version's model, running in the environment's VPC (``settings.vpc_config``).

    An existing model is reused when it serves this package in that network. One created
    before the models ran in the VPC, in a network since replaced, or from another package
    of the same version number (a group re-created under its name) cannot be changed: it is
    deleted and created again under its name; the endpoint then moves to it blue/green (the
    network and the package are part of the config name, so the wanted config is new). The
    live fleet keeps running meanwhile: an endpoint config names the model, which SageMaker
    reads when it provisions instances (not verified in an account: no credentials here).
    """
    name = names.model_name(settings.environment, group, version.version)
    existing = _describe_model(sagemaker, name)
    if existing is not None:
        package = (existing.get("PrimaryContainer") or {}).get("ModelPackageName")
        if package == version.arn and _same_network(existing.get("VpcConfig"), settings.vpc_config):
            return name
        logger.warning(
            "model %s is not %s in the endpoint network; re-creating it", name, version.arn
        )
        sagemaker.delete_model(ModelName=name)
    sagemaker.create_model(
        ModelName=name,
        PrimaryContainer={"ModelPackageName": version.arn},
        ExecutionRoleArn=settings.execution_role_arn,
        # Network isolation stays off: Autopilot's inference containers are not verified to
        # work isolated, and the isolated subnets already give them no internet path.
        VpcConfig=settings.vpc_config,
        Tags=tags,
    )
    return name


def _describe_model(sagemaker: SageMakerClient, name: str) -> dict[str, Any] | None:
    try:
        return dict(sagemaker.describe_model(ModelName=name))
    except ClientError as error:
        if _is_not_found(error):
            return None
        raise


def _same_network(current: Any, wanted: VpcConfigTypeDef) -> bool:
    """Same subnets and security groups, in any order (no VpcConfig: not in the VPC)."""
    if not isinstance(current, dict):
        return False
    return sorted(current.get("Subnets") or []) == sorted(wanted["Subnets"]) and sorted(
        current.get("SecurityGroupIds") or []
    ) == sorted(wanted["SecurityGroupIds"])


def _ensure_endpoint_config(
    sagemaker: SageMakerClient,
    settings: DeploySettings,
    name: str,
    model: str,
    tags: list[TagTypeDef],
) -> None:
    extra: dict[str, Any] = {}
    if settings.data_capture_percent:
        extra["DataCaptureConfig"] = {
            "EnableCapture": True,
            "InitialSamplingPercentage": settings.data_capture_percent,
            "DestinationS3Uri": settings.data_capture_uri,
            "KmsKeyId": settings.kms_key_arn,
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
            "CaptureContentTypeHeader": {"CsvContentTypes": ["text/csv"]},
        }
    try:
        variant: ProductionVariantTypeDef = {
            "VariantName": names.VARIANT_NAME,
            "ModelName": model,
            "InstanceType": cast("ProductionVariantInstanceTypeType", settings.instance_type),
            "InitialInstanceCount": settings.instance_count,
            "InitialVariantWeight": 1.0,
        }
        sagemaker.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[variant],
            KmsKeyId=settings.kms_key_arn,
            Tags=tags,
            **extra,
        )
    except ClientError as error:
        if "already exist" not in str(error):
            raise


def prune(
    sagemaker: SageMakerClient, settings: DeploySettings, group: str, *, in_use: str
) -> tuple[str, ...]:
    """Delete this group's endpoint configs and models beyond the newest
    ``keep_previous_versions`` superseded ones. Runs only once the endpoint is InService on
    ``in_use`` (the switch succeeded), never touches ``in_use`` or its model."""
    prefix = names.name_prefix(settings.environment, group)
    config_pattern = re.compile(re.escape(prefix) + r"[0-9]+-[0-9a-f]{8}")
    model_pattern = re.compile(re.escape(prefix) + r"[0-9]+")
    configs: list[tuple[Any, str]] = []
    for page in sagemaker.get_paginator("list_endpoint_configs").paginate(
        NameContains=prefix, SortBy="CreationTime", SortOrder="Descending"
    ):
        for item in page["EndpointConfigs"]:
            if config_pattern.fullmatch(item["EndpointConfigName"]):
                configs.append((item["CreationTime"], item["EndpointConfigName"]))
    configs.sort(reverse=True)  # newest first, whatever order the pages came in
    superseded = [name for _, name in configs if name != in_use]
    keep = {in_use, *superseded[: settings.keep_previous_versions]}
    deleted: list[str] = []
    for name in superseded[settings.keep_previous_versions :]:
        sagemaker.delete_endpoint_config(EndpointConfigName=name)
        deleted.append(name)
    # A model stays while a kept config uses it (config names extend the model name).
    kept_models = {name.rsplit("-", 1)[0] for name in keep}
    for models_page in sagemaker.get_paginator("list_models").paginate(
        NameContains=prefix, SortBy="CreationTime", SortOrder="Descending"
    ):
        for model_item in models_page["Models"]:
            name = model_item["ModelName"]
            if model_pattern.fullmatch(name) and name not in kept_models:
                sagemaker.delete_model(ModelName=name)
                deleted.append(name)
    return tuple(deleted)
