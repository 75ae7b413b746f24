"""Make an endpoint's monitoring follow the version it serves; remove it before the endpoint.

``ensure_monitoring`` is called by the deploy Lambda once an endpoint serves (or is switching
to) version N of a (logical) group. Per monitor type (data quality, model quality) it:

1. reads version N's baselines (``DriftCheckBaselines``, else ``ModelMetrics``);
2. creates the job definition named after N and the settings hash, unless it exists (job
   definitions cannot be updated: CreateDataQualityJobDefinition /
   CreateModelQualityJobDefinition; ``ResourceInUse`` from a concurrent create is success);
3. creates the endpoint's schedule, or updates it when it points at another definition or
   another cron expression (UpdateMonitoringSchedule), or leaves it;
4. prunes this group's other job definitions: only those tagged as this environment's and
   managed by the platform, and never one that any schedule still uses.

Repeated or stale events converge to the same state (describe first, act only on a
difference). A version without baselines gets no schedule of that type (an existing one is
deleted: comparing version N's traffic to another version's baseline would be wrong).

``delete_monitoring`` deletes the endpoint's schedules (DeleteMonitoringSchedule "also stops
the schedule", API reference) and then its job definitions: the deploy Lambda calls it when
monitoring is disabled. (Teardown deletes schedules and definitions as kinds of its own, found
by tag: ``mlops.teardown``.) A schedule in ``Pending`` cannot be updated or deleted (SageMaker
answers ValidationException "Monitoring schedule in status Pending"): that is a RetryableError.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

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
from mlops.deployment.names import endpoint_name
from mlops.errors import InputError, RetryableError
from mlops.monitoring import names
from mlops.monitoring.baselines import Baselines, from_model_package
from mlops.monitoring.names import MONITOR_TYPES, MonitorType
from mlops.monitoring.settings import (
    INFERENCE_ATTRIBUTE,
    PROBLEM_TYPE,
    VOLUME_SIZE_GB,
    MonitoringSettings,
    offset,
)
from mlops.registry import ModelVersion

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient

logger = logging.getLogger(__name__)

Action = Literal["created", "updated", "unchanged", "deleted", "absent", "no_baseline"]
# Where the container finds its input and writes its report (the SDK's defaults).
INPUT_PATH = "/opt/ml/processing/input/endpoint"
OUTPUT_PATH = "/opt/ml/processing/output"
# The Model Monitor container publishes CloudWatch metrics when this is "Enabled" (the SDK's
# enable_cloudwatch_metrics=True sets exactly this variable).
METRICS_ENVIRONMENT = {"publish_cloudwatch_metrics": "Enabled"}


@dataclass(frozen=True)
class Outcome:
    endpoint: str
    version: int | None
    actions: dict[MonitorType, Action]
    pruned: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def message(self) -> str:
        done = ", ".join(f"{monitor} {action}" for monitor, action in self.actions.items())
        version = f" v{self.version}" if self.version is not None else ""
        extra = f"; {'; '.join(self.notes)}" if self.notes else ""
        return f"monitoring of {self.endpoint}{version}: {done}{extra}"


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _message(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Message", ""))


def _is_not_found(error: ClientError) -> bool:
    return _code(error) in ("ResourceNotFound", "ResourceNotFoundException") or (
        _code(error) == "ValidationException"
        and ("not found" in _message(error).lower() or "could not find" in _message(error).lower())
    )


def _is_pending(error: ClientError) -> bool:
    return "status Pending" in _message(error)


def tags(settings: MonitoringSettings, group: str, version: ModelVersion) -> list[dict[str, str]]:
    """Ownership tags (teardown finds resources by them) and the package the resource serves;
    ``mlops:model-package-group`` holds the SageMaker group name, as on endpoints."""
    values = {
        TAG_ENVIRONMENT: settings.environment,
        TAG_MANAGED_BY: MANAGED_BY_VALUE,
        TAG_MODEL_PACKAGE_GROUP: model_package_group_name(settings.environment, group),
        TAG_MODEL_PACKAGE_ARN: version.arn,
        TAG_MODEL_PACKAGE_VERSION: str(version.version),
    }
    return [{"Key": key, "Value": value} for key, value in values.items()]


def _endpoint_input(settings: MonitoringSettings, endpoint: str, monitor: MonitorType) -> Any:
    endpoint_input: dict[str, Any] = {
        "EndpointName": endpoint,
        "LocalPath": INPUT_PATH,
        "S3InputMode": "File",
        "S3DataDistributionType": "FullyReplicated",
    }
    if monitor == "ModelQuality":
        endpoint_input.update(
            InferenceAttribute=INFERENCE_ATTRIBUTE,
            # Labels arrive late: each execution analyses the traffic of the window
            # [now - start, now - end] (docs "Model monitor offsets").
            StartTimeOffset=offset(settings.window_start_hours),
            EndTimeOffset=offset(settings.window_end_hours),
        )
    return endpoint_input


def ground_truth_uri(settings: MonitoringSettings, endpoint: str) -> str:
    """Where `labels upload` writes the endpoint's ground truth (hourly folders below)."""
    return f"{settings.ground_truth_uri.rstrip('/')}/{endpoint}"


