"""SageMaker's monitoring schedules, which moto 5.2.5 lacks, added to moto's SageMaker backend.

moto has the job definitions (Create/Describe/List/Delete{DataQuality,ModelQuality}
JobDefinition) but no monitoring schedules or executions. :func:`install` adds
Create/Describe/Update/Start/Stop/Delete/ListMonitoringSchedule(s) and
ListMonitoringExecutions to moto's SageMaker responses, so every client that reaches moto gets
them: in-process tests (``mock_aws``) and the shipped Lambdas, which call the moto server over
HTTP (the server runs in the test process). The state lives on moto's SageMaker backend, so a
reset of the server (or a new ``mock_aws``) empties it like the rest of the account.

Every request to these operations, and to the job-definition and endpoint operations they
depend on, is checked against the service model first (:mod:`tests.service_model`: patterns,
enums, lengths, which botocore leaves to the service); every answer against the operation's
output shape. The rules of SageMaker the platform's logic relies on are kept:

* a schedule names an existing job definition of its ``MonitoringType``, whose endpoint exists
  (SageMaker verifies that the endpoint exists when a schedule is created:
  aws/sagemaker-python-sdk#4873); schedule names are unique (``ResourceInUse``);
* a ``Pending`` schedule can be neither updated nor deleted (ValidationException "Monitoring
  schedule in status Pending", aws/amazon-sagemaker-examples#2342);
* schedules are found by the Resource Groups Tagging API with their tags
  (``sagemaker:monitoring-schedule``; GetResources "support[s] all resource types").

Two rules are *assumed*, stricter than AWS documents, so that a wrong order fails here whatever
AWS does: a job definition a schedule uses cannot be deleted (``ResourceInUse``), and an
endpoint that schedules watch cannot be deleted (ValidationException).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.validate import ParamValidator
from moto.core.exceptions import ServiceException
from moto.core.resource_tagging import TaggedResource
from moto.core.responses import ActionResult
from moto.core.utils import camelcase_to_underscores
from moto.sagemaker.models import SageMakerModelBackend
from moto.sagemaker.responses import SageMakerResponse

from tests.service_model import _operation, request_problems

SCHEDULE_OPERATIONS = (
    "CreateMonitoringSchedule",
    "DescribeMonitoringSchedule",
    "UpdateMonitoringSchedule",
    "StartMonitoringSchedule",
    "StopMonitoringSchedule",
    "DeleteMonitoringSchedule",
    "ListMonitoringSchedules",
    "ListMonitoringExecutions",
)
# moto's own operations, checked first (and refused while a schedule depends on the resource).
CHECKED_OPERATIONS = (
    "CreateDataQualityJobDefinition",
    "CreateModelQualityJobDefinition",
    "DeleteDataQualityJobDefinition",
    "DeleteModelQualityJobDefinition",
    "DeleteEndpoint",
)
_STATE = "_mlops_monitoring"


class _Refused(ServiceException):
    """An error as SageMaker answers it (code and message)."""


@dataclass
class Monitoring:
    """The monitoring half of one account and region's SageMaker."""

    schedules: dict[str, dict[str, Any]] = field(default_factory=dict)
    executions: list[dict[str, Any]] = field(default_factory=list)


def state(backend: SageMakerModelBackend) -> Monitoring:
    """The schedules of a moto SageMaker backend (created empty on first use)."""
    found = backend.__dict__.get(_STATE)
    if found is None:
        found = backend.__dict__[_STATE] = Monitoring()
    assert isinstance(found, Monitoring)
    return found


def _definitions(backend: SageMakerModelBackend, monitor: str) -> dict[str, Any]:
    store: dict[str, Any] = (
        backend.data_quality_job_definitions
        if monitor == "DataQuality"
        else backend.model_quality_job_definitions
    )
    return store


def _endpoint_of(backend: SageMakerModelBackend, definition: str, monitor: str) -> str:
    job = _definitions(backend, monitor)[definition]
    job_input = (
        job.data_quality_job_input if monitor == "DataQuality" else job.model_quality_job_input
    )
    return str(job_input["EndpointInput"]["EndpointName"])


