"""Score a binary classifier on the held-out test split: the pipeline's evaluation steps.

Two SageMaker Processing entry points (``python -m mlops.training.evaluation <command>``), run
in the scikit-learn framework image (Python 3.10, numpy) with this package on ``PYTHONPATH``:

``prepare``
    test split (CSV parts with a header) -> ``features.csv`` (no header, no label, the columns
    the model was trained on, in order) and ``labels.csv`` (one label per line, same order):
    what a batch transform of an Autopilot model takes, and the truth to score it against;
    ``feature-names.csv`` holds the header ``features.csv`` leaves out (the monitoring
    baselines name their columns with it).
    With ``--bias-facet`` it also writes this run's Clarify ``analysis_config.json`` (label =
    the run's target column), which the bias step reads under exactly that name.
``score``
    the batch transform output (``features.csv.out``: ``predicted_label,probability`` per
    line) + ``labels.csv`` -> ``evaluation.json``: precision, recall, F1, accuracy, ROC AUC,
    PR AUC (average precision) and the confusion matrix, in the SageMaker model-quality layout
    (``binary_classification_metrics``) that Model Registry shows. A metric that is undefined
    (ROC AUC without both classes) is ``null``: JSON has no NaN.

An Autopilot ensembling model's ``probability`` is the probability of *its predicted label*;
the score of the positive class is therefore ``p`` when it predicted the positive label and
``1 - p`` otherwise. No scikit-learn: the metrics are a few numpy lines, tested against values
worked out by hand.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from mlops.container import PROCESSING_DIR, container_path
from mlops.errors import InputError

FEATURES_FILE = "features.csv"
LABELS_FILE = "labels.csv"
FEATURE_NAMES_FILE = "feature-names.csv"  # one row: the names of features.csv's columns
PREDICTIONS_SUFFIX = ".out"  # batch transform appends it to each input file name
EVALUATION_FILE = "evaluation.json"
# The Clarify container reads its configuration from this file name in the input named
# analysis_config (AWS: "Analysis Configuration Files"; the SDK always uploads this name).
ANALYSIS_CONFIG_FILE = "analysis_config.json"


def _csv_parts(folder: Path) -> list[Path]:
    parts = sorted(p for p in folder.rglob("*.csv") if p.is_file())
    if not parts:
        raise InputError(f"no .csv files under {folder}")
    return parts


def prepare(test_dir: Path, out_dir: Path, *, target: str, drop_columns: Sequence[str] = ()) -> int:
    """Write features.csv, labels.csv and feature-names.csv from the test split; returns the
    row count."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = 0
    header: list[str] | None = None
    names: list[str] = []
    with (
        (out_dir / FEATURES_FILE).open("w", newline="") as features_file,
        (out_dir / LABELS_FILE).open("w", newline="") as labels_file,
    ):
        features = csv.writer(features_file, lineterminator="\n")
        for part in _csv_parts(test_dir):
            with part.open(newline="") as handle:
                reader = csv.reader(handle)
                part_header = next(reader, None)
                if part_header is None:
                    continue
                if header is None:
                    header = part_header
                elif part_header != header:
                    raise InputError(f"{part.name}: header differs from the first part's")
                if target not in header:
                    raise InputError(f"target column {target!r} not in the test split {header}")
                target_index = header.index(target)
                dropped = {target_index} | {header.index(c) for c in drop_columns if c in header}
                keep = [i for i in range(len(header)) if i not in dropped]
                names = [header[i] for i in keep]
                for row in reader:
                    if not row:
                        continue
                    features.writerow([row[i] for i in keep])
                    labels_file.write(row[target_index] + "\n")
                    rows += 1
    if rows == 0:
        raise InputError(f"the test split under {test_dir} has no rows")
    with (out_dir / FEATURE_NAMES_FILE).open("w", newline="") as names_file:
        csv.writer(names_file, lineterminator="\n").writerow(names)
    return rows


