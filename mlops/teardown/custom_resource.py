"""The Deployment stack's delete hook: a Lambda-backed CloudFormation custom resource.

On ``Delete`` it removes every endpoint, endpoint config and model of the environment (the
deploy Lambda creates them at run time, so CloudFormation does not know them); ``Create`` and
``Update`` do nothing. The response always reaches CloudFormation (even on a crash), so a
stack operation never hangs for an hour; a failed clean-up answers FAILED, which stops the
stack deletion instead of silently leaving endpoints that bill.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mlops.environment import ENVIRONMENT_NAME_PATTERN, Variables
from mlops.errors import InputError
from mlops.teardown import Clients, Kind, Report, Status, delete_endpoints, endpoints_still_deleting

LOG = logging.getLogger(__name__)
REQUIRED_KEYS = ("RequestType", "ResponseURL", "StackId", "RequestId", "LogicalResourceId")
REQUEST_TYPES = ("Create", "Update", "Delete")
ENV_ENVIRONMENT = "MLOPS_ENVIRONMENT"

Send = Callable[[str, bytes], None]


@dataclass(frozen=True)
class EndpointCleanupSettings:
    """Environment contract of ``lambdas/endpoint_cleanup``: whose endpoints it removes."""

    environment: str

    def to_environment(self) -> dict[str, str]:
        return {ENV_ENVIRONMENT: self.environment}

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> EndpointCleanupSettings:
        return cls(
            environment=Variables(environ).text(
                ENV_ENVIRONMENT, ENVIRONMENT_NAME_PATTERN, allowed="an environment name like dev"
            )
        )


def parse_event(event: object) -> Mapping[str, Any]:
    if not isinstance(event, Mapping):
        raise InputError(f"custom resource event must be an object, got {type(event).__name__}")
    missing = [key for key in REQUIRED_KEYS if not isinstance(event.get(key), str)]
    if missing:
        raise InputError(f"custom resource event lacks {', '.join(missing)}")
    if event["RequestType"] not in REQUEST_TYPES:
        raise InputError(
            f"RequestType must be one of {', '.join(REQUEST_TYPES)}, got {event['RequestType']!r}"
        )
    return event


def handle(
    event: Mapping[str, Any],
    *,
    settings: Callable[[], EndpointCleanupSettings],
    clients: Callable[[], Clients],
    log_stream: str,
    wait_seconds: float | None = None,
    send: Send | None = None,
) -> Report | None:
    """Run the request and answer CloudFormation; returns the clean-up report on Delete.

    ``settings`` is read inside, so a bad environment is a FAILED answer, not a stack that
    waits an hour. On Delete, with ``wait_seconds``, it waits up to that long for the deleted
    endpoints to be gone (their network interfaces would otherwise block deleting the VPC
    after this stack).
    """
    physical_id = event.get("PhysicalResourceId") or "endpoint-cleanup"
    status, reason, report = "SUCCESS", "nothing to do", None
    try:
        environment = settings().environment
        physical_id = event.get("PhysicalResourceId") or f"endpoint-cleanup-{environment}"
        if event["RequestType"] == "Delete":
            account = clients()
            report = delete_endpoints(account, environment)
            reason = report.summary()
            deleted = [
                o.action.resource.name
                for o in report.with_status(Status.DONE)
                if o.action.resource.kind is Kind.ENDPOINT
            ]
            left = (
                endpoints_still_deleting(account, deleted, timeout_seconds=wait_seconds)
                if wait_seconds is not None
                else []
            )
            if left:
                status = "FAILED"
                reason = (
                    f"{reason}; still deleting after {wait_seconds:.0f} s: {', '.join(left)} "
                    "(run cdk destroy again once they are gone)"
                )
            LOG.info("endpoint clean-up report: %s", json.dumps(report.as_dict(), default=str))
            if not report.ok:
                status = "FAILED"
                failed = "; ".join(
                    f"{o.action.resource.name}: {o.detail}" for o in report.outcomes if o.detail
                )
                reason = f"{reason}: {failed}"
    except Exception as error:
        LOG.exception("endpoint clean-up failed")
        status, reason = "FAILED", f"{type(error).__name__}: {error}"
    body = {
        "Status": status,
        # CloudFormation shows at most 4 KB of reason; the log stream has the full report.
        "Reason": f"{reason[:3000]} (log stream {log_stream})",
        "PhysicalResourceId": physical_id,
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "NoEcho": False,
        "Data": {},
    }
    (send or _put)(str(event["ResponseURL"]), json.dumps(body).encode())
    return report


def _put(url: str, body: bytes) -> None:
    """PUT the response to CloudFormation's pre-signed S3 URL (HTTPS only)."""
    if not url.startswith("https://"):
        raise InputError(f"ResponseURL must be https, got {url[:40]!r}")
    request = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": ""})
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
