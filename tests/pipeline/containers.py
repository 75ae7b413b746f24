"""What runs inside a processing job's container, chosen by its image.

* ``sagemaker-scikit-learn`` (our code): the step's real ``ContainerEntrypoint`` and
  ``ContainerArguments`` in a subprocess, with the step's ``Environment``. The folder standing
  for the instance's ``/opt/ml`` is named by ``SAGEMAKER_BASE_DIR`` (:mod:`mlops.container`);
  ``/opt/ml`` paths in the environment (``PYTHONPATH``) are rewritten to it, as the container's
  mount would map them. ``python3`` is this interpreter (Python 3.11 with numpy and pyarrow;
  the image has 3.10: ``test_processing_code.py`` checks compatibility with vermin).
* ``sagemaker-clarify-processing``: emulated. It refuses to run unless ``analysis_config.json``
  is where the container reads it and holds what a pre-training bias analysis requires, and the
  dataset has the label and facet columns; then it writes ``analysis.json``.
* ``sagemaker-model-monitor-analyzer`` (baseline jobs): emulated. It reads the environment the
  SDK's ``suggest_baseline`` / ``QualityCheckStep`` set (``dataset_source``, ``output_path``,
  ``dataset_format``, and for model quality ``analysis_type``, ``problem_type``,
  ``inference_attribute``, ``ground_truth_attribute``), refuses what the container would (a
  source or output that is not the job's input or output, a format other than CSV with a
  header, an attribute that is not a column), and writes ``statistics.json`` and
  ``constraints.json`` in the layouts AWS documents ("Schema for Statistics", "Schema for
  Constraints", "Model quality metrics", "Create a model quality baseline").

Add an image: a function ``(request, host) -> None`` in :data:`CONTAINERS` keyed by the ECR
repository name; raise :class:`ContainerFailure` for what the real container would reject.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OPT_ML = "/opt/ml"


class ContainerFailure(AssertionError):
    """The container exited with an error: the step fails with this reason."""


@dataclass(frozen=True)
class Host:
    """One instance of a processing job; ``root`` stands for its ``/opt/ml``."""

    index: int
    count: int
    root: Path

    @property
    def name(self) -> str:
        return f"algo-{self.index + 1}"

    def path(self, container_path: str) -> Path:
        """The local folder of an absolute container path under ``/opt/ml``."""
        if not (container_path == OPT_ML or container_path.startswith(OPT_ML + "/")):
            raise ContainerFailure(f"{container_path} is not under {OPT_ML}")
        return self.root / container_path[len(OPT_ML) :].lstrip("/")


def repository_of(image_uri: str) -> str:
    """``<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>`` -> repository."""
    return image_uri.split("/", 1)[-1].split(":", 1)[0].split("@", 1)[0]


def shipped_code(request: Mapping[str, Any], host: Host) -> None:
    """Our entry point as the scikit-learn image runs it (see module doc)."""
    app = request["AppSpecification"]
    command = [*app.get("ContainerEntrypoint", []), *app.get("ContainerArguments", [])]
    if not command:
        raise ContainerFailure("no ContainerEntrypoint: the image's default is not emulated")
    if command[0] in ("python3", "python"):
        command[0] = sys.executable
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "HOME": str(host.root.parent),
        **{
            name: str(host.path(value)) if value.startswith(OPT_ML + "/") else value
            for name, value in request.get("Environment", {}).items()
        },
        "SAGEMAKER_BASE_DIR": str(host.root),
    }
    completed = subprocess.run(
        command,
        env=environment,
        cwd=host.root.parent,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    (host.root.parent / "stdout.txt").write_text(completed.stdout)
    (host.root.parent / "stderr.txt").write_text(completed.stderr)
    if completed.returncode != 0:
        tail = "\n".join(completed.stderr.strip().splitlines()[-12:])
        raise ContainerFailure(
            f"AlgorithmError: {' '.join(command[1:])} exited {completed.returncode} on "
            f"{host.name}:\n{tail}"
        )


# Clarify (AWS: "Analysis Configuration Files", "Configure a SageMaker Clarify Processing Job").
CLARIFY_CONFIG = "/opt/ml/processing/input/config"
CLARIFY_DATA = "/opt/ml/processing/input/data"
CLARIFY_OUTPUT = "/opt/ml/processing/output"
DATASET_TYPES = (
    "text/csv",
    "application/jsonlines",
    "application/json",
    "application/x-parquet",
    "application/x-image",
)
CLARIFY_METHODS = (
    "pre_training_bias",
    "post_training_bias",
    "shap",
    "pdp",
    "report",
    "asymmetric_shapley_value",
)


def clarify(request: Mapping[str, Any], host: Host) -> None:
    """The Clarify container's contract for a pre-training bias analysis (see module doc)."""
    inputs = {item["InputName"]: item for item in request.get("ProcessingInputs", [])}
    config_input = inputs.get("analysis_config")
    if config_input is None or config_input["S3Input"]["LocalPath"] != CLARIFY_CONFIG:
        raise ContainerFailure(
            f"Clarify: the input named analysis_config must be mounted at {CLARIFY_CONFIG}"
        )
    config_path = host.path(CLARIFY_CONFIG) / "analysis_config.json"
    if not config_path.is_file():
        found = sorted(p.name for p in host.path(CLARIFY_CONFIG).glob("*"))
        raise ContainerFailure(
            f"Clarify: {CLARIFY_CONFIG}/analysis_config.json not found (the folder holds {found})"
        )
    config = json.loads(config_path.read_text())
    problems = _analysis_config_problems(config)
    if problems:
        raise ContainerFailure("Clarify: invalid analysis_config.json: " + "; ".join(problems))
    rows = _read_csv_dataset(host.path(CLARIFY_DATA))
    label, facets = config["label"], [f["name_or_index"] for f in config["facet"]]
    for column in (label, *facets):
        if column not in rows[0]:
            raise ContainerFailure(f"Clarify: column {column!r} not in the dataset {rows[0]}")
    positive = {str(value) for value in config["label_values_or_threshold"]}
    report = {
        "version": "1.0",
        "pre_training_bias_metrics": {
            "label": label,
            "label_value_or_threshold": ",".join(sorted(positive)),
            "facets": {
                facet: _pre_training_metrics(rows, label, facet, positive) for facet in facets
            },
        },
    }
    output = host.path(CLARIFY_OUTPUT)
    output.mkdir(parents=True, exist_ok=True)
    (output / "analysis.json").write_text(json.dumps(report, indent=1))


