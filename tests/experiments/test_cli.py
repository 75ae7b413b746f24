"""``python -m mlops experiments list|compare`` reads the runs the logging code made."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from mlops.cli import main
from mlops.errors import MlopsError
from mlops.experiments.cli import find_app_arn
from mlops.experiments.runs import log_pipeline_run
from mlops.experiments.tracking import TrackingClient
from tests.experiments.mlflow_server import APP_ARN, MlflowServer, free_port
from tests.experiments.test_logging import evaluation, facts

ENV = ["--env", "dev", "--app-arn", APP_ARN]


@pytest.fixture(scope="module")
def two_runs(mlflow_server: MlflowServer) -> list[str]:
    """Two runs of the same pipeline: different seeds and results."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT", mlflow_server.url)
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            patch.setenv(name, "testing")  # module scope: before tests/conftest.py's fixture
        client = TrackingClient(APP_ARN)
        weaker = evaluation()
        weaker["binary_classification_metrics"]["f1"]["value"] = 0.5
        weaker["binary_classification_metrics"]["confusion_matrix"]["1"]["not 1"] = 3
        first = log_pipeline_run(
            client,
            facts("cmp-a", parameters={"SplitSeed": "7", "MaxCandidates": "5"}, evaluation=weaker),
        )
        second = log_pipeline_run(
            client, facts("cmp-b", parameters={"SplitSeed": "8", "MaxCandidates": "5"})
        )
    assert first.ok and second.ok
    return [first.run_id, second.run_id]


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_list_shows_the_pipeline_runs_newest_first(
    tracking: MlflowServer, two_runs: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["experiments", "list", *ENV, "--output", "json"], capsys)

    assert code == 0
    listed = json.loads(out)
    names = [r["name"] for r in listed]
    assert names.index("cmp-b") < names.index("cmp-a")
    assert {r["run_id"] for r in listed} >= set(two_runs)
    code, text, _ = run(["experiments", "list", *ENV], capsys)
    assert "cmp-b" in text and "FINISHED" in text


def test_compare_puts_differing_parameters_first_and_marks_the_best(
    tracking: MlflowServer, two_runs: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["experiments", "compare", *ENV, *two_runs, "--output", "json"], capsys)

    assert code == 0
    result: dict[str, Any] = json.loads(out)
    params = result["params"]
    differing = [row["name"] for row in params if row["differs"]]
    assert differing == ["pipeline.SplitSeed"]
    assert params[0]["name"] == "pipeline.SplitSeed" and params[0]["values"] == ["7", "8"]
    metrics = {row["name"]: row for row in result["metrics"]}
    assert metrics["f1"]["best"] == [1]
    assert metrics["fn"]["values"] == [3.0, 1.0] and metrics["fn"]["best"] == [1]  # lower wins
    assert metrics["precision"]["best"] == [0, 1]  # a tie marks both

    code, text, _ = run(["experiments", "compare", *ENV, "cmp-a", "cmp-b"], capsys)
    lines = text.splitlines()
    assert lines[0].split() == ["cmp-a", "cmp-b"]
    assert lines.index("-- parameters that differ (1)") < lines.index("-- metrics (* best)")
    f1 = next(line for line in lines if line.startswith("f1 "))
    assert f1.split() == ["f1", "0.5000", "0.6667", "*"]


def test_compare_last_n(
    tracking: MlflowServer, two_runs: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["experiments", "compare", *ENV, "--last", "2", "--output", "json"], capsys)
    assert code == 0
    assert len(json.loads(out)["runs"]) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["experiments", "compare", *ENV], "give run ids or names, or --last N"),
        (["experiments", "compare", *ENV, "--last", "1"], "--last must be from 2 to 50"),
        (["experiments", "compare", *ENV, "nope", "cmp-a"], "no run matches 'nope'"),
        (["experiments", "list", *ENV, "--max", "0"], "--max must be from 1 to 1000"),
    ],
)
def test_bad_input_is_one_line(
    tracking: MlflowServer,
    two_runs: list[str],
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    code, _, err = run(args, capsys)
    assert code == 2
    assert err.count("\n") == 1 and message in err


def test_an_unreachable_app_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT", f"http://127.0.0.1:{free_port()}")
    slept: list[float] = []
    monkeypatch.setattr("mlops.experiments.tracking.time.sleep", slept.append)
    code, out, err = run(["experiments", "list", *ENV], capsys)

    assert code == 1 and out == ""  # unreachable: a runtime failure (README exit statuses)
    assert err.count("\n") == 1
    assert err.startswith("error: MLflow app ") and "unreachable" in err
    assert len(slept) == 2  # three attempts, then one line


def test_the_app_is_found_by_its_environment_name() -> None:
    client = boto3.client("sagemaker", region_name="us-east-1")
    other = "arn:aws:sagemaker:us-east-1:123456789012:mlflow-app/app-OTHER"
    with Stubber(client) as stub:
        stub.add_response(
            "list_mlflow_apps",
            {
                "Summaries": [{"Arn": other, "Name": "team-x", "Status": "Created"}],
                "NextToken": "t",
            },
            {},
        )
        stub.add_response(
            "list_mlflow_apps",
            {
                "Summaries": [
                    {"Arn": other, "Name": "mlops-dev-experiments", "Status": "Deleted"},
                    {"Arn": APP_ARN, "Name": "mlops-dev-experiments", "Status": "Created"},
                ]
            },
            {"NextToken": "t"},
        )
        assert find_app_arn(client, "dev") == APP_ARN
    with Stubber(client) as stub:
        stub.add_response("list_mlflow_apps", {"Summaries": []}, {})
        with pytest.raises(MlopsError, match="MLflow app mlops-dev-experiments not found"):
            find_app_arn(client, "dev")