def output_uri(settings: MonitoringSettings, endpoint: str, monitor: MonitorType) -> str:
    return f"{settings.output_uri.rstrip('/')}/{endpoint}/{names.suffix(monitor)}"


def definition_request(
    settings: MonitoringSettings,
    group: str,
    version: ModelVersion,
    baselines: Baselines,
    monitor: MonitorType,
) -> dict[str, Any]:
    """The Create{DataQuality,ModelQuality}JobDefinition request for ``version`` of ``group``."""
    endpoint = endpoint_name(settings.environment, group)
    name = names.job_definition_name(
        settings.environment, group, version.version, monitor, settings.definition_hash
    )
    app: dict[str, Any] = {"ImageUri": settings.image_uri, "Environment": dict(METRICS_ENVIRONMENT)}
    job_input: dict[str, Any] = {"EndpointInput": _endpoint_input(settings, endpoint, monitor)}
    if monitor == "DataQuality":
        baseline: dict[str, Any] = {
            "ConstraintsResource": {"S3Uri": baselines.data_constraints},
            "StatisticsResource": {"S3Uri": baselines.data_statistics},
        }
    else:
        app["ProblemType"] = PROBLEM_TYPE
        baseline = {"ConstraintsResource": {"S3Uri": baselines.model_constraints}}
        job_input["GroundTruthS3Input"] = {"S3Uri": ground_truth_uri(settings, endpoint)}
    return {
        "JobDefinitionName": name,
        f"{monitor}BaselineConfig": baseline,
        f"{monitor}AppSpecification": app,
        f"{monitor}JobInput": job_input,
        f"{monitor}JobOutputConfig": {
            "MonitoringOutputs": [
                {
                    "S3Output": {
                        "S3Uri": output_uri(settings, endpoint, monitor),
                        "LocalPath": OUTPUT_PATH,
                        "S3UploadMode": "EndOfJob",
                    }
                }
            ],
            "KmsKeyId": settings.kms_key_arn,
        },
        "JobResources": {
            "ClusterConfig": {
                "InstanceCount": 1,
                "InstanceType": settings.instance_type,
                "VolumeSizeInGB": VOLUME_SIZE_GB,
                "VolumeKmsKeyId": settings.kms_key_arn,
            }
        },
        "NetworkConfig": {
            "EnableInterContainerTrafficEncryption": True,
            "EnableNetworkIsolation": False,
            "VpcConfig": {
                "SecurityGroupIds": list(settings.security_group_ids),
                "Subnets": list(settings.subnet_ids),
            },
        },
        "RoleArn": settings.role_arn,
        "StoppingCondition": {"MaxRuntimeInSeconds": settings.max_runtime_seconds},
        "Tags": tags(settings, group, version),
    }


def schedule_config(
    settings: MonitoringSettings, monitor: MonitorType, definition: str
) -> dict[str, Any]:
    expression = (
        settings.data_quality_schedule
        if monitor == "DataQuality"
        else settings.model_quality_schedule
    )
    return {
        "ScheduleConfig": {"ScheduleExpression": expression},
        "MonitoringJobDefinitionName": definition,
        "MonitoringType": monitor,
    }


def _create_definition(sagemaker: SageMakerClient, request: dict[str, Any], monitor: str) -> None:
    describe = getattr(sagemaker, f"describe_{_snake(monitor)}_job_definition")
    create = getattr(sagemaker, f"create_{_snake(monitor)}_job_definition")
    try:
        describe(JobDefinitionName=request["JobDefinitionName"])
        return
    except ClientError as error:
        if not _is_not_found(error):
            raise
    try:
        create(**request)
    except ClientError as error:
        if _code(error) != "ResourceInUse":  # created meanwhile by a concurrent delivery
            raise


