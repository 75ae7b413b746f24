"""`python -m mlops teardown` on moto: plan table, confirmation, progress, report, exit code."""

from __future__ import annotations

import json

import pytest

from mlops import cli
from mlops.command import Context
from mlops.errors import InputError
from mlops.teardown.cli import ask_on_terminal
from tests.synth import ROOT
from tests.teardown.conftest import Account, count_serving

CONFIG = str(ROOT / "cdk.json")


def test_dry_run_prints_the_plan_and_changes_nothing(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["teardown", "--env", "dev", "--dry-run", "--config", CONFIG]) == 0
    out = capsys.readouterr().out
    assert "Teardown plan for environment dev (7 actions):" in out
    assert "delete  endpoint" in out and "mlops-dev-fraud-v2" in out
    assert "keep    model package group  dev-fraud-detection" in out
    assert "dry run of dev: 0 done, 7 planned" in out
    assert "mlops-prod-fraud" not in out and "mlops-dev-untagged" not in out
    assert count_serving(account.clients, account.ours) == 6

    # --output json: plan and report as one document
    argv = ["teardown", "--env", "dev", "--dry-run", "--config", CONFIG, "--output", "json"]
    assert cli.main(argv) == 0
    document = json.loads(capsys.readouterr().out)
    planned = [(a["action"], a["kind"], a["name"]) for a in document["plan"]["actions"]]
    assert len(planned) == 7 and ("delete", "endpoint", "mlops-dev-fraud-v2") in planned
    assert {k["name"] for k in document["plan"]["kept"]} == {"dev-fraud-detection"}
    assert document["report"]["summary"] == (
        "dry run of dev: 0 done, 7 planned, 0 already gone, 1 kept, 0 failed"
    )


def test_yes_deletes_with_progress_and_report(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["teardown", "--env", "dev", "--yes", "--config", CONFIG]) == 0
    captured = capsys.readouterr()
    assert "[7/7] done:" in captured.err
    assert "teardown of dev: 7 done" in captured.out
    assert count_serving(account.clients, account.ours) == 0
    assert count_serving(account.clients, account.theirs) == 6
    # A second run finds nothing.
    assert cli.main(["teardown", "--env", "dev", "--yes", "--config", CONFIG]) == 0
    assert "Nothing to remove." in capsys.readouterr().out


def test_a_wrong_confirmation_aborts(account: Account, capsys: pytest.CaptureFixture[str]) -> None:
    args = cli.build_parser().parse_args(["teardown", "--env", "dev", "--config", CONFIG])
    assert args.run(Context.from_args(args), ask=lambda prompt: "prod") == 1
    assert capsys.readouterr().err == "Aborted: nothing was changed.\n"
    assert count_serving(account.clients, account.ours) == 6


def test_without_a_terminal_it_asks_for_yes(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(InputError, match="not a terminal: pass --yes"):
        ask_on_terminal("Type the environment name (dev): ")  # pytest's stdin is no terminal
    assert cli.main(["teardown", "--env", "dev", "--config", CONFIG]) == 2
    assert capsys.readouterr().err == "error: not a terminal: pass --yes to confirm the teardown\n"
    assert count_serving(account.clients, account.ours) == 6


def test_include_data_is_refused_for_prod(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["teardown", "--env", "prod", "--include-data", "--yes", "--config", CONFIG]
    assert cli.main(argv) == 2
    assert "--include-data refused: environment prod is not ephemeral" in capsys.readouterr().err


def test_unknown_environment_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["teardown", "--env", "staging", "--dry-run", "--config", CONFIG]) == 2
    assert capsys.readouterr().err == (
        "error: unknown environment 'staging': cdk.json defines dev, prod\n"
    )


def test_failures_give_a_non_zero_exit(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    """moto cannot delete model package groups: the failure is reported, exit code 1."""
    argv = ["teardown", "--env", "dev", "--include-data", "--yes", "--config", CONFIG]
    assert cli.main(argv) == 1
    out = capsys.readouterr().out
    assert "failed  delete  model package group  dev-fraud-detection" in out
    assert count_serving(account.clients, account.ours) == 0
