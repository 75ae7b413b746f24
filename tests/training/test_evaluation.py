"""The evaluation processing script on a small labelled test split with known metrics."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from mlops.errors import InputError
from mlops.training import evaluation

# 8 rows: truth, predicted label, probability of the predicted label.
ROWS = [
    ("1", "1", 0.9),  # TP, score 0.9
    ("1", "1", 0.6),  # TP, score 0.6
    ("1", "0", 0.7),  # FN, score 0.3
    ("0", "1", 0.8),  # FP, score 0.8
    ("0", "0", 0.9),  # TN, score 0.1
    ("0", "0", 0.6),  # TN, score 0.4
    ("0", "0", 0.95),  # TN, score 0.05
    ("0", "0", 0.8),  # TN, score 0.2
]


def write_split(folder: Path) -> None:
    (folder / "test").mkdir(parents=True)
    lines = ["transaction_id,state,amount,is_fraud"]
    lines += [f"t{i},TX,{10 * i},{truth}" for i, (truth, _, _) in enumerate(ROWS[:5])]
    (folder / "test" / "part-00000.csv").write_text("\n".join(lines) + "\n")
    lines = ["transaction_id,state,amount,is_fraud"]
    lines += [f"t{i},CA,{10 * i},{truth}" for i, (truth, _, _) in enumerate(ROWS[5:], start=5)]
    (folder / "test" / "part-00001.csv").write_text("\n".join(lines) + "\n")


def test_prepare_writes_headerless_features_without_label_and_ids(tmp_path: Path) -> None:
    write_split(tmp_path / "in")
    rows = evaluation.prepare(
        tmp_path / "in" / "test",
        tmp_path / "out",
        target="is_fraud",
        drop_columns=["transaction_id"],
    )
    assert rows == 8
    features = (tmp_path / "out" / "features.csv").read_text().splitlines()
    assert features[:2] == ["TX,0", "TX,10"]
    assert features[-1] == "CA,70"
    labels = (tmp_path / "out" / "labels.csv").read_text().split()
    assert labels == [truth for truth, _, _ in ROWS]


def test_score_computes_known_metrics(tmp_path: Path) -> None:
    predictions = tmp_path / "predictions"
    predictions.mkdir()
    (predictions / "features.csv.out").write_text("".join(f"{label},{p}\n" for _, label, p in ROWS))
    labels = tmp_path / "labels.csv"
    labels.write_text("".join(f"{truth}\n" for truth, _, _ in ROWS))

    report = evaluation.score(predictions, labels, tmp_path / "evaluation")

    metrics = report["binary_classification_metrics"]
    # TP=2 FP=1 FN=1 TN=4
    assert metrics["confusion_matrix"] == {
        "1": {"1": 2, "not 1": 1},
        "not 1": {"1": 1, "not 1": 4},
    }
    assert metrics["precision"]["value"] == pytest.approx(2 / 3)
    assert metrics["recall"]["value"] == pytest.approx(2 / 3)
    assert metrics["f1"]["value"] == pytest.approx(2 / 3)
    assert metrics["accuracy"]["value"] == pytest.approx(6 / 8)
    # Positive scores 0.9, 0.6, 0.3 vs negative 0.8, 0.1, 0.4, 0.05, 0.2:
    # pairs won: 0.9->5, 0.6->4, 0.3->3 = 12 of 15.
    assert metrics["auc"]["value"] == pytest.approx(12 / 15)
    # Ranked: 0.9(+) 0.8(-) 0.6(+) 0.4(-) 0.3(+): AP = (1/3)(1 + 2/3 + 3/5).
    assert metrics["pr_auc"]["value"] == pytest.approx((1 + 2 / 3 + 3 / 5) / 3)
    written = json.loads((tmp_path / "evaluation" / "evaluation.json").read_text())
    assert written == json.loads(json.dumps(report))
    assert evaluation.f1_of(written) == pytest.approx(2 / 3)


def test_ties_count_half_in_roc_auc() -> None:
    import numpy as np

    truth = np.array([True, False])
    assert evaluation.roc_auc(truth, np.array([0.5, 0.5])) == pytest.approx(0.5)
    assert math.isnan(evaluation.roc_auc(np.array([True, True]), np.array([0.1, 0.2])))


def test_mismatched_lengths_are_a_clear_error() -> None:
    with pytest.raises(InputError, match="2 labels but 1 predictions"):
        evaluation.metrics(["1", "0"], ["1"], [0.9])


def test_main_returns_2_with_one_line_on_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "test").mkdir()
    code = evaluation.main(
        ["prepare", "--input", str(tmp_path / "test"), "--output", str(tmp_path), "--target", "y"]
    )
    assert code == 2
    assert capsys.readouterr().err.startswith("error: no .csv files under")