def _analysis_config_problems(config: Any) -> list[str]:
    if not isinstance(config, dict):
        return ["not a JSON object"]
    problems = []
    if config.get("dataset_type") not in DATASET_TYPES:
        problems.append(f"dataset_type {config.get('dataset_type')!r} not in {DATASET_TYPES}")
    methods = config.get("methods")
    if not isinstance(methods, dict) or not methods:
        problems.append("methods is required")
        methods = {}
    unknown = set(methods) - set(CLARIFY_METHODS)
    if unknown:
        problems.append(f"unknown methods {sorted(unknown)}")
    if "pre_training_bias" in methods or "post_training_bias" in methods:
        if not config.get("label"):
            problems.append("label is required for bias metrics")
        if not config.get("label_values_or_threshold"):
            problems.append("label_values_or_threshold is required for bias metrics")
        facets = config.get("facet")
        if not isinstance(facets, list) or not facets:
            problems.append("facet (a list) is required for bias metrics")
        elif not all(isinstance(f, dict) and "name_or_index" in f for f in facets):
            problems.append("each facet needs name_or_index")
    return problems


def _read_csv_dataset(
    folder: Path, container: str = "Clarify", where: str = CLARIFY_DATA
) -> list[list[str]]:
    """Header row + data rows of every CSV part (each part has its header)."""
    parts = sorted(p for p in folder.rglob("*.csv") if p.is_file())
    if not parts:
        raise ContainerFailure(f"{container}: no CSV data under {where}")
    rows: list[list[str]] = []
    for part in parts:
        with part.open(newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                continue
            if not rows:
                rows.append(header)
            elif header != rows[0]:
                raise ContainerFailure(f"{container}: {part.name} has another header")
            rows.extend(row for row in reader if row)
    return rows


def _pre_training_metrics(
    rows: list[list[str]], label: str, facet: str, positive: set[str]
) -> list[dict[str, Any]]:
    """Class imbalance (CI) and difference in proportions of labels (DPL) per facet value."""
    header, data = rows[0], rows[1:]
    label_at, facet_at = header.index(label), header.index(facet)
    result = []
    for value in sorted({row[facet_at] for row in data}):
        inside = [row for row in data if row[facet_at] == value]
        outside = [row for row in data if row[facet_at] != value]

        def rate(group: list[list[str]]) -> float:
            return sum(row[label_at] in positive for row in group) / len(group) if group else 0.0

        ci = (len(outside) - len(inside)) / len(data)
        result.append(
            {
                "value_or_threshold": value,
                "metrics": [
                    {"name": "CI", "description": "Class Imbalance (CI)", "value": ci},
                    {
                        "name": "DPL",
                        "description": "Difference in Positive Proportions in Labels (DPL)",
                        "value": rate(outside) - rate(inside),
                    },
                ],
            }
        )
    return result


# Model Monitor (the analyzer's baseline contract, see the module doc).
MONITOR_DOMAIN_LIMIT = 20  # string columns with at most this many values get a domain
_MONITOR_CONFIG = {
    "evaluate_constraints": "Enabled",
    "emit_metrics": "Enabled",
    "datatype_check_threshold": 0.1,
    "domain_content_threshold": 0.1,
    "distribution_constraints": {
        "perform_comparison": "Enabled",
        "comparison_threshold": 0.1,
        "comparison_method": "Robust",
        "categorical_comparison_threshold": 0.1,
        "categorical_drift_method": "LInfinity",
    },
}


def model_monitor(request: Mapping[str, Any], host: Host) -> None:
    """A Model Monitor baseline job: data quality, or model quality with ``analysis_type``."""
    environment = request.get("Environment", {})
    inputs = {i["S3Input"]["LocalPath"] for i in request.get("ProcessingInputs", [])}
    outputs = {
        o["S3Output"]["LocalPath"]
        for o in request.get("ProcessingOutputConfig", {}).get("Outputs", [])
    }
    source, output = environment.get("dataset_source"), environment.get("output_path")
    if source not in inputs:
        raise ContainerFailure(f"Model Monitor: dataset_source {source!r} is no input {inputs}")
    if output not in outputs:
        raise ContainerFailure(f"Model Monitor: output_path {output!r} is no output {outputs}")
    dataset_format = json.loads(environment.get("dataset_format", "{}"))
    if dataset_format.get("csv", {}).get("header") is not True:
        raise ContainerFailure(f"Model Monitor: dataset_format {dataset_format} is not emulated")
    header, *rows = _read_csv_dataset(host.path(source), "Model Monitor", source)
    if len(set(header)) != len(header):
        raise ContainerFailure(f"Model Monitor: repeated column names in {header}")
    if environment.get("analysis_type") == "MODEL_QUALITY":
        statistics, constraints = _model_quality(environment, header, rows)
    else:
        statistics, constraints = _data_quality(header, rows)
    folder = host.path(str(output))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "statistics.json").write_text(json.dumps(statistics, indent=1))
    (folder / "constraints.json").write_text(json.dumps(constraints, indent=1))


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def _data_quality(header: list[str], rows: list[list[str]]) -> tuple[Any, Any]:
    features, constraints = [], []
    for index, name in enumerate(header):
        values = [row[index] for row in rows if index < len(row) and row[index] != ""]
        common = {"num_present": len(values), "num_missing": len(rows) - len(values)}
        numbers = [_number(v) for v in values]
        constraint: dict[str, Any] = {
            "name": name,
            "completeness": len(values) / len(rows) if rows else 0.0,
        }
        if values and all(n is not None for n in numbers):
            present = [float(n) for n in numbers if n is not None]
            integral = all("." not in v and "e" not in v.lower() for v in values)
            kind = "Integral" if integral else "Fractional"
            mean = sum(present) / len(present)
            low, high = min(present), max(present)
            width = (high - low) / 10 or 1.0
            counts = [0] * 10
            for n in present:
                counts[min(int((n - low) / width), 9)] += 1
            statistics: dict[str, Any] = {
                "common": common,
                "mean": mean,
                "sum": sum(present),
                "std_dev": (sum((n - mean) ** 2 for n in present) / len(present)) ** 0.5,
                "min": low,
                "max": high,
                "distribution": {
                    "kll": {
                        "buckets": [
                            {
                                "lower_bound": low + i * width,
                                "upper_bound": low + (i + 1) * width,
                                "count": count,
                            }
                            for i, count in enumerate(counts)
                        ],
                        "sketch": {"parameters": {"c": 0.64, "k": 2048.0}, "data": [present]},
                    }
                },
            }
            features.append(
                {"name": name, "inferred_type": kind, "numerical_statistics": statistics}
            )
            constraint.update(inferred_type=kind, num_constraints={"is_non_negative": low >= 0})
        else:
            distinct = sorted(set(values))
            features.append(
                {
                    "name": name,
                    "inferred_type": "String",
                    "string_statistics": {
                        "common": common,
                        "distinct_count": len(distinct),
                        "distribution": {
                            "categorical": {
                                "buckets": [
                                    {"value": v, "count": values.count(v)} for v in distinct
                                ]
                            }
                        },
                    },
                }
            )
            constraint["inferred_type"] = "String"
            if len(distinct) <= MONITOR_DOMAIN_LIMIT:
                constraint["string_constraints"] = {"domains": distinct}
        constraints.append(constraint)
    return (
        {"version": 0.0, "dataset": {"item_count": len(rows)}, "features": features},
        {"version": 0.0, "features": constraints, "monitoring_config": _MONITOR_CONFIG},
    )


