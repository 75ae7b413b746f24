"""Find what one environment owns: by tag first, then per-service list calls for details.

Ownership is decided by tags only: a resource is this environment's when it carries
``TAG_ENVIRONMENT = <env>`` *and* ``TAG_MANAGED_BY = MANAGED_BY_VALUE``. Untagged resources
and other environments' resources are never returned, whatever their names.

The Resource Groups Tagging API says *which* ARNs are ours (100 per page); list calls (100 per
page) give names, states and times. Both are paged, so discovery costs O(n / 100) calls; only
Studio apps need one describe each (their last user activity is not in ListApps).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from mlops.constants import MANAGED_BY_VALUE, TAG_ENVIRONMENT, TAG_MANAGED_BY
from mlops.teardown.aws import Clients, is_not_found
from mlops.teardown.resources import Kind, Resource

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient

# Resource Groups Tagging API resource types, per kind found directly by tag.
TAGGED_TYPES: dict[Kind, str] = {
    Kind.MONITORING_SCHEDULE: "sagemaker:monitoring-schedule",
    Kind.DATA_QUALITY_JOB_DEFINITION: "sagemaker:data-quality-job-definition",
    Kind.MODEL_QUALITY_JOB_DEFINITION: "sagemaker:model-quality-job-definition",
    Kind.ENDPOINT: "sagemaker:endpoint",
    Kind.ENDPOINT_CONFIG: "sagemaker:endpoint-config",
    Kind.MODEL: "sagemaker:model",
    Kind.AUTOML_JOB: "sagemaker:automl-job",
    Kind.TRAINING_JOB: "sagemaker:training-job",
    Kind.PROCESSING_JOB: "sagemaker:processing-job",
    Kind.TRANSFORM_JOB: "sagemaker:transform-job",
    Kind.MODEL_PACKAGE_GROUP: "sagemaker:model-package-group",
    Kind.BUCKET: "s3",
}
PIPELINE_TYPE = "sagemaker:pipeline"
DOMAIN_TYPE = "sagemaker:domain"
RUNNING_JOB = "InProgress"
RUNNING_PIPELINE = "Executing"


@dataclass(frozen=True)
class Inventory:
    """Everything found for one environment."""

    environment: str
    resources: tuple[Resource, ...]
    # Studio domains found by tag: id -> exists (False: deleted, its EFS/SGs may remain).
    domains: dict[str, bool]

    def of(self, kind: Kind) -> list[Resource]:
        return [r for r in self.resources if r.kind is kind]


def tagged_arns(clients: Clients, environment: str, resource_types: Iterable[str]) -> set[str]:
    """ARNs (lower-cased) of the given types carrying this environment's tags."""
    types = sorted(set(resource_types))
    if not types:
        return set()
    paginator = clients.tagging.get_paginator("get_resources")
    pages = paginator.paginate(
        TagFilters=[
            {"Key": TAG_ENVIRONMENT, "Values": [environment]},
            {"Key": TAG_MANAGED_BY, "Values": [MANAGED_BY_VALUE]},
        ],
        ResourceTypeFilters=types,
        PaginationConfig={"PageSize": 100},
    )
    arns: set[str] = set()
    for page in pages:
        for mapping in page.get("ResourceTagMappingList", []):
            tags = {t["Key"]: t["Value"] for t in mapping.get("Tags", [])}
            # Checked again here: the filter is the API's promise, ownership is ours to keep.
            if tags.get(TAG_ENVIRONMENT) == environment and (
                tags.get(TAG_MANAGED_BY) == MANAGED_BY_VALUE
            ):
                arns.add(mapping["ResourceARN"].lower())
    return arns


