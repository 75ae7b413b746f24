"""Teardown: find what one environment owns (by tag), plan deletions in dependency order,
execute them with bounded parallelism and retries, and report.

One engine, three callers:

- the CLI (``python -m mlops teardown``): :func:`plan_teardown` then :func:`execute`;
- the scheduled clean-up Lambda: :func:`clean_idle` (idle endpoints, expired jobs and runs,
  idle Studio apps only);
- the Deployment stack's delete hook: :func:`delete_endpoints` (endpoints, configs, models,
  and the monitoring schedules and job definitions the deploy Lambda made for them).
"""

from __future__ import annotations

import time
from collections.abc import Collection
from datetime import UTC, datetime

from botocore.exceptions import ClientError

from mlops.teardown.aws import Clients, error_code
from mlops.teardown.discovery import Inventory, discover
from mlops.teardown.execution import OnOutcome, RetryPolicy, execute
from mlops.teardown.idle import endpoint_invocations
from mlops.teardown.planning import IdlePolicy, idle_candidates, plan_full, plan_idle
from mlops.teardown.resources import (
    ENDPOINT_KINDS,
    Action,
    Kind,
    Outcome,
    Plan,
    Report,
    Resource,
    Skipped,
    Status,
)

__all__ = [
    "ENDPOINT_KINDS",
    "FULL_KINDS",
    "IDLE_KINDS",
    "Action",
    "Clients",
    "IdlePolicy",
    "Inventory",
    "Kind",
    "OnOutcome",
    "Outcome",
    "Plan",
    "Report",
    "Resource",
    "RetryPolicy",
    "Skipped",
    "Status",
    "clean_idle",
    "delete_endpoints",
    "discover",
    "endpoints_still_deleting",
    "execute",
    "plan_teardown",
]

# A full teardown removes Studio apps through the domain's content, not one by one.
FULL_KINDS = frozenset(Kind) - {Kind.STUDIO_APP}
# The schedule never removes configs, models, data or domain content: only what bills idly
# (and the monitoring schedules of the idle endpoints it removes, which must go first).
IDLE_KINDS = frozenset(
    {
        Kind.MONITORING_SCHEDULE,
        Kind.ENDPOINT,
        Kind.PIPELINE_EXECUTION,
        Kind.AUTOML_JOB,
        Kind.TRAINING_JOB,
        Kind.PROCESSING_JOB,
        Kind.TRANSFORM_JOB,
        Kind.STUDIO_APP,
    }
)


def plan_teardown(
    clients: Clients,
    environment: str,
    *,
    ephemeral: bool,
    include_data: bool = False,
    kinds: Collection[Kind] = FULL_KINDS,
) -> Plan:
    """Everything ``environment`` owns of ``kinds``, in dependency order (data kept unless
    ``include_data``, which an environment that is not ephemeral refuses)."""
    if include_data and not ephemeral:
        # Checked before any AWS call, so the refusal is immediate.
        plan_full(Inventory(environment, (), {}), include_data=True, ephemeral=False)
    inventory = discover(clients, environment, kinds)
    return plan_full(inventory, include_data=include_data, ephemeral=ephemeral)


def clean_idle(
    clients: Clients,
    environment: str,
    policy: IdlePolicy,
    *,
    dry_run: bool,
    now: datetime | None = None,
    max_workers: int = 8,
    retry: RetryPolicy = RetryPolicy(),  # noqa: B008 (frozen, immutable)
) -> Report:
    """The scheduled clean-up: remove only what is idle or expired."""
    now = now or datetime.now(UTC)
    inventory = discover(clients, environment, IDLE_KINDS)
    candidates = idle_candidates(inventory, policy, now)
    invocations = endpoint_invocations(clients, candidates, window=policy.endpoint_idle, now=now)
    plan = plan_idle(inventory, policy, now=now, invocations=invocations)
    return execute(plan, clients, dry_run=dry_run, max_workers=max_workers, retry=retry)


def delete_endpoints(
    clients: Clients,
    environment: str,
    *,
    max_workers: int = 8,
    retry: RetryPolicy = RetryPolicy(),  # noqa: B008 (frozen, immutable)
) -> Report:
    """Stack delete: every endpoint, endpoint config and model of ``environment``, and the
    monitoring schedules (first) and job definitions made for them."""
    plan = plan_teardown(clients, environment, ephemeral=False, kinds=ENDPOINT_KINDS)
    return execute(plan, clients, dry_run=False, max_workers=max_workers, retry=retry)


def endpoints_still_deleting(
    clients: Clients,
    names: Collection[str],
    *,
    timeout_seconds: float,
    poll_seconds: float = 15,
) -> list[str]:
    """Wait until the named endpoints are gone; return those still there at the deadline.

    DeleteEndpoint returns at once, but an endpoint in a VPC keeps its network interfaces until
    SageMaker has finished: the Network stack's subnets and security group cannot be deleted
    before that, so the stack-delete hook waits here.
    """
    deadline = time.monotonic() + timeout_seconds
    remaining = list(names)
    while remaining:
        remaining = [name for name in remaining if _endpoint_exists(clients, name)]
        if not remaining or time.monotonic() + poll_seconds > deadline:
            break
        time.sleep(poll_seconds)
    return remaining


def _endpoint_exists(clients: Clients, name: str) -> bool:
    try:
        clients.sagemaker.describe_endpoint(EndpointName=name)
    except ClientError as error:
        # SageMaker answers a missing endpoint with ValidationException "Could not find".
        if error_code(error) == "ValidationException" and "could not find" in str(error).lower():
            return False
        raise
    return True
