"""Figures for the training pipeline: definition build time at synth, evaluation throughput.

Run: .venv/bin/python bench/bench_training.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere

import numpy as np

from mlops.training import evaluation
from stacks.config import load_environment
from stacks.constructs.pipeline_definition import build_definition
from stacks.constructs.training_pipeline import pipeline_settings
from tests.synth import cdk_context

SETTINGS = pipeline_settings(
    load_environment(cdk_context("dev")),
    code_version="bench",
    subnet_count=2,
    security_group_count=1,
)


def main() -> None:
    start = time.perf_counter()
    build_definition(SETTINGS)
    first = time.perf_counter() - start
    start = time.perf_counter()
    definition = build_definition(SETTINGS)
    second = time.perf_counter() - start
    print(f"pipeline definition: first build {first:.2f}s (incl. SDK import), again {second:.2f}s,")
    print(f"  {len(definition.body)} bytes, {len(definition.step_names)} steps")

    rows = 1_000_000
    rng = np.random.default_rng(7)
    truth = rng.random(rows) < 0.015
    score = np.clip(truth * 0.5 + rng.random(rows) * 0.6, 0, 1)
    predicted = score >= 0.5
    probability = np.where(predicted, score, 1 - score)
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        (base / "predictions").mkdir()
        (base / "predictions" / "features.csv.out").write_text(
            "".join(f"{int(p)},{q:.6f}\n" for p, q in zip(predicted, probability, strict=True))
        )
        (base / "labels.csv").write_text("".join(f"{int(t)}\n" for t in truth))
        start = time.perf_counter()
        report = evaluation.score(base / "predictions", base / "labels.csv", base / "out")
        elapsed = time.perf_counter() - start
    metrics = report["binary_classification_metrics"]
    print(
        f"evaluation score: {rows:,} rows in {elapsed:.2f}s ({rows / elapsed:,.0f} rows/s); "
        f"F1 {metrics['f1']['value']:.3f}, ROC AUC {metrics['auc']['value']:.3f}"
    )


if __name__ == "__main__":
    main()