def discover(
    clients: Clients,
    environment: str,
    kinds: Collection[Kind] = frozenset(Kind),
) -> Inventory:
    """Find this environment's resources of ``kinds`` (default: all)."""
    wanted = set(kinds)
    types = [TAGGED_TYPES[k] for k in wanted if k in TAGGED_TYPES]
    if Kind.PIPELINE_EXECUTION in wanted:
        types.append(PIPELINE_TYPE)
    studio_kinds = {Kind.STUDIO_APP, Kind.STUDIO_DOMAIN_CONTENT, Kind.STUDIO_LEFTOVERS}
    if wanted & studio_kinds:
        types.append(DOMAIN_TYPE)
    ours = tagged_arns(clients, environment, types)
    sm = clients.sagemaker

    found: list[Resource] = []
    listers: dict[Kind, Callable[[SageMakerClient, set[str]], Iterator[Resource]]] = {
        Kind.MONITORING_SCHEDULE: _monitoring_schedules,
        Kind.DATA_QUALITY_JOB_DEFINITION: partial(
            _job_definitions, kind=Kind.DATA_QUALITY_JOB_DEFINITION
        ),
        Kind.MODEL_QUALITY_JOB_DEFINITION: partial(
            _job_definitions, kind=Kind.MODEL_QUALITY_JOB_DEFINITION
        ),
        Kind.ENDPOINT: _endpoints,
        Kind.ENDPOINT_CONFIG: _lister(
            Kind.ENDPOINT_CONFIG, "list_endpoint_configs", "EndpointConfigs", "EndpointConfig"
        ),
        Kind.MODEL: _lister(Kind.MODEL, "list_models", "Models", "Model"),
        Kind.AUTOML_JOB: _lister(
            Kind.AUTOML_JOB,
            "list_auto_ml_jobs",
            "AutoMLJobSummaries",
            "AutoMLJob",
            running_only=True,
        ),
        Kind.TRAINING_JOB: _lister(
            Kind.TRAINING_JOB,
            "list_training_jobs",
            "TrainingJobSummaries",
            "TrainingJob",
            running_only=True,
        ),
        Kind.PROCESSING_JOB: _lister(
            Kind.PROCESSING_JOB,
            "list_processing_jobs",
            "ProcessingJobSummaries",
            "ProcessingJob",
            running_only=True,
        ),
        Kind.TRANSFORM_JOB: _lister(
            Kind.TRANSFORM_JOB,
            "list_transform_jobs",
            "TransformJobSummaries",
            "TransformJob",
            running_only=True,
        ),
        Kind.MODEL_PACKAGE_GROUP: _lister(
            Kind.MODEL_PACKAGE_GROUP,
            "list_model_package_groups",
            "ModelPackageGroupSummaryList",
            "ModelPackageGroup",
        ),
        Kind.PIPELINE_EXECUTION: _pipeline_executions,
    }
    for kind, lister in listers.items():
        if kind in wanted:
            found.extend(lister(sm, ours))
    if Kind.BUCKET in wanted:
        found.extend(_buckets(ours))

    domains: dict[str, bool] = {}
    if wanted & studio_kinds:
        for arn in sorted(a for a in ours if ":domain/" in a):
            domain_id = arn.rsplit("/", 1)[1]
            domains[domain_id] = _domain_exists(sm, domain_id)
        if Kind.STUDIO_APP in wanted:
            for domain_id, exists in domains.items():
                if exists:
                    found.extend(_studio_apps(sm, domain_id))
        for domain_id, exists in domains.items():
            if exists and Kind.STUDIO_DOMAIN_CONTENT in wanted:
                found.append(_domain_resource(Kind.STUDIO_DOMAIN_CONTENT, domain_id))
            if not exists and Kind.STUDIO_LEFTOVERS in wanted:
                found.append(_domain_resource(Kind.STUDIO_LEFTOVERS, domain_id))
    return Inventory(environment=environment, resources=tuple(found), domains=domains)


def _pages(sm: SageMakerClient, operation: str, key: str, **kwargs: Any) -> Iterator[Any]:
    paginator: Any = sm.get_paginator(operation)  # type: ignore[call-overload]
    # SageMaker lists default to 10 per page; 100 is their maximum.
    for page in paginator.paginate(**kwargs, PaginationConfig={"PageSize": 100}):
        yield from page.get(key, [])


def _endpoints(sm: SageMakerClient, ours: set[str]) -> Iterator[Resource]:
    for item in _pages(sm, "list_endpoints", "Endpoints"):
        if item["EndpointArn"].lower() in ours:
            yield Resource(
                kind=Kind.ENDPOINT,
                name=item["EndpointName"],
                arn=item["EndpointArn"],
                params={"EndpointName": item["EndpointName"]},
                status=item["EndpointStatus"],
                since=item.get("LastModifiedTime") or item["CreationTime"],
            )


def _monitoring_schedules(sm: SageMakerClient, ours: set[str]) -> Iterator[Resource]:
    """Schedules, with the endpoint each watches (they go before it)."""
    for item in _pages(sm, "list_monitoring_schedules", "MonitoringScheduleSummaries"):
        if item["MonitoringScheduleArn"].lower() in ours:
            yield Resource(
                kind=Kind.MONITORING_SCHEDULE,
                name=item["MonitoringScheduleName"],
                arn=item["MonitoringScheduleArn"],
                params={"MonitoringScheduleName": item["MonitoringScheduleName"]},
                status=item["MonitoringScheduleStatus"],
                since=item.get("LastModifiedTime") or item["CreationTime"],
                endpoint=item.get("EndpointName", ""),
            )