def read_predictions(path: Path) -> tuple[list[str], list[float]]:
    """Predicted labels and their probabilities from a batch transform output file."""
    labels: list[str] = []
    probabilities: list[float] = []
    with path.open(newline="") as handle:
        for number, row in enumerate(csv.reader(handle), start=1):
            if not row:
                continue
            if len(row) < 2:
                raise InputError(f"{path.name}:{number}: expected 'predicted_label,probability'")
            labels.append(row[0].strip())
            try:
                probabilities.append(float(row[1]))
            except ValueError:
                raise InputError(
                    f"{path.name}:{number}: probability {row[1]!r} is no number"
                ) from None
    return labels, probabilities


def read_labels(path: Path) -> list[str]:
    with path.open() as handle:
        return [line.strip() for line in handle if line.strip()]


def roc_auc(truth: Any, scores: Any) -> float:
    """Area under the ROC curve: the Mann-Whitney statistic, ties counted half."""
    import numpy as np

    positives = int(truth.sum())
    negatives = len(truth) - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    ranks = np.empty(len(scores), dtype=np.float64)
    # Average rank of each group of tied scores (1-based).
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    average = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(average, counts)
    rank_sum = float(ranks[truth].sum())
    return (rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives)


def average_precision(truth: Any, scores: Any) -> float:
    """Area under the precision-recall curve as average precision (thresholds at each score)."""
    import numpy as np

    positives = int(truth.sum())
    if positives == 0:
        return float("nan")
    order = np.argsort(-scores, kind="mergesort")
    sorted_scores = scores[order]
    sorted_truth = truth[order]
    # Evaluate only at the last index of each group of tied scores.
    last = np.r_[np.nonzero(np.diff(sorted_scores))[0], len(sorted_scores) - 1]
    true_positives = np.cumsum(sorted_truth)[last]
    predicted = last + 1
    precision = true_positives / predicted
    recall = true_positives / positives
    previous_recall = np.r_[0.0, recall[:-1]]
    return float(np.sum((recall - previous_recall) * precision))


def metrics(
    truth_labels: Sequence[str],
    predicted_labels: Sequence[str],
    probabilities: Sequence[float],
    *,
    positive_label: str = "1",
) -> dict[str, Any]:
    """Model-quality metrics of a binary classifier, in SageMaker's model-quality layout."""
    import numpy as np

    if not len(truth_labels) == len(predicted_labels) == len(probabilities):
        raise InputError(
            f"{len(truth_labels)} labels but {len(predicted_labels)} predictions: "
            "the transform output does not match the test split"
        )
    if not truth_labels:
        raise InputError("nothing to score: no labels")
    truth = np.array([label == positive_label for label in truth_labels])
    predicted = np.array([label == positive_label for label in predicted_labels])
    probability = np.asarray(probabilities, dtype=np.float64)
    scores = np.where(predicted, probability, 1.0 - probability)

    tp = int(np.sum(truth & predicted))
    fp = int(np.sum(~truth & predicted))
    fn = int(np.sum(truth & ~predicted))
    tn = int(np.sum(~truth & ~predicted))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    accuracy = (tp + tn) / len(truth)

    def value(number: float) -> dict[str, Any]:
        # Undefined (NaN) becomes null: evaluation.json must stay valid JSON for JsonGet.
        return {
            "value": None if math.isnan(number) else number,
            "standard_deviation": "NaN",
        }

    negative = "not " + positive_label
    return {
        "binary_classification_metrics": {
            "confusion_matrix": {
                positive_label: {positive_label: tp, negative: fn},
                negative: {positive_label: fp, negative: tn},
            },
            "precision": value(precision),
            "recall": value(recall),
            "f1": value(f1),
            "accuracy": value(accuracy),
            "auc": value(roc_auc(truth, scores)),
            "pr_auc": value(average_precision(truth, scores)),
            "rows": value(float(len(truth))),
        }
    }


