"""One pipeline run -> one MLflow run in experiment ``<pipeline name>``, idempotently.

:class:`PipelineRunFacts` is what the pipeline knows about a run (its parameters, the split
report, ``evaluation.json``, report URIs, execution and model package ARNs, status);
:func:`run_record` turns it into MLflow params, metrics and tags (pure, no I/O);
:func:`log_pipeline_run` writes them. The run is found again by the tag
``mlops.pipeline_execution_arn``, so logging the same execution twice (a retried step, a later
status change) updates the same run. Params are immutable in MLflow: a param already on the run
keeps its first value. Artifacts are *links*: tags holding the S3 URIs of ``evaluation.json``,
``split-report.json`` and the bias and explainability reports (the files stay where the
pipeline wrote them, under the artifacts bucket's KMS key and lifecycle).

Logging never fails a pipeline run by itself: :func:`log_pipeline_run` returns a
:class:`LogResult` whose ``status`` is ``logged``, ``unreachable`` (no answer from the app) or
``rejected`` (the app answered with an error), with one line saying why.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mlops.errors import InputError
from mlops.experiments.names import (
    SOURCE_PIPELINE,
    TAG_ENVIRONMENT,
    TAG_EXECUTION_ARN,
    TAG_MODEL_PACKAGE_ARN,
    TAG_SOURCE,
    TAG_STATUS,
)
from mlops.experiments.tracking import TrackingClient, TrackingError, TrackingUnreachable

# SageMaker pipeline execution status -> MLflow RunStatus.
RUN_STATUS = {
    "Executing": "RUNNING",
    "Stopping": "RUNNING",
    "Succeeded": "FINISHED",
    "Failed": "FAILED",
    "Stopped": "KILLED",
}
TERMINAL = frozenset({"Succeeded", "Failed", "Stopped"})
# evaluation.json (mlops.training.evaluation) -> metric names.
METRICS = ("precision", "recall", "f1", "accuracy", "auc", "pr_auc")
# MLflow's limits (mlflow.utils.validation): param values 6000 characters, tag values 8000.
MAX_PARAM_VALUE = 6000
MAX_TAG_VALUE = 8000


@dataclass(frozen=True, kw_only=True)
class PipelineRunFacts:
    """What the logging step knows about one pipeline execution."""

    pipeline_name: str
    execution_arn: str
    status: str = "Succeeded"
    environment: str = ""
    parameters: Mapping[str, str] = field(default_factory=dict)
    split_report: Mapping[str, Any] | None = None
    evaluation: Mapping[str, Any] | None = None
    config_hash: str = ""
    code_version: str = ""
    model_package_arn: str = ""
    evaluation_uri: str = ""
    split_report_uri: str = ""
    bias_report_uri: str = ""
    explainability_report_uri: str = ""
    failure_reason: str = ""
    start_time_ms: int | None = None
    end_time_ms: int | None = None

    def __post_init__(self) -> None:
        if not self.pipeline_name:
            raise InputError("pipeline_name is required (the experiment is named after it)")
        if ":pipeline/" not in self.execution_arn or "/execution/" not in self.execution_arn:
            raise InputError(
                f"execution_arn {self.execution_arn!r} is not a pipeline execution ARN "
                "(arn:...:pipeline/<name>/execution/<id>)"
            )
        if self.status not in RUN_STATUS:
            raise InputError(f"status {self.status!r} unknown; allowed: {', '.join(RUN_STATUS)}")

    @property
    def execution_id(self) -> str:
        return self.execution_arn.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class RunRecord:
    run_name: str
    params: dict[str, str]
    metrics: dict[str, float]
    tags: dict[str, str]
    status: str  # MLflow RunStatus


@dataclass(frozen=True)
class LogResult:
    status: str  # logged | unreachable | rejected
    message: str
    run_id: str = ""
    experiment_id: str = ""
    created: bool = False

    @property
    def ok(self) -> bool:
        return self.status == "logged"

    def as_output(self) -> dict[str, str]:
        """What a pipeline step returns (all strings: Lambda step outputs are typed)."""
        return {
            "status": self.status,
            "message": self.message,
            "run_id": self.run_id,
            "experiment_id": self.experiment_id,
        }


def _number(value: Any) -> float | None:
    """A finite metric value, or None (null, NaN, "NaN", missing: not logged)."""
    if isinstance(value, Mapping):
        value = value.get("value")
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def evaluation_metrics(evaluation: Mapping[str, Any]) -> dict[str, float]:
    """Test-split metrics from evaluation.json (``binary_classification_metrics``): precision,
    recall, F1, accuracy, ROC AUC (``auc``), PR AUC (``pr_auc``), and the confusion matrix as
    ``tp``/``fp``/``fn``/``tn``. Undefined metrics (null or NaN) are left out, not logged as 0."""
    section = evaluation.get("binary_classification_metrics")
    if not isinstance(section, Mapping):
        raise InputError("evaluation.json has no binary_classification_metrics object")
    metrics: dict[str, float] = {}
    for name in METRICS:
        number = _number(section.get(name))
        if number is not None:
            metrics[name] = number
    rows = _number(section.get("rows"))
    if rows is not None:
        metrics["test_rows"] = rows
    metrics.update(_confusion_counts(section.get("confusion_matrix")))
    return metrics


def _confusion_counts(matrix: Any) -> dict[str, float]:
    """``{actual: {predicted: count}}`` with the positive label first, as evaluation.py writes
    it (``{"1": {"1": tp, "not 1": fn}, "not 1": {"1": fp, "not 1": tn}}``)."""
    if not isinstance(matrix, Mapping) or len(matrix) != 2:
        return {}
    labels = list(matrix)
    positive = next((label for label in labels if not str(label).startswith("not ")), labels[0])
    negative = next(label for label in labels if label != positive)
    cells = {
        "tp": (positive, positive),
        "fn": (positive, negative),
        "fp": (negative, positive),
        "tn": (negative, negative),
    }
    counts: dict[str, float] = {}
    for name, (actual, predicted) in cells.items():
        row = matrix.get(actual)
        number = _number(row.get(predicted)) if isinstance(row, Mapping) else None
        if number is not None:
            counts[name] = number
    return counts


def split_params(report: Mapping[str, Any]) -> dict[str, str]:
    """Split method, ratios, seed, input fingerprint and rows per split from split-report.json."""
    params: dict[str, str] = {}
    for key in ("method", "seed"):
        if report.get(key) is not None:
            params[f"split.{key}"] = str(report[key])
    ratios = report.get("ratios")
    if isinstance(ratios, (list, tuple)):
        params["split.ratios"] = ",".join(f"{float(r):g}" for r in ratios)
    source = report.get("input")
    if isinstance(source, Mapping):
        if source.get("fingerprint"):
            params["input.fingerprint"] = str(source["fingerprint"])
        if source.get("rows") is not None:
            params["input.rows"] = str(source["rows"])
    splits = report.get("splits")
    if isinstance(splits, Mapping):
        for name, entry in sorted(splits.items()):
            if isinstance(entry, Mapping) and entry.get("rows") is not None:
                params[f"split.{name}.rows"] = str(entry["rows"])
    return params


def run_record(facts: PipelineRunFacts) -> RunRecord:
    """The params, metrics and tags of the MLflow run of ``facts`` (no I/O)."""
    params = {f"pipeline.{name}": str(value) for name, value in facts.parameters.items()}
    if facts.split_report is not None:
        params.update(split_params(facts.split_report))
    if facts.config_hash:
        params["config_hash"] = facts.config_hash
    if facts.code_version:
        params["code_version"] = facts.code_version
    params = {key: value[:MAX_PARAM_VALUE] for key, value in params.items()}
    metrics = evaluation_metrics(facts.evaluation) if facts.evaluation is not None else {}
    tags = {
        TAG_SOURCE: SOURCE_PIPELINE,
        TAG_EXECUTION_ARN: facts.execution_arn,
        TAG_STATUS: facts.status,
        "mlflow.source.type": "JOB",
        "mlflow.source.name": facts.pipeline_name,
    }
    links = {
        TAG_MODEL_PACKAGE_ARN: facts.model_package_arn,
        TAG_ENVIRONMENT: facts.environment,
        "mlops.artifact.evaluation": facts.evaluation_uri,
        "mlops.artifact.split_report": facts.split_report_uri,
        "mlops.artifact.bias_report": facts.bias_report_uri,
        "mlops.artifact.explainability_report": facts.explainability_report_uri,
        "mlops.failure_reason": facts.failure_reason,
    }
    tags.update({key: value[:MAX_TAG_VALUE] for key, value in links.items() if value})
    return RunRecord(
        run_name=facts.execution_id,
        params=params,
        metrics=metrics,
        tags=tags,
        status=RUN_STATUS[facts.status],
    )


def execution_filter(execution_arn: str) -> str:
    """MLflow search filter for the run of one execution (quotes escaped)."""
    return f"tags.`{TAG_EXECUTION_ARN}` = '{execution_arn.replace(chr(39), chr(92) + chr(39))}'"


def log_pipeline_run(
    client: TrackingClient, facts: PipelineRunFacts, *, now_ms: int | None = None
) -> LogResult:
    """Create or update the one MLflow run of ``facts.execution_arn``; never raises for an
    unreachable or refusing app (see :class:`LogResult`)."""
    record = run_record(facts)
    now = now_ms if now_ms is not None else int(time.time() * 1000)
    try:
        experiment_id = client.experiment_id(facts.pipeline_name, {TAG_SOURCE: SOURCE_PIPELINE})
        existing = client.search_runs(
            [experiment_id], filter_string=execution_filter(facts.execution_arn), max_results=2
        )
        created = not existing
        if existing:
            run = existing[0]
            already = {p["key"]: p.get("value") for p in run.get("data", {}).get("params", [])}
            params = {k: v for k, v in record.params.items() if k not in already}
        else:
            run = client.create_run(
                experiment_id,
                run_name=record.run_name,
                start_time_ms=facts.start_time_ms or now,
                tags={TAG_EXECUTION_ARN: facts.execution_arn},
            )
            params = record.params
        run_id = str(run["info"]["run_id"])
        client.log_batch(
            run_id, params=params, metrics=record.metrics, tags=record.tags, timestamp_ms=now
        )
        end = (facts.end_time_ms or now) if facts.status in TERMINAL else None
        client.update_run(run_id, status=record.status, end_time_ms=end)
    except TrackingUnreachable as error:
        return LogResult("unreachable", str(error))
    except TrackingError as error:
        return LogResult("rejected", str(error))
    verb = "created" if created else "updated"
    return LogResult(
        "logged",
        f"{verb} run {run_id} in experiment {facts.pipeline_name} ({experiment_id}): "
        f"{len(record.metrics)} metrics, {len(params)} new params, status {record.status}",
        run_id=run_id,
        experiment_id=experiment_id,
        created=created,
    )


def parse_json_object(text: str, what: str) -> dict[str, Any]:
    """``text`` as a JSON object, or an InputError naming ``what``; ``null``/NaN values kept."""
    try:
        value = json.loads(text)
    except ValueError as error:
        raise InputError(f"{what} is not JSON: {error}") from None
    if not isinstance(value, dict):
        raise InputError(f"{what} must be a JSON object")
    return value
