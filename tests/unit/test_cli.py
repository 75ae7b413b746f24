"""`python -m mlops`: help works, and errors meant for people are one line with exit code 2."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from mlops import cli
from mlops.errors import InputError
from tests.synth import ROOT


def test_module_help_lists_commands() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mlops", "--help"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0
    assert "usage: python -m mlops" in result.stdout


def test_user_error_is_one_line_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def failing(args: argparse.Namespace) -> int:
        raise InputError("--rows must be a positive whole number, got -3")

    real_build = cli.build_parser

    def build_with_failing_command() -> argparse.ArgumentParser:
        parser = real_build()
        parser.set_defaults(run=failing)
        return parser

    monkeypatch.setattr(cli, "build_parser", build_with_failing_command)
    assert cli.main([]) == 2
    assert capsys.readouterr().err == "error: --rows must be a positive whole number, got -3\n"