def _check_config(backend: SageMakerModelBackend, config: dict[str, Any]) -> str:
    name, monitor = config["MonitoringJobDefinitionName"], config["MonitoringType"]
    if name not in _definitions(backend, monitor):
        raise _Refused("ValidationException", f"Job definition {name} does not exist")
    endpoint = _endpoint_of(backend, name, monitor)
    if endpoint not in backend.endpoints:
        raise _Refused("ValidationException", f"Could not find endpoint {endpoint}")
    return endpoint


def _get(monitoring: Monitoring, name: str) -> dict[str, Any]:
    if name not in monitoring.schedules:
        raise _Refused("ResourceNotFound", f"Monitoring schedule {name} not found")
    return monitoring.schedules[name]


def _editable(schedule: dict[str, Any]) -> None:
    if schedule["MonitoringScheduleStatus"] == "Pending":
        raise _Refused("ValidationException", "Monitoring schedule in status Pending")


def _summary(schedule: dict[str, Any]) -> dict[str, Any]:
    return {
        "MonitoringScheduleName": schedule["MonitoringScheduleName"],
        "MonitoringScheduleArn": schedule["MonitoringScheduleArn"],
        "CreationTime": schedule["CreationTime"],
        "LastModifiedTime": schedule["LastModifiedTime"],
        "MonitoringScheduleStatus": schedule["MonitoringScheduleStatus"],
        "EndpointName": schedule["EndpointName"],
        "MonitoringJobDefinitionName": schedule["MonitoringScheduleConfig"][
            "MonitoringJobDefinitionName"
        ],
        "MonitoringType": schedule["MonitoringType"],
    }


def answer(backend: SageMakerModelBackend, operation: str, request: dict[str, Any]) -> Any:
    """SageMaker's answer to one schedule operation (raises what SageMaker would refuse)."""
    monitoring = state(backend)
    now = datetime.now(UTC)
    if operation == "CreateMonitoringSchedule":
        name = request["MonitoringScheduleName"]
        if name in monitoring.schedules:
            raise _Refused("ResourceInUse", f"Monitoring schedule {name} exists")
        endpoint = _check_config(backend, request["MonitoringScheduleConfig"])
        arn = (
            f"arn:aws:sagemaker:{backend.region_name}:{backend.account_id}:"
            f"monitoring-schedule/{name}"
        )
        monitoring.schedules[name] = {
            "MonitoringScheduleArn": arn,
            "MonitoringScheduleName": name,
            "MonitoringScheduleStatus": "Scheduled",
            "MonitoringType": request["MonitoringScheduleConfig"]["MonitoringType"],
            "CreationTime": now,
            "LastModifiedTime": now,
            "MonitoringScheduleConfig": request["MonitoringScheduleConfig"],
            "EndpointName": endpoint,
            "Tags": request.get("Tags", []),
        }
        return {"MonitoringScheduleArn": arn}
    if operation == "DescribeMonitoringSchedule":
        schedule = _get(monitoring, request["MonitoringScheduleName"])
        return {k: v for k, v in schedule.items() if k != "Tags"}
    if operation == "UpdateMonitoringSchedule":
        schedule = _get(monitoring, request["MonitoringScheduleName"])
        _editable(schedule)
        _check_config(backend, request["MonitoringScheduleConfig"])
        schedule["MonitoringScheduleConfig"] = request["MonitoringScheduleConfig"]
        schedule["LastModifiedTime"] = now
        return {"MonitoringScheduleArn": schedule["MonitoringScheduleArn"]}
    if operation in ("StartMonitoringSchedule", "StopMonitoringSchedule"):
        schedule = _get(monitoring, request["MonitoringScheduleName"])
        started = operation == "StartMonitoringSchedule"
        schedule["MonitoringScheduleStatus"] = "Scheduled" if started else "Stopped"
        return {}
    if operation == "DeleteMonitoringSchedule":
        schedule = _get(monitoring, request["MonitoringScheduleName"])
        _editable(schedule)
        del monitoring.schedules[request["MonitoringScheduleName"]]
        return {}
    if operation == "ListMonitoringSchedules":
        found = [
            s
            for s in monitoring.schedules.values()
            if request.get("EndpointName") in (None, s["EndpointName"])
            and request.get("MonitoringJobDefinitionName")
            in (None, s["MonitoringScheduleConfig"]["MonitoringJobDefinitionName"])
            and request.get("NameContains", "") in s["MonitoringScheduleName"]
            and request.get("StatusEquals") in (None, s["MonitoringScheduleStatus"])
        ]
        found.sort(key=lambda s: s["MonitoringScheduleName"])
        return {"MonitoringScheduleSummaries": [_summary(s) for s in found]}
    if operation == "ListMonitoringExecutions":
        runs = [
            run
            for run in monitoring.executions
            if run["MonitoringScheduleName"] == request["MonitoringScheduleName"]
        ]
        runs.sort(key=lambda run: run["ScheduledTime"], reverse=True)
        return {"MonitoringExecutionSummaries": runs[: request.get("MaxResults", 10)]}
    raise AssertionError(f"unexpected {operation}")


