"""Parse and check one queued approval event; anything else is refused with its reason.

The queue only receives what the EventBridge rule matched, so a refusal here means a message
that was sent by hand, a rule that was changed, or a group removed from the config since. Such
messages cannot succeed on a retry: they are logged with the reason and dropped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mlops.errors import InputError

SOURCE = "aws.sagemaker"
DETAIL_TYPE = "SageMaker Model Package State Change"
DECISIONS = ("Approved", "Rejected")


@dataclass(frozen=True)
class ApprovalEvent:
    event_id: str
    group: str
    package_arn: str
    status: str  # as reported by the event: informative only, never trusted


def parse_approval_event(body: str, groups: frozenset[str]) -> ApprovalEvent:
    """The EventBridge event in an SQS message body; InputError says what is wrong."""
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
    group = detail.get("ModelPackageGroupName")
    if not isinstance(group, str) or group not in groups:
        raise InputError(f"model package group {group!r} is not one of {sorted(groups)}")
    arn = detail.get("ModelPackageArn")
    if not isinstance(arn, str) or f":model-package/{group.lower()}/" not in arn.lower():
        raise InputError(f"ModelPackageArn {arn!r} is not a version of {group!r}")
    return ApprovalEvent(
        event_id=str(event.get("id", "")),
        group=group,
        package_arn=arn,
        status=str(detail.get("ModelApprovalStatus", "")),
    )
