"""SageMaker Service Quotas: what a run needs, what is applied, what is in use, and a decision.

One implementation, used by the training pipeline's preflight Lambda step, by the CLI
(``python -m mlops quotas check`` / ``pipeline start``) and by the deployment logic (endpoint
capacity for a new fleet: ``check([Need("endpoint", type, instance_count)])``).

SageMaker quotas are named ``"<instance type> for <usage> usage"``, e.g. ``"ml.m5.large for
endpoint usage"``. Quota codes differ between regions and change over time, so quotas are
matched **by name**. ``ListServiceQuotas`` only returns quotas with an applied value; a quota
that has never been changed is looked up in ``ListAWSDefaultServiceQuotas`` instead.

Needs are grouped in *stages*: needs of one stage hold instances at the same time, so needs of
the same quota add up within a stage; stages follow each other, so a quota must hold the
largest stage. Current use counts the instances of that type held right now: in-progress
processing, training and transform jobs (the instance type a job was given, or the one
SageMaker selected from its instance preferences), and endpoints in every state that holds
instances (InService, Creating, Updating, SystemUpdating, RollingBack, UpdateRollbackFailed)
with their current production and shadow variants, plus the fleet of a deployment in progress
(``PendingDeploymentSummary``: a blue/green switch holds both fleets). A job or endpoint that
cannot be described any more (deleted meanwhile, or its endpoint config deleted) is skipped and
logged: one team's leftover must not stop every preflight and deployment of the account.

A new fleet comes on top of current use, which already counts a live endpoint's fleet: a first
deployment and a blue/green switch of an existing endpoint both need ``instance_count`` more.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import ClientError

from mlops.errors import InputError

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_service_quotas import ServiceQuotasClient

SERVICE_CODE = "sagemaker"
Usage = Literal["processing job", "training job", "transform job", "endpoint"]
USAGES: tuple[Usage, ...] = ("processing job", "training job", "transform job", "endpoint")
Verdict = Literal["proceed", "fallback", "stop"]
# Requests in these states are still being decided: never file a second one.
PENDING_REQUEST_STATUSES = ("PENDING", "CASE_OPENED")
# Endpoint states in which the endpoint holds instances (DescribeEndpoint's EndpointStatus).
ENDPOINT_HOLDING_STATUSES = (
    "InService",
    "Creating",
    "Updating",
    "SystemUpdating",
    "RollingBack",
    "UpdateRollbackFailed",
)
# What SageMaker answers for a resource that is gone (e.g. "Could not find endpoint
# configuration"): such a resource is skipped, any other error is raised.
_GONE_ERRORS = ("ValidationException", "ResourceNotFound")

_log = logging.getLogger(__name__)


def quota_name(instance_type: str, usage: Usage) -> str:
    """The Service Quotas name of the instance quota, e.g. ``ml.m5.large for endpoint usage``."""
    return f"{instance_type} for {usage} usage"


@dataclass(frozen=True)
class Need:
    """``count`` instances of ``instance_type`` for ``usage``, held at the same time.

    ``fallback_allowed``: the caller can run this work on another instance type (pipeline steps
    whose instance type is a parameter); work whose type is fixed (Autopilot's own jobs, the
    endpoint) cannot switch. ``stage``: needs of one stage run at the same time (they add up
    on a shared quota); different stages run one after the other.
    """

    usage: Usage
    instance_type: str
    count: int
    purpose: str = ""
    fallback_allowed: bool = True
    stage: str = ""

    def __post_init__(self) -> None:
        if self.usage not in USAGES:
            raise InputError(f"usage {self.usage!r} unknown; allowed: {', '.join(USAGES)}")
        if self.count < 1:
            raise InputError(f"count for {self.instance_type} must be >= 1, got {self.count}")

    @property
    def quota_name(self) -> str:
        return quota_name(self.instance_type, self.usage)


@dataclass(frozen=True)
class Quota:
    code: str
    name: str
    value: float
    applied: bool  # False: the AWS default (no applied value for this account)
    adjustable: bool = True


@dataclass(frozen=True)
class QuotaCheck:
    """One need against its quota."""

    need: Need
    quota: Quota
    in_use: int
    pending_request_id: str | None = None  # an increase request still being decided
    filed_request_id: str | None = None  # the request this check filed

    @property
    def available(self) -> float:
        return self.quota.value - self.in_use

    @property
    def sufficient(self) -> bool:
        return self.available >= self.need.count

    @property
    def verdict(self) -> str:
        return "ok" if self.sufficient else "SHORT"


@dataclass(frozen=True)
class Decision:
    """What the run does: proceed (maybe on the fallback type) or stop, and why."""

    verdict: Verdict
    checks: tuple[QuotaCheck, ...]
    # Instance type to use per usage after fallbacks (only usages among the needs).
    instance_types: Mapping[str, str] = field(default_factory=dict)
    message: str = ""

    @property
    def proceed(self) -> bool:
        return self.verdict != "stop"


class QuotaCatalog:
    """SageMaker quotas by name, listed once (all pages) and cached for the catalog's life."""

    def __init__(self, client: ServiceQuotasClient, *, service_code: str = SERVICE_CODE) -> None:
        self._client = client
        self._service_code = service_code
        self._applied: dict[str, Quota] | None = None
        self._defaults: dict[str, Quota] | None = None

    def _list(self, operation: str, *, applied: bool) -> dict[str, Quota]:
        quotas: dict[str, Quota] = {}
        paginator = self._client.get_paginator(operation)  # type: ignore[call-overload]
        for page in paginator.paginate(ServiceCode=self._service_code):
            for item in page.get("Quotas", []):
                if "Value" not in item or "QuotaName" not in item:
                    continue
                quotas[item["QuotaName"]] = Quota(
                    code=item["QuotaCode"],
                    name=item["QuotaName"],
                    value=float(item["Value"]),
                    applied=applied,
                    adjustable=bool(item.get("Adjustable", True)),
                )
        return quotas

    def find(self, name: str) -> Quota:
        """The applied quota named ``name``, else its AWS default; InputError when neither."""
        if self._applied is None:
            self._applied = self._list("list_service_quotas", applied=True)
        if name in self._applied:
            return self._applied[name]
        if self._defaults is None:
            self._defaults = self._list("list_aws_default_service_quotas", applied=False)
        if name in self._defaults:
            return self._defaults[name]
        raise InputError(
            f"no Service Quotas quota named {name!r} for {self._service_code} in this region "
            "(check the instance type and that SageMaker offers it here)"
        )

    def pending_request(self, quota: Quota) -> str | None:
        """Id of an increase request for ``quota`` still being decided, if any."""
        for status in PENDING_REQUEST_STATUSES:
            paginator = self._client.get_paginator(
                "list_requested_service_quota_change_history_by_quota"
            )
            for page in paginator.paginate(
                ServiceCode=self._service_code,
                QuotaCode=quota.code,
                Status=status,  # type: ignore[arg-type]
            ):
                for request in page.get("RequestedQuotas", []):
                    return request.get("Id", "unknown")
        return None

    def request_increase(self, quota: Quota, desired: float) -> str:
        response = self._client.request_service_quota_increase(
            ServiceCode=self._service_code, QuotaCode=quota.code, DesiredValue=desired
        )
        return response["RequestedQuota"].get("Id", "unknown")


