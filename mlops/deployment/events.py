"""The SageMaker events of a deployment: approval decisions in, endpoint trouble out.

*Approval decisions* (``SageMaker Model Package State Change``) reach the deploy Lambda
through the queue; :func:`parse_approval_event` checks one and refuses anything else with its
reason. The queue only receives what the EventBridge rule matched, so a refusal means a message
that was sent by hand, a rule that was changed, or a group removed from the config since. A
retry cannot fix such a message: it is reported failed at once and reaches the dead-letter
queue (see ``mlops.deployment.service``).

*Endpoint trouble* (``SageMaker Endpoint State Change`` and ``SageMaker Endpoint Deployment
State Change``, documented in "Events that Amazon SageMaker AI sends to Amazon EventBridge",
docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html) goes
straight from an EventBridge rule to the environment's topic; the statuses it matches are
defined here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlops.errors import InputError

SOURCE = "aws.sagemaker"
DETAIL_TYPE = "SageMaker Model Package State Change"
DECISIONS = ("Approved", "Rejected")

ENDPOINT_DETAIL_TYPES = (
    "SageMaker Endpoint State Change",
    "SageMaker Endpoint Deployment State Change",
)
# Endpoint statuses a person must hear about (botocore's EndpointStatus enum): a failed create
# or update, an endpoint out of service, a rollback, a rollback that failed.
ATTENTION_STATUSES = ("Failed", "OutOfService", "RollingBack", "UpdateRollbackFailed")


def event_spellings(statuses: tuple[str, ...]) -> list[str]:
    """Each status as the API spells it (``OutOfService``) and as the documented event
    examples spell statuses (``IN_SERVICE``, ``UPDATING``): AWS documents no list of the
    values events carry, so a rule matches both."""
    upper = [re.sub(r"(?<!^)(?=[A-Z])", "_", status).upper() for status in statuses]
    return [*statuses, *upper]


@dataclass(frozen=True)
class ApprovalEvent:
    event_id: str
    group: str  # the logical group (config key)
    package_group: str  # its SageMaker Model Package Group name
    package_arn: str
    status: str  # as reported by the event: informative only, never trusted


def parse_approval_event(body: str, package_groups: Mapping[str, str]) -> ApprovalEvent:
    """The EventBridge event in an SQS message body; InputError says what is wrong.

    ``package_groups`` maps the environment's SageMaker group names to logical groups
    (``DeploySettings.package_groups``)."""
    try:
        event: Any = json.loads(body)
    except (json.JSONDecodeError, TypeError) as error:
        raise InputError(f"message body is not JSON: {error}") from None
    if not isinstance(event, dict):
        raise InputError("message body is not a JSON object")
    if event.get("source") != SOURCE:
        raise InputError(f"source {event.get('source')!r} is not {SOURCE!r}")
    if event.get("detail-type") != DETAIL_TYPE:
        raise InputError(f"detail-type {event.get('detail-type')!r} is not {DETAIL_TYPE!r}")
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise InputError("event has no detail object")
    name = detail.get("ModelPackageGroupName")
    if not isinstance(name, str) or name not in package_groups:
        raise InputError(f"model package group {name!r} is not one of {sorted(package_groups)}")
    arn = detail.get("ModelPackageArn")
    if not isinstance(arn, str) or f":model-package/{name.lower()}/" not in arn.lower():
        raise InputError(f"ModelPackageArn {arn!r} is not a version of {name!r}")
    return ApprovalEvent(
        event_id=str(event.get("id", "")),
        group=package_groups[name],
        package_group=name,
        package_arn=arn,
        status=str(detail.get("ModelApprovalStatus", "")),
    )
