"""What teardown works on: resources, the planned actions, and the report of what happened."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class Kind(enum.Enum):
    """A kind of resource, in the order teardown must act on it (``phase``)."""

    # (phase, verb, label). Running work is stopped first so it cannot create more resources;
    # an endpoint's monitoring schedules go before it (they start jobs on its captured data),
    # endpoints before the configs and models they use, job definitions after the schedules
    # that use them; Studio leftovers go last.
    PIPELINE_EXECUTION = (0, "stop", "pipeline execution")
    AUTOML_JOB = (1, "stop", "AutoML job")
    TRAINING_JOB = (1, "stop", "training job")
    PROCESSING_JOB = (1, "stop", "processing job")
    TRANSFORM_JOB = (1, "stop", "transform job")
    STUDIO_APP = (2, "delete", "Studio app")
    STUDIO_DOMAIN_CONTENT = (2, "delete", "Studio apps and spaces")
    MONITORING_SCHEDULE = (3, "delete", "monitoring schedule")
    ENDPOINT = (4, "delete", "endpoint")
    ENDPOINT_CONFIG = (5, "delete", "endpoint config")
    DATA_QUALITY_JOB_DEFINITION = (5, "delete", "data-quality job definition")
    MODEL_QUALITY_JOB_DEFINITION = (5, "delete", "model-quality job definition")
    MODEL = (6, "delete", "model")
    MODEL_PACKAGE_GROUP = (7, "delete", "model package group")
    BUCKET = (7, "delete", "S3 bucket")
    STUDIO_LEFTOVERS = (8, "delete", "Studio EFS and security groups")

    @property
    def phase(self) -> int:
        phase: int = self.value[0]
        return phase

    @property
    def verb(self) -> str:
        verb: str = self.value[1]
        return verb

    @property
    def label(self) -> str:
        label: str = self.value[2]
        return label


MONITORING_KINDS = frozenset(
    {Kind.MONITORING_SCHEDULE, Kind.DATA_QUALITY_JOB_DEFINITION, Kind.MODEL_QUALITY_JOB_DEFINITION}
)
# What an endpoint clean-up on stack delete removes (the deploy Lambda's resources).
ENDPOINT_KINDS = frozenset({Kind.ENDPOINT, Kind.ENDPOINT_CONFIG, Kind.MODEL}) | MONITORING_KINDS
DATA_KINDS = frozenset({Kind.MODEL_PACKAGE_GROUP, Kind.BUCKET})
JOB_KINDS = frozenset({Kind.AUTOML_JOB, Kind.TRAINING_JOB, Kind.PROCESSING_JOB, Kind.TRANSFORM_JOB})


@dataclass(frozen=True)
class Resource:
    """One resource this environment owns.

    ``params`` are the request parameters that identify it to its stop/delete call, e.g.
    ``{"EndpointName": "mlops-dev-fraud"}``; ``since`` is when it started running or was last
    changed (what TTLs and idle windows are measured from); ``endpoint`` is the endpoint a
    monitoring schedule watches (it goes when that endpoint goes).
    """

    kind: Kind
    name: str
    arn: str
    params: Mapping[str, str]
    status: str = ""
    since: datetime | None = None
    endpoint: str = ""


@dataclass(frozen=True)
class Action:
    resource: Resource
    reason: str

    @property
    def verb(self) -> str:
        return self.resource.kind.verb


@dataclass(frozen=True)
class Skipped:
    resource: Resource
    reason: str


@dataclass(frozen=True)
class Plan:
    """Actions in dependency order, and what was found but is deliberately left alone."""

    environment: str
    actions: tuple[Action, ...]
    skipped: tuple[Skipped, ...] = ()

    def phases(self) -> list[list[Action]]:
        """Actions grouped by phase; a phase starts only when the previous one is finished."""
        by_phase: dict[int, list[Action]] = {}
        for action in self.actions:
            by_phase.setdefault(action.resource.kind.phase, []).append(action)
        return [by_phase[phase] for phase in sorted(by_phase)]

    def table(self) -> str:
        rows = [("ACTION", "KIND", "NAME", "WHY")]
        rows += [(a.verb, a.resource.kind.label, a.resource.name, a.reason) for a in self.actions]
        rows += [("keep", s.resource.kind.label, s.resource.name, s.reason) for s in self.skipped]
        return _table(rows)


class Status(enum.Enum):
    DONE = "done"  # stopped or deleted now
    GONE = "gone"  # already stopped or deleted: nothing to do (idempotent re-run)
    PLANNED = "planned"  # dry run: would be done
    FAILED = "failed"


@dataclass(frozen=True)
class Outcome:
    action: Action
    status: Status
    detail: str = ""


@dataclass(frozen=True)
class Report:
    environment: str
    dry_run: bool
    outcomes: tuple[Outcome, ...]
    skipped: tuple[Skipped, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def with_status(self, status: Status) -> list[Outcome]:
        return [o for o in self.outcomes if o.status is status]

    @property
    def ok(self) -> bool:
        return not self.with_status(Status.FAILED)

    def summary(self) -> str:
        counts = {s: len(self.with_status(s)) for s in Status}
        mode = "dry run" if self.dry_run else "teardown"
        return (
            f"{mode} of {self.environment}: {counts[Status.DONE]} done, "
            f"{counts[Status.PLANNED]} planned, {counts[Status.GONE]} already gone, "
            f"{len(self.skipped)} kept, {counts[Status.FAILED]} failed"
        )

    def table(self) -> str:
        rows = [("RESULT", "ACTION", "KIND", "NAME", "DETAIL")]
        for o in self.outcomes:
            resource = o.action.resource
            detail = o.detail or o.action.reason
            rows.append((o.status.value, o.action.verb, resource.kind.label, resource.name, detail))
        for s in self.skipped:
            rows.append(("kept", "-", s.resource.kind.label, s.resource.name, s.reason))
        return _table(rows)

    def as_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "dry_run": self.dry_run,
            "ok": self.ok,
            "summary": self.summary(),
            "outcomes": [
                {
                    "status": o.status.value,
                    "action": o.action.verb,
                    "kind": o.action.resource.kind.label,
                    "name": o.action.resource.name,
                    "arn": o.action.resource.arn,
                    "reason": o.action.reason,
                    "detail": o.detail,
                }
                for o in self.outcomes
            ],
            "kept": [
                {"kind": s.resource.kind.label, "name": s.resource.name, "reason": s.reason}
                for s in self.skipped
            ],
            "notes": list(self.notes),
        }


def _table(rows: Sequence[Sequence[str]]) -> str:
    if len(rows) == 1:
        return "(nothing)"
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = []
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)