def _model_quality(
    environment: Mapping[str, str], header: list[str], rows: list[list[str]]
) -> tuple[Any, Any]:
    if environment.get("problem_type") != "BinaryClassification":
        raise ContainerFailure(f"Model Monitor: problem_type {environment.get('problem_type')!r}")
    columns = {}
    for attribute in ("inference_attribute", "ground_truth_attribute"):
        name = environment.get(attribute)
        if name not in header:
            raise ContainerFailure(f"Model Monitor: {attribute} {name!r} is not in {header}")
        columns[attribute] = header.index(str(name))
    pairs = [(row[columns["inference_attribute"]], row[columns["ground_truth_attribute"]])
             for row in rows]  # fmt: skip
    labels = sorted({label for pair in pairs for label in pair})
    if not set(labels) <= {"0", "1"}:
        raise ContainerFailure(f"Model Monitor: binary labels must be 0/1, got {labels}")
    matrix = {t: {p: 0 for p in ("0", "1")} for t in ("0", "1")}
    for predicted, truth in pairs:
        matrix[truth][predicted] += 1
    tp, fn = matrix["1"]["1"], matrix["1"]["0"]
    fp, tn = matrix["0"]["1"], matrix["0"]["0"]

    def ratio(top: int, bottom: int) -> float:
        return top / bottom if bottom else 0.0

    precision, recall = ratio(tp, tp + fp), ratio(tp, tp + fn)
    metrics = {
        "recall": recall,
        "precision": precision,
        "accuracy": ratio(tp + tn, len(pairs)),
        "true_positive_rate": recall,
        "true_negative_rate": ratio(tn, tn + fp),
        "false_positive_rate": ratio(fp, fp + tn),
        "false_negative_rate": ratio(fn, fn + tp),
        "f1": ratio(2 * tp, 2 * tp + fp + fn),
    }
    statistics = {
        "version": 0.0,
        "dataset": {"item_count": len(pairs)},
        "binary_classification_metrics": {
            "confusion_matrix": matrix,
            **{
                name: {"value": value, "standard_deviation": "NaN"}
                for name, value in metrics.items()
            },
        },
    }
    lower = {"false_positive_rate", "false_negative_rate"}
    constraints = {
        "version": 0.0,
        "binary_classification_constraints": {
            name: {
                "threshold": value,
                "comparison_operator": (
                    "GreaterThanThreshold" if name in lower else "LessThanThreshold"
                ),
            }
            for name, value in metrics.items()
        },
    }
    return statistics, constraints


CONTAINERS: dict[str, Callable[[Mapping[str, Any], Host], None]] = {
    "sagemaker-scikit-learn": shipped_code,
    "sagemaker-clarify-processing": clarify,
    "sagemaker-model-monitor-analyzer": model_monitor,
}