def score(
    predictions_dir: Path, labels_path: Path, out_dir: Path, *, positive_label: str = "1"
) -> dict[str, Any]:
    files = sorted(predictions_dir.rglob("*" + PREDICTIONS_SUFFIX))
    if not files:
        raise InputError(
            f"no batch transform output (*{PREDICTIONS_SUFFIX}) under {predictions_dir}"
        )
    predicted: list[str] = []
    probabilities: list[float] = []
    for path in files:
        labels, probs = read_predictions(path)
        predicted += labels
        probabilities += probs
    result = metrics(
        read_labels(labels_path), predicted, probabilities, positive_label=positive_label
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / EVALUATION_FILE).write_text(json.dumps(result, indent=2, allow_nan=False) + "\n")
    return result


def analysis_config(*, target: str, facet: str, positive_label: str) -> dict[str, Any]:
    """Clarify's analysis config for the pre-training bias report of a CSV split with a header
    row (AWS: "Analysis Configuration Files"; the layout the SDK's ``BiasConfig`` and
    ``DataConfig`` produce). ``headers`` is left out: Clarify then reads the header row."""
    label: int | str = int(positive_label) if positive_label.isdigit() else positive_label
    return {
        "dataset_type": "text/csv",
        "label": target,
        "label_values_or_threshold": [label],
        "facet": [{"name_or_index": facet}],
        "methods": {
            "pre_training_bias": {"methods": "all"},
            "report": {"name": "report", "title": "Analysis Report"},
        },
    }


def write_analysis_config(out_dir: Path, *, target: str, facet: str, positive_label: str) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / ANALYSIS_CONFIG_FILE
    config = analysis_config(target=target, facet=facet, positive_label=positive_label)
    path.write_text(json.dumps(config, indent=1, sort_keys=True) + "\n")
    return path


def f1_of(report: dict[str, Any]) -> float:
    return float(report["binary_classification_metrics"]["f1"]["value"])


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlops.training.evaluation")
    commands = parser.add_subparsers(dest="command", required=True)
    # Paths inside the job's container (mlops.container: SAGEMAKER_BASE_DIR outside one).
    folder = container_path
    prep = commands.add_parser("prepare", help="test split -> features.csv + labels.csv")
    prep.add_argument("--input", type=folder, default=f"{PROCESSING_DIR}/input/test")
    prep.add_argument("--output", type=folder, default=f"{PROCESSING_DIR}/output")
    prep.add_argument("--target", required=True)
    prep.add_argument("--drop-columns", default="", help="comma-separated, besides the target")
    prep.add_argument("--bias-facet", help="also write Clarify's analysis config for this facet")
    prep.add_argument("--positive-label", default="1")
    prep.add_argument("--clarify-output", type=folder, default=f"{PROCESSING_DIR}/clarify")
    sc = commands.add_parser("score", help="transform output + labels -> evaluation.json")
    sc.add_argument("--predictions", type=folder, default=f"{PROCESSING_DIR}/input/predictions")
    sc.add_argument("--labels", type=folder, default=f"{PROCESSING_DIR}/input/labels/{LABELS_FILE}")
    sc.add_argument("--output", type=folder, default=f"{PROCESSING_DIR}/evaluation")
    sc.add_argument("--positive-label", default="1")
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        if args.command == "prepare":
            drop = [c.strip() for c in args.drop_columns.split(",") if c.strip()]
            rows = prepare(args.input, args.output, target=args.target, drop_columns=drop)
            print(f"prepared {rows} test rows")
            if args.bias_facet:
                written = write_analysis_config(
                    args.clarify_output,
                    target=args.target,
                    facet=args.bias_facet,
                    positive_label=args.positive_label,
                )
                print(f"wrote {written}")
        else:
            report = score(
                args.predictions, args.labels, args.output, positive_label=args.positive_label
            )
            print(json.dumps(report))
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
