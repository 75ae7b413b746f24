"""`data generate --drift PRESET`: a shifted batch, the reference population unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mlops.cli import main
from mlops.data import GeneratorConfig
from mlops.data.generator import DRIFT_PRESETS, STATES, transactions_table

ROWS = 50_000


def _columns(drift: str | None) -> dict[str, np.ndarray]:
    table = transactions_table(GeneratorConfig(rows=ROWS, seed=5, drift=drift))
    return {name: table.column(name).to_numpy() for name in table.column_names}


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    return _columns(None)


def test_amounts_preset_shifts_amounts_by_about_e(reference: dict[str, np.ndarray]) -> None:
    shifted = _columns("amounts")
    ratio = float(np.median(shifted["amount"]) / np.median(reference["amount"]))
    assert 2.3 < ratio < 3.1  # e ~ 2.72: mu + 1 in log space
    assert np.array_equal(shifted["is_fraud"], reference["is_fraud"])  # only amounts move


def test_states_preset_spreads_home_states_evenly(reference: dict[str, np.ndarray]) -> None:
    def california(columns: dict[str, np.ndarray]) -> float:
        return float(np.mean(columns["state"] == "CA"))

    assert california(reference) > 0.08  # by population: about 12 %
    assert california(_columns("states")) < 0.05  # uniform: 1/51


def test_fraud_rate_preset_multiplies_the_rate(reference: dict[str, np.ndarray]) -> None:
    base, drifted = reference["is_fraud"].mean(), _columns("fraud-rate")["is_fraud"].mean()
    assert 3.4 < drifted / base < 4.6


def test_no_preset_is_the_reference_population() -> None:
    plain = transactions_table(GeneratorConfig(rows=2_000, seed=5))
    none = transactions_table(GeneratorConfig(rows=2_000, seed=5, drift=None))
    assert plain.equals(none)
    assert len(STATES) == 51 and set(DRIFT_PRESETS) == {"amounts", "states", "fraud-rate", "all"}


def test_cli_records_the_preset_and_refuses_unknown_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "drift"
    assert main(["data", "generate", "--rows", "500", "--out", str(out), "--drift", "all"]) == 0
    dataset = json.loads((out / "dataset.json").read_text())
    assert dataset["generator"]["drift"] == "all"
    assert (
        main(["data", "generate", "--rows", "5", "--out", str(tmp_path / "x"), "--drift", "x"]) == 2
    )
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == "error: drift preset 'x' is unknown; allowed: amounts, states, fraud-rate, all"
