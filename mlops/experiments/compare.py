"""Runs side by side: parameters that differ first, metrics with the best value marked.

Input is MLflow's REST run objects (``runs/search``); output a :class:`Comparison`, printed as a
text table or as JSON. Which value of a metric is best: the highest for scores and correct
counts, the lowest for error counts (``fp``, ``fn``); counts of rows have no best.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from mlops.errors import InputError
from mlops.experiments.names import TAG_EXECUTION_ARN, TAG_MODEL_PACKAGE_ARN, TAG_STATUS

LOWER_IS_BETTER = frozenset({"fp", "fn"})
NO_BEST = frozenset({"test_rows"})
METRIC_ORDER = ("f1", "precision", "recall", "auc", "pr_auc", "accuracy", "tp", "fp", "fn", "tn")


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    name: str
    status: str
    start_time_ms: int
    params: dict[str, str]
    metrics: dict[str, float]
    tags: dict[str, str]

    @classmethod
    def from_rest(cls, run: Mapping[str, Any]) -> RunSummary:
        info = run.get("info", {})
        data = run.get("data", {})
        tags = {t["key"]: str(t.get("value", "")) for t in data.get("tags", [])}
        return cls(
            run_id=str(info.get("run_id", "")),
            name=str(info.get("run_name") or tags.get("mlflow.runName", "")),
            status=str(info.get("status", "")),
            start_time_ms=int(info.get("start_time") or 0),
            params={p["key"]: str(p.get("value", "")) for p in data.get("params", [])},
            metrics={m["key"]: float(m["value"]) for m in data.get("metrics", [])},
            tags=tags,
        )

    def listing(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "name": self.name,
            "status": self.status,
            "pipeline_status": self.tags.get(TAG_STATUS, ""),
            "start_time_ms": self.start_time_ms,
            "f1": self.metrics.get("f1"),
            "auc": self.metrics.get("auc"),
            "model_package_arn": self.tags.get(TAG_MODEL_PACKAGE_ARN, ""),
            "execution_arn": self.tags.get(TAG_EXECUTION_ARN, ""),
        }


@dataclass(frozen=True)
class Row:
    name: str
    values: list[Any]  # one per run, None where a run has no value
    differs: bool
    best: list[int]  # indexes of the best run(s), metrics only


@dataclass(frozen=True)
class Comparison:
    runs: list[dict[str, str]]  # run_id, name, status
    params: list[Row]  # differing first, then equal
    metrics: list[Row]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _best(name: str, values: Sequence[float | None]) -> list[int]:
    present = [(i, v) for i, v in enumerate(values) if v is not None]
    if name in NO_BEST or len(present) < 2:
        return []
    target = (min if name in LOWER_IS_BETTER else max)(v for _, v in present)
    return [i for i, v in present if v == target]


def compare(runs: Sequence[RunSummary]) -> Comparison:
    if not runs:
        raise InputError("nothing to compare: no runs")
    param_names = sorted({name for run in runs for name in run.params})
    params = []
    for name in param_names:
        values = [run.params.get(name) for run in runs]
        params.append(Row(name, list(values), len(set(values)) > 1, []))
    params.sort(key=lambda row: (not row.differs, row.name))
    metric_names = sorted(
        {name for run in runs for name in run.metrics},
        key=lambda n: (METRIC_ORDER.index(n) if n in METRIC_ORDER else len(METRIC_ORDER), n),
    )
    metrics = []
    for name in metric_names:
        numbers = [run.metrics.get(name) for run in runs]
        metrics.append(Row(name, list(numbers), len(set(numbers)) > 1, _best(name, numbers)))
    return Comparison(
        runs=[{"run_id": r.run_id, "name": r.name, "status": r.status} for r in runs],
        params=params,
        metrics=metrics,
    )


def select(available: Sequence[RunSummary], wanted: Sequence[str]) -> list[RunSummary]:
    """Runs named by id, name (the execution id) or a unique id prefix, in the order given."""
    chosen = []
    for key in wanted:
        matches = [r for r in available if key in (r.run_id, r.name)] or [
            r for r in available if r.run_id.startswith(key)
        ]
        if len(matches) != 1:
            problem = "no run" if not matches else f"{len(matches)} runs"
            raise InputError(f"{problem} matches {key!r}; use a run id or name from `list`")
        chosen.append(matches[0])
    return chosen


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.0f}" if value.is_integer() and abs(value) >= 1 else f"{value:.4f}"
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def format_comparison(result: Comparison) -> str:
    header = ["", *[run["name"] or run["run_id"][:12] for run in result.runs]]
    lines: list[list[str]] = [header, ["status", *[run["status"] for run in result.runs]]]
    differing = [row for row in result.params if row.differs]
    same = [row for row in result.params if not row.differs]
    lines.append([f"-- parameters that differ ({len(differing)})"])
    lines += [[row.name, *map(_cell, row.values)] for row in differing]
    lines.append(["-- metrics (* best)"])
    for row in result.metrics:
        cells = [_cell(v) + (" *" if i in row.best else "") for i, v in enumerate(row.values)]
        lines.append([row.name, *cells])
    lines.append([f"-- parameters that are the same ({len(same)})"])
    lines += [[row.name, _cell(row.values[0])] for row in same]
    return _table(lines)


def format_listing(runs: Sequence[RunSummary]) -> str:
    if not runs:
        return "no runs yet"
    lines = [["name", "run id", "status", "pipeline", "f1", "auc", "started (UTC)"]]
    for run in runs:
        row = run.listing()
        lines.append(
            [
                run.name,
                run.run_id,
                run.status,
                row["pipeline_status"] or "-",
                _cell(row["f1"]),
                _cell(row["auc"]),
                _time(run.start_time_ms),
            ]
        )
    return _table(lines)


def _time(millis: int) -> str:
    import datetime

    if not millis:
        return "-"
    moment = datetime.datetime.fromtimestamp(millis / 1000, tz=datetime.timezone.utc)  # noqa: UP017 (3.10)
    return moment.strftime("%Y-%m-%d %H:%M")


def _table(lines: list[list[str]]) -> str:
    width = max(len(line) for line in lines)
    sizes = [
        max((len(line[i]) for line in lines if i < len(line) and len(line) > 1), default=0)
        for i in range(width)
    ]
    out = []
    for line in lines:
        if len(line) == 1:
            out.append(line[0])
        else:
            out.append("  ".join(cell.ljust(sizes[i]) for i, cell in enumerate(line)).rstrip())
    return "\n".join(out)


def to_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True)
