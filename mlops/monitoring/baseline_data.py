"""The datasets the Model Monitor container baselines, from the pipeline's own files.

Runs as a pipeline processing step in the scikit-learn image (Python 3.10, standard library
only) with this package on ``PYTHONPATH``::

    python -m mlops.monitoring.baseline_data --predictions DIR --prepared DIR --output DIR \\
        --output-columns predicted_label,probability

Inputs: the batch transform output of the test split (``features.csv.out``: what the model
answers per record, the columns ``--output-columns`` names) and PrepareTest's folder
(``features.csv``, ``labels.csv``, ``feature-names.csv``; :mod:`mlops.training.evaluation`).
Both files have one line per test record, in the same order. Outputs:

``data-quality/data-quality.csv``
    what the endpoint's data capture holds for each request, with a header: the model's
    answer first, then the request's features in payload order. "The training dataset data
    schema and the inference dataset schema should exactly match (the number and order of
    the features)... the prediction/output column(s) are assumed to be the 1st column(s)"
    (docs "Create a Baseline"): the endpoint answers ``predicted_label,probability``, so both
    lead. They come from the held-out test split scored by the registered model, not from the
    train split: the train split has no ``probability``, and a model's answers on the rows it
    was trained on are more confident than on new traffic (docs/monitoring.md).
``model-quality/model-quality.csv``
    ``prediction,label`` with a header: the predicted label (column 0 of the answer) and the
    true label (``inference_attribute=prediction``, ``ground_truth_attribute=label``).
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from mlops.container import PROCESSING_DIR, container_path
from mlops.errors import InputError
from mlops.training.evaluation import (
    FEATURE_NAMES_FILE,
    FEATURES_FILE,
    LABELS_FILE,
    PREDICTIONS_SUFFIX,
    read_labels,
)

DATA_QUALITY = "data-quality"
MODEL_QUALITY = "model-quality"
DATA_QUALITY_DATASET = f"{DATA_QUALITY}.csv"
MODEL_QUALITY_DATASET = f"{MODEL_QUALITY}.csv"
PREDICTION_COLUMN = "prediction"
LABEL_COLUMN = "label"
# Where the step mounts its inputs and collects its outputs (container paths).
PREDICTIONS_DIR = f"{PROCESSING_DIR}/input/predictions"
PREPARED_DIR = f"{PROCESSING_DIR}/input/prepared"
OUTPUT_DIR = f"{PROCESSING_DIR}/output"


def _rows(path: Path) -> list[list[str]]:
    if not path.is_file():
        raise InputError(f"{path} not found")
    with path.open(newline="") as handle:
        return [row for row in csv.reader(handle) if row]


def write_datasets(
    predictions_dir: Path, prepared_dir: Path, out_dir: Path, *, output_columns: Sequence[str]
) -> int:
    """Write both datasets (module doc); returns the number of records."""
    answers = _rows(predictions_dir / (FEATURES_FILE + PREDICTIONS_SUFFIX))
    features = _rows(prepared_dir / FEATURES_FILE)
    (names,) = _rows(prepared_dir / FEATURE_NAMES_FILE) or [[]]
    truth = read_labels(prepared_dir / LABELS_FILE)
    if not truth:
        raise InputError(f"{prepared_dir / LABELS_FILE} holds no labels")
    if not len(answers) == len(features) == len(truth):
        raise InputError(
            f"{len(answers)} answers, {len(features)} feature rows and {len(truth)} labels: the "
            "transform output and the prepared files must come from the same test split"
        )
    for number, answer in enumerate(answers, start=1):
        if len(answer) != len(output_columns):
            raise InputError(
                f"answer {number} has {len(answer)} column(s), the model is configured to "
                f"answer {len(output_columns)} ({','.join(output_columns)})"
            )
    for number, row in enumerate(features, start=1):
        if len(row) != len(names):
            raise InputError(f"feature row {number} has {len(row)} columns, not {len(names)}")
    data_dir, model_dir = out_dir / DATA_QUALITY, out_dir / MODEL_QUALITY
    data_dir.mkdir(parents=True, exist_ok=True)
    model_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / DATA_QUALITY_DATASET).open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([*output_columns, *names])
        writer.writerows([*answer, *row] for answer, row in zip(answers, features, strict=True))
    with (model_dir / MODEL_QUALITY_DATASET).open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow((PREDICTION_COLUMN, LABEL_COLUMN))
        writer.writerows(
            (answer[0].strip(), label) for answer, label in zip(answers, truth, strict=True)
        )
    return len(truth)


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlops.monitoring.baseline_data")
    parser.add_argument("--predictions", type=container_path, default=PREDICTIONS_DIR)
    parser.add_argument("--prepared", type=container_path, default=PREPARED_DIR)
    parser.add_argument("--output", type=container_path, default=OUTPUT_DIR)
    parser.add_argument(
        "--output-columns",
        required=True,
        help="comma-separated names of what the model answers per record, in order",
    )
    args = parser.parse_args(list(argv) if argv is not None else None)
    columns = [c.strip() for c in args.output_columns.split(",") if c.strip()]
    try:
        if not columns:
            raise InputError("--output-columns names no column")
        rows = write_datasets(args.predictions, args.prepared, args.output, output_columns=columns)
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {rows} records to {DATA_QUALITY_DATASET} and {MODEL_QUALITY_DATASET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