def _snake(monitor: str) -> str:
    return "data_quality" if monitor == "DataQuality" else "model_quality"


def _describe_schedule(sagemaker: SageMakerClient, name: str) -> dict[str, Any] | None:
    try:
        return dict(sagemaker.describe_monitoring_schedule(MonitoringScheduleName=name))
    except ClientError as error:
        if _is_not_found(error):
            return None
        raise


def _busy(schedule: dict[str, Any]) -> None:
    if schedule.get("MonitoringScheduleStatus") == "Pending":
        raise RetryableError(
            f"monitoring schedule {schedule['MonitoringScheduleName']} is Pending; retrying later"
        )


def _ensure_schedule(
    sagemaker: SageMakerClient,
    settings: MonitoringSettings,
    group: str,
    version: ModelVersion,
    monitor: MonitorType,
    definition: str,
) -> Action:
    name = names.schedule_name(settings.environment, group, monitor)
    wanted = schedule_config(settings, monitor, definition)
    current = _describe_schedule(sagemaker, name)
    try:
        if current is None:
            sagemaker.create_monitoring_schedule(
                MonitoringScheduleName=name,
                MonitoringScheduleConfig=wanted,  # type: ignore[arg-type]
                Tags=tags(settings, group, version),  # type: ignore[arg-type]
            )
            return "created"
        config = current.get("MonitoringScheduleConfig", {})
        if (
            config.get("MonitoringJobDefinitionName") == definition
            and config.get("ScheduleConfig", {}).get("ScheduleExpression")
            == wanted["ScheduleConfig"]["ScheduleExpression"]
            and current.get("MonitoringScheduleStatus") != "Stopped"
        ):
            return "unchanged"
        _busy(current)
        sagemaker.update_monitoring_schedule(
            MonitoringScheduleName=name,
            MonitoringScheduleConfig=wanted,  # type: ignore[arg-type]
        )
        if current.get("MonitoringScheduleStatus") == "Stopped":
            sagemaker.start_monitoring_schedule(MonitoringScheduleName=name)
        return "updated"
    except ClientError as error:
        if _is_pending(error):
            raise RetryableError(f"monitoring schedule {name} is Pending; retrying later") from None
        if _code(error) == "ResourceInUse" and current is None:
            # Another delivery created it meanwhile: converge on the next delivery.
            raise RetryableError(f"monitoring schedule {name} is being created; retrying") from None
        raise


def _delete_schedule(sagemaker: SageMakerClient, name: str) -> Action:
    current = _describe_schedule(sagemaker, name)
    if current is None:
        return "absent"
    _busy(current)
    try:
        sagemaker.delete_monitoring_schedule(MonitoringScheduleName=name)
    except ClientError as error:
        if _is_not_found(error):
            return "absent"
        if _is_pending(error):
            raise RetryableError(f"monitoring schedule {name} is Pending; retrying later") from None
        raise
    return "deleted"


def ensure_monitoring(
    sagemaker: SageMakerClient,
    settings: MonitoringSettings,
    group: str,
    version: ModelVersion,
    *,
    baselines: Baselines | None = None,
) -> Outcome:
    """Bind the schedules of the logical ``group``'s endpoint to ``version``'s baselines
    (module doc). ``baselines`` defaults to the package's (one DescribeModelPackage)."""
    endpoint = endpoint_name(settings.environment, group)
    if baselines is None:
        baselines = from_model_package(
            sagemaker.describe_model_package(ModelPackageName=version.arn)
        )
    actions: dict[MonitorType, Action] = {}
    notes: list[str] = []
    in_use: set[str] = set()
    for monitor in MONITOR_TYPES:
        if not baselines.has(monitor):
            name = names.schedule_name(settings.environment, group, monitor)
            removed_action = _delete_schedule(sagemaker, name)
            actions[monitor] = "no_baseline"
            notes.append(
                f"v{version.version} has no {monitor} baseline: no {monitor} schedule"
                + (" (the previous one was deleted)" if removed_action == "deleted" else "")
            )
            continue
        request = definition_request(settings, group, version, baselines, monitor)
        _create_definition(sagemaker, request, monitor)
        in_use.add(request["JobDefinitionName"])
        actions[monitor] = _ensure_schedule(
            sagemaker, settings, group, version, monitor, request["JobDefinitionName"]
        )
    pruned = prune(sagemaker, settings.environment, group, keep=in_use)
    return Outcome(endpoint, version.version, actions, pruned, tuple(notes))


