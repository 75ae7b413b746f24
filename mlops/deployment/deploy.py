"""Make a group's endpoint serve the version the registry wants: create, update or leave it.

``converge`` is idempotent and order-independent: it reads the registry and the endpoint,
decides, and acts at most once. Calling it twice, or for a stale event, is a no-op.

Order of work, so that a refusal never leaves anything half-created:
1. wanted version (registry) → none approved: leave the endpoint, report ``no_approved_version``;
2. endpoint state → busy (Creating, Updating, ...): ``RetryableError`` (the queue retries);
   already serving the wanted config: prune old versions, report ``unchanged``;
3. quota check for the new fleet (blue/green holds old + new fleet during the switch);
4. model (in the environment's VPC) and endpoint config (deterministic names, reused when
   they exist; a model outside the VPC is re-created in it), then
   ``CreateEndpoint`` or ``UpdateEndpoint`` with blue/green traffic shifting and
   auto-rollback on the stack's CloudWatch alarms.
"""

from __future__ import annotations

import logging
import re
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

Action = Literal["created", "updated", "unchanged", "no_approved_version"]
BUSY_STATUSES = (
    "Creating",
    "Updating",
    "SystemUpdating",
    "RollingBack",
    "Deleting",
    "OutOfService",
)
TRAFFIC_TYPES = {"all_at_once": "ALL_AT_ONCE", "canary": "CANARY", "linear": "LINEAR"}
# UpdateEndpoint's MaximumExecutionTimeoutInSeconds must be 600..14400.
MAX_UPDATE_SECONDS = 14400


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
        """Deployments started and "nothing to serve" are worth a message; no-ops are not."""
        return self.action != "unchanged"


def converge(
    sagemaker: SageMakerClient,
    service_quotas: ServiceQuotasClient,
    settings: DeploySettings,
    group: str,
) -> Outcome:
    endpoint = names.endpoint_name(settings.environment, group)
    wanted = wanted_version(sagemaker, group)
    if wanted is None:
        return Outcome(
            group,
            endpoint,
            "no_approved_version",
            None,
            f"{group}: no approved version left; endpoint {endpoint} left as it is",
        )
    config_name = names.endpoint_config_name(
        settings.environment, group, wanted.version, settings.endpoint_settings_hash
    )
    current = _describe_endpoint(sagemaker, endpoint)
    if current is not None:
        status = current["EndpointStatus"]
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
    tags = _tags(settings, wanted)
    model = _ensure_model(sagemaker, settings, wanted, tags)
    _ensure_endpoint_config(sagemaker, settings, config_name, model, tags)
    if current is None:
        sagemaker.create_endpoint(
            EndpointName=endpoint, EndpointConfigName=config_name, Tags=_tags(settings, None, group)
        )
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
    size = {"Type": "CAPACITY_PERCENT", "Value": settings.canary_percent}
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
            "MaximumExecutionTimeoutInSeconds": MAX_UPDATE_SECONDS,
        },
        "AutoRollbackConfiguration": {
            "Alarms": [
                {"AlarmName": name}
                for name in names.rollback_alarm_names(settings.environment, group)
            ]
        },
    }


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


def _tags(
    settings: DeploySettings, version: ModelVersion | None, group: str | None = None
) -> list[TagTypeDef]:
    tags: dict[str, str] = {
        TAG_ENVIRONMENT: settings.environment,
        TAG_MANAGED_BY: MANAGED_BY_VALUE,
    }
    if version is not None:
        tags[TAG_MODEL_PACKAGE_GROUP] = version.group
        tags[TAG_MODEL_PACKAGE_ARN] = version.arn
        tags[TAG_MODEL_PACKAGE_VERSION] = str(version.version)
    elif group is not None:
        tags[TAG_MODEL_PACKAGE_GROUP] = group
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def _ensure_model(
    sagemaker: SageMakerClient,
    settings: DeploySettings,
    version: ModelVersion,
    tags: list[TagTypeDef],
) -> str:
    """The version's model, running in the environment's VPC (``settings.vpc_config``).

    An existing model is reused when it runs in that network. One created before the models
    ran in the VPC, or in a network since replaced, cannot be changed: it is deleted and
    created again under its name; the endpoint then moves to it blue/green (the network is
    part of the endpoint settings hash, so the wanted config is new). The live fleet keeps
    running meanwhile: an endpoint config names the model, which SageMaker reads when it
    provisions instances (not verified in an account: no credentials here).
    """
    name = names.model_name(settings.environment, version.group, version.version)
    existing = _describe_model(sagemaker, name)
    if existing is not None:
        if _same_network(existing.get("VpcConfig"), settings.vpc_config):
            return name
        logger.warning("model %s is not in the endpoint network; re-creating it", name)
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
