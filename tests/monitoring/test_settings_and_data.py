"""The deploy Lambda's monitoring contract, and the baseline datasets the pipeline writes."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from mlops.errors import InputError
from mlops.monitoring import settings as env
from mlops.monitoring.baseline_data import main
from mlops.monitoring.settings import MonitoringSettings
from tests.monitoring.conftest import settings


def test_environment_round_trip() -> None:
    wanted = settings()
    assert MonitoringSettings.from_environment(wanted.to_environment()) == wanted


@pytest.mark.parametrize(
    ("name", "value", "allowed"),
    [
        (env.ENV_DATA_QUALITY_SCHEDULE, "cron(*/5 * ? * * *)", "a Model Monitor schedule"),
        (env.ENV_MODEL_QUALITY_SCHEDULE, "rate(1 day)", "a Model Monitor schedule"),
        (env.ENV_IMAGE_URI, "docker.io/monitor", "an ECR image URI"),
        (env.ENV_SUBNET_IDS, "subnet-1", "comma-separated ids"),
        (env.ENV_MAX_RUNTIME, "86401", "from 1 to 86400"),
    ],
)
def test_a_bad_variable_is_named(name: str, value: str, allowed: str) -> None:
    environ = {**settings().to_environment(), name: value}
    with pytest.raises(InputError, match=f"environment variable {name}=.*{allowed}"):
        MonitoringSettings.from_environment(environ)


def test_the_window_must_start_before_it_ends() -> None:
    with pytest.raises(InputError, match="the window must start before it ends"):
        settings(window_start_hours=5, window_end_hours=5)


@pytest.mark.parametrize(
    ("expression", "accepted"),
    [
        ("cron(0 * ? * * *)", True),  # hourly (AWS's examples)
        ("cron(0 12 ? * * *)", True),  # daily at noon
        ("cron(0 17/12 ? * * *)", True),  # every 12 hours from 17:00
        ("cron(0 0/2 ? * * *)", True),
        ("cron(30 * ? * * *)", False),  # minutes must be 0
        ("cron(0 24 ? * * *)", False),
        ("cron(0 0/25 ? * * *)", False),
        ("NOW", False),  # one-off, not a schedule
    ],
)
def test_schedule_expressions_follow_model_monitor(expression: str, accepted: bool) -> None:
    import re

    assert bool(re.fullmatch(env.SCHEDULE_PATTERN, expression)) is accepted


def _write(path: Path, rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


def _read(path: Path) -> list[list[str]]:
    with path.open(newline="") as handle:
        return list(csv.reader(handle))


def _prepared(tmp_path: Path, answers: list[list[str]]) -> list[str]:
    """PrepareTest's folder and the transform output, as the pipeline lays them out."""
    _write(tmp_path / "prepared/features.csv", [["TX", "9.5", "13"], ["CA", "250.0", "2"]])
    _write(tmp_path / "prepared/labels.csv", [["0"], ["1"]])
    _write(tmp_path / "prepared/feature-names.csv", [["state", "amount", "time_of_day"]])
    _write(tmp_path / "predictions/features.csv.out", answers)
    return [
        "--predictions", str(tmp_path / "predictions"), "--prepared", str(tmp_path / "prepared"),
        "--output", str(tmp_path / "out"), "--output-columns", "predicted_label,probability",
    ]  # fmt: skip


def test_data_quality_dataset_is_what_the_endpoint_captures_answer_first(tmp_path: Path) -> None:
    assert main(_prepared(tmp_path, [["0", "0.97"], ["1", "0.81"]])) == 0
    assert _read(tmp_path / "out/data-quality/data-quality.csv") == [
        ["predicted_label", "probability", "state", "amount", "time_of_day"],
        ["0", "0.97", "TX", "9.5", "13"],
        ["1", "0.81", "CA", "250.0", "2"],
    ]


def test_model_quality_dataset_pairs_predicted_labels_with_the_truth(tmp_path: Path) -> None:
    assert main(_prepared(tmp_path, [["1", "0.51"], ["1", "0.88"]])) == 0
    assert _read(tmp_path / "out/model-quality/model-quality.csv") == [
        ["prediction", "label"],
        ["1", "0"],
        ["1", "1"],
    ]


@pytest.mark.parametrize(
    ("answers", "error"),
    [
        ([["1", "0.9"]], "1 answers, 2 feature rows and 2 labels"),
        ([["1"], ["0"]], "answer 1 has 1 column(s), the model is configured to answer 2"),
    ],
)
def test_a_mismatch_is_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], answers: list[list[str]], error: str
) -> None:
    assert main(_prepared(tmp_path, answers)) == 2
    assert error in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