_DEFINITION_LISTS = {
    Kind.DATA_QUALITY_JOB_DEFINITION: "list_data_quality_job_definitions",
    Kind.MODEL_QUALITY_JOB_DEFINITION: "list_model_quality_job_definitions",
}


def _job_definitions(sm: SageMakerClient, ours: set[str], *, kind: Kind) -> Iterator[Resource]:
    for item in _pages(sm, _DEFINITION_LISTS[kind], "JobDefinitionSummaries"):
        if item["MonitoringJobDefinitionArn"].lower() in ours:
            name = item["MonitoringJobDefinitionName"]
            yield Resource(
                kind=kind,
                name=name,
                arn=item["MonitoringJobDefinitionArn"],
                params={"JobDefinitionName": name},
                since=item["CreationTime"],
                endpoint=item.get("EndpointName", ""),
            )


def _listed(
    sm: SageMakerClient,
    ours: set[str],
    *,
    kind: Kind,
    operation: str,
    key: str,
    prefix: str,
    running_only: bool = False,
) -> Iterator[Resource]:
    """Resources of one SageMaker list call whose ``<prefix>Arn`` is ours. With
    ``running_only`` (jobs), stopped and finished ones are left out: they cost nothing."""
    filters = {"StatusEquals": RUNNING_JOB} if running_only else {}
    for item in _pages(sm, operation, key, **filters):
        if item[f"{prefix}Arn"].lower() in ours:
            name = item[f"{prefix}Name"]
            yield Resource(
                kind=kind,
                name=name,
                arn=item[f"{prefix}Arn"],
                params={f"{prefix}Name": name},
                status=RUNNING_JOB if running_only else "",
                since=item["CreationTime"],
            )


def _lister(
    kind: Kind, operation: str, key: str, prefix: str, *, running_only: bool = False
) -> Callable[[SageMakerClient, set[str]], Iterator[Resource]]:
    return partial(
        _listed,
        kind=kind,
        operation=operation,
        key=key,
        prefix=prefix,
        running_only=running_only,
    )


def _pipeline_executions(sm: SageMakerClient, ours: set[str]) -> Iterator[Resource]:
    """Executions carry no tags of their own: they belong to a pipeline that does."""
    for pipeline in _pages(sm, "list_pipelines", "PipelineSummaries"):
        if pipeline["PipelineArn"].lower() not in ours:
            continue
        name = pipeline["PipelineName"]
        executions = _pages(
            sm, "list_pipeline_executions", "PipelineExecutionSummaries", PipelineName=name
        )
        for item in executions:
            if item.get("PipelineExecutionStatus") == RUNNING_PIPELINE:
                arn = item["PipelineExecutionArn"]
                yield Resource(
                    kind=Kind.PIPELINE_EXECUTION,
                    name=f"{name}/{arn.rsplit('/', 1)[1]}",
                    arn=arn,
                    params={"PipelineExecutionArn": arn},
                    status=RUNNING_PIPELINE,
                    since=item.get("StartTime"),
                )


def _buckets(ours: set[str]) -> Iterator[Resource]:
    for arn in sorted(ours):
        if arn.startswith("arn:") and arn.split(":")[2] == "s3":
            name = arn.rsplit(":", 1)[1]
            yield Resource(kind=Kind.BUCKET, name=name, arn=arn, params={"Bucket": name})


def _domain_exists(sm: SageMakerClient, domain_id: str) -> bool:
    try:
        sm.describe_domain(DomainId=domain_id)
    except ClientError as error:
        if is_not_found(error):
            return False
        raise
    return True


def _domain_resource(kind: Kind, domain_id: str) -> Resource:
    return Resource(kind=kind, name=domain_id, arn="", params={"DomainId": domain_id})


def _studio_apps(sm: SageMakerClient, domain_id: str) -> Iterator[Resource]:
    """Running apps of one of our domains, with their last user activity (one describe each)."""
    for item in _pages(sm, "list_apps", "Apps", DomainIdEquals=domain_id):
        if item.get("Status") != "InService":
            continue
        owner = (
            {"SpaceName": item["SpaceName"]}
            if item.get("SpaceName")
            else {"UserProfileName": item.get("UserProfileName", "")}
        )
        params = {
            "DomainId": domain_id,
            **owner,
            "AppType": item["AppType"],
            "AppName": item["AppName"],
        }
        described = sm.describe_app(**params)
        since = described.get("LastUserActivityTimestamp") or item.get("CreationTime")
        owner_name = next(iter(owner.values()))
        yield Resource(
            kind=Kind.STUDIO_APP,
            name=f"{domain_id}/{owner_name}/{item['AppType']}/{item['AppName']}",
            arn=described.get("AppArn", ""),
            params=params,
            status="InService",
            since=since,
        )
