"""The datasets the Model Monitor container baselines, from the pipeline's own files.

Runs as pipeline processing steps in the scikit-learn image (Python 3.10, standard library
only) with this package on ``PYTHONPATH``::

    python -m mlops.monitoring.baseline_data data-quality --input DIR --output DIR --target T
    python -m mlops.monitoring.baseline_data model-quality --predictions DIR --labels FILE \
        --output DIR

``data-quality``: the train split (CSV parts with a header) -> ``data-quality.csv``: the label
column first, then the feature columns in payload order, with the header. "The training
dataset data schema and the inference dataset schema should exactly match (the number and
order of the features). Note that the prediction/output column(s) are assumed to be the 1st
column(s) in the training dataset" (docs "Create a Baseline"): captured traffic is the
endpoint's output (``predicted_label``) followed by the request's features, so the label takes
the output's place and each column keeps its name in the statistics, constraints and metrics.

``model-quality``: the batch transform output of the test split (``*.out``,
``predicted_label[,...]`` per line) and ``labels.csv`` (one label per line, same order) ->
``model-quality.csv`` with the header ``prediction,label`` (``inference_attribute=prediction``,
``ground_truth_attribute=label``).
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from mlops.errors import InputError
from mlops.training.evaluation import PREDICTIONS_SUFFIX, read_labels

DATA_QUALITY_DATASET = "data-quality.csv"
MODEL_QUALITY_DATASET = "model-quality.csv"
PREDICTION_COLUMN = "prediction"
LABEL_COLUMN = "label"
_INPUT = "/opt/ml/processing/input"


def data_quality_dataset(
    split_dir: Path, out_dir: Path, *, target: str, drop_columns: Sequence[str] = ()
) -> int:
    """Write ``data-quality.csv`` (label first, then the features); returns its row count."""
    parts = sorted(p for p in split_dir.rglob("*.csv") if p.is_file())
    if not parts:
        raise InputError(f"no .csv files under {split_dir}")
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = 0
    header: list[str] | None = None
    with (out_dir / DATA_QUALITY_DATASET).open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        for part in parts:
            with part.open(newline="") as source:
                reader = csv.reader(source)
                part_header = next(reader, None)
                if part_header is None:
                    continue
                if header is None:
                    header = part_header
                    if target not in header:
                        raise InputError(f"target column {target!r} not in the split {header}")
                    label = header.index(target)
                    keep = [
                        i
                        for i, name in enumerate(header)
                        if i != label and name not in drop_columns
                    ]
                    writer.writerow([header[label], *(header[i] for i in keep)])
                elif part_header != header:
                    raise InputError(f"{part.name}: header differs from the first part's")
                for row in reader:
                    if row:
                        writer.writerow([row[label], *(row[i] for i in keep)])
                        rows += 1
    if rows == 0:
        raise InputError(f"the split under {split_dir} has no rows")
    return rows


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
    commands = parser.add_subparsers(dest="command", required=True)
    data = commands.add_parser("data-quality", help="train split -> data-quality.csv")
    data.add_argument("--input", type=Path, default=Path(f"{_INPUT}/train"))
    data.add_argument("--output", type=Path, default=Path("/opt/ml/processing/output"))
    data.add_argument("--target", required=True)
    data.add_argument("--drop-columns", default="", help="comma-separated, besides the target")
    model = commands.add_parser("model-quality", help="transform output + labels -> CSV")
    model.add_argument("--predictions", type=Path, default=Path(f"{_INPUT}/predictions"))
    model.add_argument("--labels", type=Path, default=Path(f"{_INPUT}/labels/labels.csv"))
    model.add_argument("--output", type=Path, default=Path("/opt/ml/processing/output"))
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        if args.command == "data-quality":
            drop = [c.strip() for c in args.drop_columns.split(",") if c.strip()]
            rows = data_quality_dataset(
                args.input, args.output, target=args.target, drop_columns=drop
            )
            written = DATA_QUALITY_DATASET
        else:
            rows = model_quality_dataset(args.predictions, args.labels, args.output)
            written = MODEL_QUALITY_DATASET
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {rows} rows to {written}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
