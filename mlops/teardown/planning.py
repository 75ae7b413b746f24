"""Decide what to remove: everything (CLI, stack delete) or only what is idle or expired
(the schedule). Planning reads nothing from AWS except the endpoint metrics it is handed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from mlops.errors import InputError
from mlops.teardown.discovery import Inventory
from mlops.teardown.resources import DATA_KINDS, JOB_KINDS, Action, Kind, Plan, Skipped

KEEP_DATA_REASON = "data is kept; --include-data removes it in an ephemeral environment"


def plan_full(inventory: Inventory, *, include_data: bool = False, ephemeral: bool) -> Plan:
    """Remove everything found, in dependency order; data only when asked and ephemeral."""
    if include_data and not ephemeral:
        raise InputError(
            f"--include-data refused: environment {inventory.environment} is not ephemeral "
            "(its buckets and model package groups are retained by design)"
        )
    actions: list[Action] = []
    skipped: list[Skipped] = []
    for resource in inventory.resources:
        if resource.kind is Kind.STUDIO_APP:
            continue  # a full teardown removes every app through STUDIO_DOMAIN_CONTENT
        if resource.kind in DATA_KINDS and not include_data:
            skipped.append(Skipped(resource, KEEP_DATA_REASON))
            continue
        actions.append(Action(resource, f"owned by environment {inventory.environment}"))
    return _ordered(inventory.environment, actions, skipped)


@dataclass(frozen=True)
class IdlePolicy:
    """Thresholds of the scheduled clean-up (from the Teardown config)."""

    endpoint_idle: timedelta
    job_ttl: timedelta
    app_idle: timedelta


def idle_candidates(inventory: Inventory, policy: IdlePolicy, now: datetime) -> list[str]:
    """Endpoints unchanged for the whole idle window: only these need their metrics read."""
    return [
        r.name
        for r in inventory.of(Kind.ENDPOINT)
        if r.status == "InService" and r.since is not None and now - r.since >= policy.endpoint_idle
    ]


def plan_idle(
    inventory: Inventory,
    policy: IdlePolicy,
    *,
    now: datetime,
    invocations: Mapping[str, float],
) -> Plan:
    """Only what is idle or expired: endpoints with zero invocations over the window (read
    from ``invocations``, by endpoint name) and, before them, the monitoring schedules that
    watch them; jobs and pipeline runs running past the TTL, Studio apps without user activity
    past the app TTL. Nothing else is touched."""
    actions: list[Action] = []
    skipped: list[Skipped] = []
    candidates = set(idle_candidates(inventory, policy, now))
    window = _hours(policy.endpoint_idle)
    for resource in inventory.of(Kind.ENDPOINT):
        if resource.name not in candidates:
            skipped.append(Skipped(resource, f"{resource.status}, changed within {window}"))
        elif invocations.get(resource.name, 0.0) > 0:
            count = int(invocations[resource.name])
            skipped.append(Skipped(resource, f"{count} invocations in the last {window}"))
        else:
            actions.append(Action(resource, f"no invocations in the last {window}"))
    removed = {a.resource.name for a in actions}
    for resource in inventory.of(Kind.MONITORING_SCHEDULE):
        if resource.endpoint in removed:
            actions.append(Action(resource, f"watches idle endpoint {resource.endpoint}"))
        else:
            skipped.append(Skipped(resource, f"its endpoint {resource.endpoint} is kept"))

    ttl = _hours(policy.job_ttl)
    running = [*inventory.of(Kind.PIPELINE_EXECUTION)]
    running += [r for r in inventory.resources if r.kind in JOB_KINDS]
    for resource in running:
        if resource.since is not None and now - resource.since >= policy.job_ttl:
            actions.append(Action(resource, f"running for {_hours(now - resource.since)} > {ttl}"))
        else:
            skipped.append(Skipped(resource, f"running for less than {ttl}"))

    idle = _hours(policy.app_idle)
    for resource in inventory.of(Kind.STUDIO_APP):
        if resource.since is not None and now - resource.since >= policy.app_idle:
            actions.append(Action(resource, f"no user activity for {_hours(now - resource.since)}"))
        else:
            skipped.append(Skipped(resource, f"user activity within {idle}"))
    return _ordered(inventory.environment, actions, skipped)


def _ordered(environment: str, actions: list[Action], skipped: list[Skipped]) -> Plan:
    def key(action: Action) -> tuple[int, str, str]:
        return (action.resource.kind.phase, action.resource.kind.label, action.resource.name)

    return Plan(
        environment=environment,
        actions=tuple(sorted(actions, key=key)),
        skipped=tuple(skipped),
    )


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.0f}h" if hours >= 1 else f"{delta.total_seconds() / 60:.0f}min"