def _definitions(
    sagemaker: SageMakerClient, environment: str, group: str, monitor: MonitorType
) -> list[tuple[str, str]]:
    """(name, arn) of this group's job definitions of one type, by name pattern."""
    pattern = names.job_definition_pattern(environment, group, monitor)
    prefix = names.definition_prefix(environment, group)
    operation = f"list_{_snake(monitor)}_job_definitions"
    found: list[tuple[str, str]] = []
    token: str | None = None
    while True:
        page = getattr(sagemaker, operation)(
            NameContains=prefix, SortBy="CreationTime", SortOrder="Descending",
            **({"NextToken": token} if token else {}),
        )  # fmt: skip
        for item in page.get("JobDefinitionSummaries", []):
            name = item["MonitoringJobDefinitionName"]
            if pattern.fullmatch(name):
                found.append((name, item["MonitoringJobDefinitionArn"]))
        token = page.get("NextToken")
        if not token:
            return found


def _ours(sagemaker: SageMakerClient, arn: str, environment: str, group: str) -> bool:
    """Tagged as this environment's, managed by the platform, for this (logical) group."""
    listed = sagemaker.list_tags(ResourceArn=arn).get("Tags", [])
    values = {tag["Key"]: tag["Value"] for tag in listed}
    return (
        values.get(TAG_ENVIRONMENT) == environment
        and values.get(TAG_MANAGED_BY) == MANAGED_BY_VALUE
        and values.get(TAG_MODEL_PACKAGE_GROUP) == model_package_group_name(environment, group)
    )


def _used_by_a_schedule(sagemaker: SageMakerClient, definition: str) -> bool:
    page = sagemaker.list_monitoring_schedules(MonitoringJobDefinitionName=definition)
    return bool(page.get("MonitoringScheduleSummaries"))


def prune(
    sagemaker: SageMakerClient, environment: str, group: str, *, keep: set[str]
) -> tuple[str, ...]:
    """Delete the group's job definitions except ``keep``: only ours (tags), never one a
    schedule uses. A definition SageMaker refuses to delete now is left for the next run."""
    deleted: list[str] = []
    for monitor in MONITOR_TYPES:
        delete = getattr(sagemaker, f"delete_{_snake(monitor)}_job_definition")
        for name, arn in _definitions(sagemaker, environment, group, monitor):
            if name in keep or not _ours(sagemaker, arn, environment, group):
                continue
            if _used_by_a_schedule(sagemaker, name):
                continue
            try:
                delete(JobDefinitionName=name)
            except ClientError as error:
                if _is_not_found(error):
                    continue
                if _code(error) in ("ResourceInUse", "ValidationException"):
                    logger.warning("job definition %s not deleted now: %s", name, error)
                    continue
                raise
            deleted.append(name)
    return tuple(deleted)


def delete_monitoring(sagemaker: SageMakerClient, environment: str, group: str) -> tuple[str, ...]:
    """Delete the endpoint's schedules, then the group's job definitions (ours, unused).

    Call before DeleteEndpoint. Idempotent: what is already gone is skipped. Raises
    RetryableError while a schedule is Pending (it cannot be deleted in that state).
    """
    deleted: list[str] = []
    for monitor in MONITOR_TYPES:
        name = names.schedule_name(environment, group, monitor)
        if _delete_schedule(sagemaker, name) == "deleted":
            deleted.append(name)
    deleted.extend(prune(sagemaker, environment, group, keep=set()))
    return tuple(deleted)


def ground_truth_location(sagemaker: SageMakerClient, environment: str, group: str) -> str:
    """Where the endpoint's model-quality schedule reads labels (its job definition's
    GroundTruthS3Input), so `labels upload` writes exactly there."""
    schedule = _describe_schedule(
        sagemaker, names.schedule_name(environment, group, "ModelQuality")
    )
    if schedule is None:
        raise InputError(
            f"{endpoint_name(environment, group)} has no model-quality schedule (monitoring "
            "disabled, or no approved version deployed yet); pass --ground-truth-uri to "
            "write labels anyway"
        )
    definition = sagemaker.describe_model_quality_job_definition(
        JobDefinitionName=schedule["MonitoringScheduleConfig"]["MonitoringJobDefinitionName"]
    )
    return str(definition["ModelQualityJobInput"]["GroundTruthS3Input"]["S3Uri"])