def _pages(client: Any, operation: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    yield from client.get_paginator(operation).paginate(**kwargs)


class UsageCounter:
    """Instances currently held, per (usage, instance type); SageMaker is listed once per usage."""

    def __init__(self, client: SageMakerClient) -> None:
        self._client = client
        self._cache: dict[Usage, dict[str, int]] = {}

    def in_use(self, usage: Usage, instance_type: str) -> int:
        if usage not in self._cache:
            self._cache[usage] = self._count(usage)
        return self._cache[usage].get(instance_type, 0)

    def _count(self, usage: Usage) -> dict[str, int]:
        counts: dict[str, int] = {}

        def add(instance_type: str | None, count: int | None) -> None:
            if instance_type:
                counts[instance_type] = counts.get(instance_type, 0) + (count or 0)

        client = self._client
        if usage == "processing job":
            for job in self._in_progress("list_processing_jobs", "ProcessingJobSummaries"):
                described = self._describe(
                    "describe_processing_job", ProcessingJobName=job["ProcessingJobName"]
                )
                if described is not None:
                    self._add_selected(described["ProcessingResources"]["ClusterConfig"], job, add)
        elif usage == "training job":
            for job in self._in_progress("list_training_jobs", "TrainingJobSummaries"):
                training = self._describe(
                    "describe_training_job", TrainingJobName=job["TrainingJobName"]
                )
                if training is None:
                    continue
                resources = training["ResourceConfig"]
                if resources.get("InstanceGroups"):
                    for group in resources["InstanceGroups"]:
                        add(group["InstanceType"], group["InstanceCount"])
                else:
                    self._add_selected(resources, job, add)
        elif usage == "transform job":
            for job in self._in_progress("list_transform_jobs", "TransformJobSummaries"):
                transform = self._describe(
                    "describe_transform_job", TransformJobName=job["TransformJobName"]
                )
                if transform is not None:
                    resources = transform["TransformResources"]
                    add(resources["InstanceType"], resources["InstanceCount"])
        else:
            for status in ENDPOINT_HOLDING_STATUSES:
                for page in _pages(client, "list_endpoints", StatusEquals=status):
                    for endpoint in page["Endpoints"]:
                        self._count_endpoint(endpoint["EndpointName"], add)
        return counts

    def _in_progress(self, operation: str, key: str) -> Iterator[Mapping[str, Any]]:
        for page in _pages(self._client, operation, StatusEquals="InProgress"):
            yield from page[key]

    def _describe(self, operation: str, **name: str) -> dict[str, Any] | None:
        """The Describe response, or None (logged) when the resource is gone."""
        try:
            return dict(getattr(self._client, operation)(**name))
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code not in _GONE_ERRORS:
                raise
            _log.warning("quota use: skipped %s %s: %s", operation, name, error)
            return None

    @staticmethod
    def _add_selected(resources: Mapping[str, Any], job: Mapping[str, Any], add: Any) -> None:
        """A job's instances: the type SageMaker selected from ``InstancePreferences`` when it
        used them, else the type it was given (DescribeProcessingJob/DescribeTrainingJob)."""
        instance_type = resources.get("SelectedInstanceType") or resources.get("InstanceType")
        count = resources.get("SelectedInstanceCount") or resources.get("InstanceCount")
        if not instance_type:
            # Preferences not resolved yet: no type to count it against.
            _log.warning("quota use: %s has no instance type yet, not counted", dict(job))
            return
        add(instance_type, count)

    def _count_endpoint(self, name: str, add: Any) -> None:
        described = self._describe("describe_endpoint", EndpointName=name)
        if described is None:
            return
        current = described.get("ProductionVariants", [])
        shadow = described.get("ShadowProductionVariants", [])
        if current or shadow:
            # The variant summaries carry counts only: their instance types are in the config.
            config = self._describe(
                "describe_endpoint_config", EndpointConfigName=described["EndpointConfigName"]
            )
            if config is not None:
                types = {
                    variant["VariantName"]: variant.get("InstanceType")
                    for variant in (
                        *config.get("ProductionVariants", []),
                        *config.get("ShadowProductionVariants", []),
                    )
                }
                for variant in (*current, *shadow):
                    add(types.get(variant["VariantName"]), variant.get("CurrentInstanceCount", 0))
        # A deployment in progress (creating, or updating to a new config: a blue/green switch)
        # holds its own fleet next to the current one, described with its instance types.
        pending = described.get("PendingDeploymentSummary")
        if pending and (
            not current or pending["EndpointConfigName"] != described.get("EndpointConfigName")
        ):
            for summary in pending.get("ProductionVariants", []):
                held = max(
                    summary.get("CurrentInstanceCount", 0), summary.get("DesiredInstanceCount", 0)
                )
                add(summary.get("InstanceType"), held)


def check(
    needs: Iterable[Need],
    *,
    quotas_client: ServiceQuotasClient,
    sagemaker_client: SageMakerClient,
) -> list[QuotaCheck]:
    """Each need against its quota and current use (no decision, no request)."""
    catalog = QuotaCatalog(quotas_client)
    usage = UsageCounter(sagemaker_client)
    return [_check_one(need, catalog, usage) for need in _merge(needs)]


def _merge(needs: Iterable[Need]) -> list[Need]:
    """One need per quota: counts of one stage add up (they run at the same time), the
    largest stage is what the quota must hold (stages run one after the other)."""
    by_quota: dict[tuple[str, str], dict[str, list[Need]]] = {}
    for need in needs:
        stages = by_quota.setdefault((need.usage, need.instance_type), {})
        stages.setdefault(need.stage, []).append(need)
    merged = []
    for stages in by_quota.values():
        group = [need for stage in stages.values() for need in stage]
        count = max(sum(need.count for need in stage) for stage in stages.values())
        merged.append(
            replace(
                group[0],
                count=count,
                purpose=", ".join(dict.fromkeys(n.purpose for n in group if n.purpose)),
                fallback_allowed=any(need.fallback_allowed for need in group),
                stage="",
            )
        )
    return merged


def _check_one(need: Need, catalog: QuotaCatalog, usage: UsageCounter) -> QuotaCheck:
    quota = catalog.find(need.quota_name)
    return QuotaCheck(need=need, quota=quota, in_use=usage.in_use(need.usage, need.instance_type))


def preflight(
    needs: Sequence[Need],
    *,
    quotas_client: ServiceQuotasClient,
    sagemaker_client: SageMakerClient,
    fallback_instance_type: str | None = None,
    request_increase: bool = False,
) -> Decision:
    """Decide whether a run can start: proceed, switch short work to the fallback, or stop.

    When a quota is short and some of its work can switch (``fallback_allowed``), all
    switchable work of that usage moves to ``fallback_instance_type`` if, with it moved, every
    quota of that usage holds. Otherwise the run stops; with ``request_increase`` one increase
    request is filed per short quota, to what is needed (never when a request for that quota
    is still pending: that one is reported instead).
    """
    catalog = QuotaCatalog(quotas_client)
    usage = UsageCounter(sagemaker_client)
    needs = list(needs)

    def evaluate(plan: Mapping[str, str]) -> list[QuotaCheck]:
        moved = [
            replace(need, instance_type=plan[need.usage])
            if need.fallback_allowed and need.usage in plan
            else need
            for need in needs
        ]
        return [_check_one(need, catalog, usage) for need in _merge(moved)]

    plan: dict[str, str] = {}
    checks = evaluate(plan)
    replaced: list[QuotaCheck] = []
    fallbacks: list[str] = []
    short_usages = [c.need.usage for c in checks if not c.sufficient and c.need.fallback_allowed]
    for short_usage in dict.fromkeys(short_usages):
        if not fallback_instance_type:
            break
        preferred = {
            n.instance_type for n in needs if n.usage == short_usage and n.fallback_allowed
        }
        if preferred == {fallback_instance_type}:
            continue
        trial = evaluate({**plan, short_usage: fallback_instance_type})
        if all(c.sufficient for c in trial if c.need.usage == short_usage):
            replaced += [c for c in checks if c.need.usage == short_usage and not c.sufficient]
            plan[short_usage] = fallback_instance_type
            checks = trial
            fallbacks.append(
                f"{short_usage} on {fallback_instance_type} instead of "
                f"{', '.join(sorted(preferred))}"
            )

    final: list[QuotaCheck] = []
    short: list[QuotaCheck] = []
    for result in checks:
        if not result.sufficient:
            pending = catalog.pending_request(result.quota)
            filed = None
            if pending is None and request_increase and result.quota.adjustable:
                desired = float(math.ceil(result.in_use + result.need.count))
                filed = catalog.request_increase(result.quota, desired)
            result = replace(result, pending_request_id=pending, filed_request_id=filed)
            short.append(result)
        final.append(result)

    # Per usage: the type of the work that can switch (after fallback), else the fixed one.
    instance_types: dict[str, str] = {}
    for need in sorted(needs, key=lambda n: not n.fallback_allowed):
        chosen_type = plan.get(need.usage, need.instance_type) if need.fallback_allowed else None
        instance_types.setdefault(need.usage, chosen_type or need.instance_type)
    if short:
        verdict: Verdict = "stop"
        message = "Stopped before starting: " + "; ".join(_short_message(c) for c in short)
    elif fallbacks:
        verdict = "fallback"
        message = "Proceeding with fallback: " + "; ".join(fallbacks)
    else:
        verdict = "proceed"
        message = f"Proceeding: {len(final)} quotas cover this run"
    return Decision(
        verdict=verdict,
        checks=(*replaced, *final),
        instance_types=instance_types,
        message=message,
    )


def _short_message(check: QuotaCheck) -> str:
    text = (
        f"quota '{check.quota.name}' is {_number(check.quota.value)}"
        f"{'' if check.quota.applied else ' (AWS default)'}, {check.in_use} in use, "
        f"{check.need.count} needed"
    )
    if check.pending_request_id:
        text += f"; increase request {check.pending_request_id} is pending"
    elif check.filed_request_id:
        text += f"; filed increase request {check.filed_request_id}"
    else:
        text += "; request an increase in Service Quotas"
    return text


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


TABLE_HEADER = ("quota", "needed", "applied", "in use", "verdict")


def table_rows(checks: Iterable[QuotaCheck]) -> list[tuple[str, str, str, str, str]]:
    rows = []
    for c in checks:
        applied = _number(c.quota.value) + ("" if c.quota.applied else " (default)")
        verdict = c.verdict
        if c.pending_request_id:
            verdict += f" (request {c.pending_request_id} pending)"
        elif c.filed_request_id:
            verdict += f" (filed request {c.filed_request_id})"
        rows.append((c.quota.name, str(c.need.count), applied, str(c.in_use), verdict))
    return rows


def format_table(checks: Iterable[QuotaCheck]) -> str:
    """Plain-text table: quota, needed, applied, in use, verdict."""
    rows = [TABLE_HEADER, *table_rows(checks)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(TABLE_HEADER))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


# The training pipeline's preflight: what one run and its later deployment hold.
PREFLIGHT_FIELDS = (
    "processing_instance_type",
    "transform_instance_type",
    "automl_processing_instance_type",
    "automl_training_instance_type",
    "endpoint_instance_type",
)
# Present only with monitoring enabled (the pipeline passes it then).
PREFLIGHT_OPTIONAL_FIELDS = ("monitoring_instance_type",)
PREFLIGHT_COUNTS = (
    "partition_instance_count",
    "automl_training_instances",
    "endpoint_instance_count",
)


@dataclass(frozen=True)
class PreflightRequest:
    """What the pipeline's preflight step (and ``pipeline start``) checks, stage by stage:

    1. ``partition``: the Partition step on ``partition_instance_count`` instances (then a
       one-instance merge when there are several);
    2. ``autopilot``: test preparation and Clarify next to Autopilot's processing and training
       jobs (Autopilot picks its own instance types in ensembling mode: they cannot fall back);
    3. ``scoring``: the batch transform, then evaluation, while Clarify may still run;
    4. with monitoring (``monitoring_instance_type`` given): the monitoring datasets join
       ``scoring``; ``baselines``: both baseline jobs, while evaluation and Clarify may still
       run;
    5. ``deployment``: the endpoint's new fleet on top of current use (a blue/green switch
       holds the live fleet, which current use already counts, and the new one), and with
       monitoring one ``monitoring_instance_type`` processing instance for the endpoint's
       schedules (one execution at a time per group: docs/monitoring.md).
    """

    processing_instance_type: str
    transform_instance_type: str
    automl_processing_instance_type: str
    automl_training_instance_type: str
    endpoint_instance_type: str
    partition_instance_count: int = 1
    automl_training_instances: int = 1
    endpoint_instance_count: int = 1
    monitoring_instance_type: str | None = None  # None: monitoring disabled

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> PreflightRequest:
        """Parse the Lambda step's inputs; InputError names the first wrong field."""
        if not isinstance(event, Mapping):
            raise InputError(f"event must be an object, got {type(event).__name__}")
        values: dict[str, Any] = {}
        for name in (*PREFLIGHT_FIELDS, *PREFLIGHT_OPTIONAL_FIELDS):
            value = event.get(name)
            if value is None and name in PREFLIGHT_OPTIONAL_FIELDS:
                continue
            if not isinstance(value, str) or not value.startswith("ml."):
                raise InputError(f"{name} must be an instance type like ml.m5.large, got {value!r}")
            values[name] = value
        for name in PREFLIGHT_COUNTS:
            raw = event.get(name, 1)
            try:
                number = int(raw)
            except (TypeError, ValueError):
                raise InputError(f"{name} must be a whole number, got {raw!r}") from None
            if number < 1:
                raise InputError(f"{name} must be >= 1, got {number}")
            values[name] = number
        return cls(**values)

    def needs(self) -> list[Need]:
        processing = self.processing_instance_type
        needs = [
            Need("processing job", processing, self.partition_instance_count, "partition",
                 stage="partition"),
            Need("processing job", processing, 1, "test preparation", stage="autopilot"),
            Need("processing job", processing, 1, "Clarify", stage="autopilot"),
            Need("processing job", self.automl_processing_instance_type, 1,
                 "Autopilot data processing", fallback_allowed=False, stage="autopilot"),
            Need("training job", self.automl_training_instance_type,
                 self.automl_training_instances, "Autopilot candidates", fallback_allowed=False,
                 stage="autopilot"),
            Need("transform job", self.transform_instance_type, 1, "test-split scoring",
                 stage="scoring"),
            Need("processing job", processing, 1, "evaluation", stage="scoring"),
            Need("processing job", processing, 1, "Clarify", stage="scoring"),
            Need("endpoint", self.endpoint_instance_type, self.endpoint_instance_count,
                 "new endpoint fleet (blue/green)", fallback_allowed=False, stage="deployment"),
        ]  # fmt: skip
        if self.partition_instance_count > 1:
            needs.insert(1, Need("processing job", processing, 1, "merge", stage="merge"))
        if self.monitoring_instance_type is not None:
            needs += [
                Need("processing job", processing, 1, "monitoring datasets", stage="scoring"),
                Need("processing job", processing, 1, "evaluation", stage="baselines"),
                Need("processing job", processing, 1, "Clarify", stage="baselines"),
                Need("processing job", processing, 2, "data- and model-quality baselines",
                     stage="baselines"),
                Need("processing job", self.monitoring_instance_type, 1,
                     "monitoring executions of the endpoint", fallback_allowed=False,
                     stage="deployment"),
            ]  # fmt: skip
        return needs


def preflight_output(decision: Decision, request: PreflightRequest) -> dict[str, Any]:
    """The Lambda step's outputs (flat strings and a boolean, as pipelines require)."""
    return {
        "proceed": decision.proceed,
        "verdict": decision.verdict,
        "message": decision.message,
        "processing_instance_type": decision.instance_types.get(
            "processing job", request.processing_instance_type
        ),
        "transform_instance_type": decision.instance_types.get(
            "transform job", request.transform_instance_type
        ),
    }
