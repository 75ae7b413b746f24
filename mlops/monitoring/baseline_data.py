"""The model-quality baseline dataset: test-split predictions next to their true labels.

Runs as a pipeline processing step in the scikit-learn image (Python 3.10, standard library
only) with this package on ``PYTHONPATH``::

    python -m mlops.monitoring.baseline_data --predictions DIR --labels FILE --output DIR

Input: the batch transform output of the test split (``*.out``, ``predicted_label[,...]`` per
line, as ``mlops.training.evaluation`` reads it) and ``labels.csv`` (one label per line, same
order). Output: ``model-quality.csv`` with the header ``prediction,label``, the dataset the
Model Monitor container's model-quality baseline job reads (``dataset_format`` CSV with
header, ``inference_attribute=prediction``, ``ground_truth_attribute=label``).

The data-quality baseline needs no code of its own: ``mlops.training.evaluation prepare`` on the
train split writes ``features.csv``, the feature columns without header in payload order,
which is exactly what the endpoint's captured requests hold (docs/monitoring.md).
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Iterable
from pathlib import Path

from mlops.errors import InputError
from mlops.training.evaluation import PREDICTIONS_SUFFIX, read_labels

MODEL_QUALITY_DATASET = "model-quality.csv"
PREDICTION_COLUMN = "prediction"
LABEL_COLUMN = "label"


def _predicted_labels(path: Path) -> list[str]:
    with path.open(newline="") as handle:
        return [row[0].strip() for row in csv.reader(handle) if row]


def model_quality_dataset(predictions_dir: Path, labels_path: Path, out_dir: Path) -> int:
    """Write ``model-quality.csv``; returns its row count."""
    files = sorted(predictions_dir.rglob("*" + PREDICTIONS_SUFFIX))
    if not files:
        raise InputError(
            f"no batch transform output (*{PREDICTIONS_SUFFIX}) under {predictions_dir}"
        )
    predicted = [label for path in files for label in _predicted_labels(path)]
    truth = read_labels(labels_path)
    if len(predicted) != len(truth):
        raise InputError(
            f"{len(predicted)} predictions but {len(truth)} labels: the transform output and "
            "labels.csv must come from the same prepared test split"
        )
    if not truth:
        raise InputError(f"{labels_path} holds no labels")
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / MODEL_QUALITY_DATASET).open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow((PREDICTION_COLUMN, LABEL_COLUMN))
        writer.writerows(zip(predicted, truth, strict=True))
    return len(truth)


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlops.monitoring.baseline_data")
    parser.add_argument(
        "--predictions", type=Path, default=Path("/opt/ml/processing/input/predictions")
    )
    parser.add_argument(
        "--labels", type=Path, default=Path("/opt/ml/processing/input/labels/labels.csv")
    )
    parser.add_argument("--output", type=Path, default=Path("/opt/ml/processing/output"))
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        rows = model_quality_dataset(args.predictions, args.labels, args.output)
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {rows} rows to {MODEL_QUALITY_DATASET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