def _checked(operation: str, request: dict[str, Any]) -> None:
    problems = request_problems("sagemaker", operation, request)
    if problems:
        raise _Refused("ValidationException", "; ".join(problems))


def _refuse_while_used(backend: SageMakerModelBackend, operation: str, request: Any) -> None:
    """The two assumed rules (module doc)."""
    schedules = state(backend).schedules.values()
    if operation == "DeleteEndpoint":
        watching = [s["MonitoringScheduleName"] for s in schedules
                    if s["EndpointName"] == request["EndpointName"]]  # fmt: skip
        if watching:
            raise _Refused(
                "ValidationException",
                f"Endpoint {request['EndpointName']} has monitoring schedules: {watching}",
            )
    elif operation.startswith("Delete") and operation.endswith("JobDefinition"):
        name = request["JobDefinitionName"]
        if any(s["MonitoringScheduleConfig"]["MonitoringJobDefinitionName"] == name
               for s in schedules):  # fmt: skip
            raise _Refused("ResourceInUse", f"Job definition {name} is used by a schedule")


def _stand_in(operation: str) -> Callable[[SageMakerResponse], ActionResult]:
    output = _operation("sagemaker", operation).output_shape

    def respond(self: SageMakerResponse) -> ActionResult:
        request = self._get_params()
        _checked(operation, request)
        result = answer(self.sagemaker_backend, operation, request)
        if output is not None:
            report = ParamValidator().validate(result, output)
            assert not report.has_errors(), report.generate_report()
        return ActionResult(result)

    return respond


def _guarded(
    operation: str, original: Callable[[SageMakerResponse], Any]
) -> Callable[[SageMakerResponse], Any]:
    @functools.wraps(original)
    def respond(self: SageMakerResponse) -> Any:
        request = self._get_params()
        _checked(operation, request)
        _refuse_while_used(self.sagemaker_backend, operation, request)
        return original(self)

    return respond


def _with_schedules(
    original: Callable[[SageMakerModelBackend], Iterator[TaggedResource]],
) -> Callable[[SageMakerModelBackend], Iterator[TaggedResource]]:
    @functools.wraps(original)
    def resources(self: SageMakerModelBackend) -> Iterator[TaggedResource]:
        yield from original(self)
        for schedule in state(self).schedules.values():
            yield TaggedResource(
                arn=schedule["MonitoringScheduleArn"],
                tags={t["Key"]: t["Value"] for t in schedule["Tags"]},
                resource_type="sagemaker:monitoring-schedule",
            )

    return resources


@functools.cache
def install() -> None:
    """Add the schedule operations to moto (once per process; see the module doc)."""
    for operation in SCHEDULE_OPERATIONS:
        setattr(SageMakerResponse, camelcase_to_underscores(operation), _stand_in(operation))
    for operation in CHECKED_OPERATIONS:
        method = camelcase_to_underscores(operation)
        setattr(SageMakerResponse, method, _guarded(operation, getattr(SageMakerResponse, method)))
    SageMakerModelBackend.iter_tagged_resources = _with_schedules(  # type: ignore[method-assign,assignment]
        SageMakerModelBackend.iter_tagged_resources
    )
