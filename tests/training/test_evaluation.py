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


def test_a_test_split_without_positives_gives_strict_json_with_null(tmp_path: Path) -> None:
    """Defect 12: ROC AUC is undefined without both classes; evaluation.json must stay JSON
    (a bare NaN breaks the pipeline's JsonGet and Studio) and F1 stays a number."""
    predictions = tmp_path / "predictions"
    predictions.mkdir()
    (predictions / "features.csv.out").write_text("0,0.9\n0,0.8\n1,0.6\n")
    labels = tmp_path / "labels.csv"
    labels.write_text("0\n0\n0\n")

    evaluation.score(predictions, labels, tmp_path / "evaluation")

    text = (tmp_path / "evaluation" / "evaluation.json").read_text()

    def refuse(constant: str) -> None:
        raise AssertionError(f"evaluation.json holds {constant}")

    metrics = json.loads(text, parse_constant=refuse)["binary_classification_metrics"]
    assert metrics["auc"]["value"] is None
    assert metrics["pr_auc"]["value"] is None
    assert metrics["f1"]["value"] == 0.0


def test_the_clarify_config_is_what_the_sdk_would_write(tmp_path: Path) -> None:
    """The analysis config PrepareTest writes equals the SDK's for the same bias question
    (``BiasConfig`` + ``DataConfig``, the generator behind ClarifyProcessor), under the name
    the Clarify container reads."""
    from sagemaker.clarify import BiasConfig, DataConfig, _AnalysisConfigGenerator

    path = evaluation.write_analysis_config(
        tmp_path, target="is_fraud", facet="state", positive_label="1"
    )
    assert path.name == "analysis_config.json"
    data = DataConfig(
        s3_data_input_path="s3://unused/input",
        s3_output_path="s3://unused/output",
        label="is_fraud",
        dataset_type="text/csv",
    )
    bias = BiasConfig(label_values_or_threshold=[1], facet_name="state")
    expected = _AnalysisConfigGenerator.bias_pre_training(data, bias, "all")
    expected["methods"]["report"] = {"name": "report", "title": "Analysis Report"}
    assert json.loads(path.read_text()) == expected


def test_prepare_writes_the_clarify_config_for_the_runs_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job's paths are under /opt/ml; SAGEMAKER_BASE_DIR stands for it outside SageMaker."""
    monkeypatch.setenv("SAGEMAKER_BASE_DIR", str(tmp_path / "opt-ml"))
    write_split(tmp_path / "opt-ml" / "processing" / "input")
    code = evaluation.main(
        ["prepare", "--target", "is_fraud", "--bias-facet", "state", "--positive-label", "1"]
    )
    assert code == 0
    processing = tmp_path / "opt-ml" / "processing"
    assert (processing / "output" / "features.csv").is_file()
    config = json.loads((processing / "clarify" / "analysis_config.json").read_text())
    assert (config["label"], config["facet"]) == ("is_fraud", [{"name_or_index": "state"}])
