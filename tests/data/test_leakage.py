"""Leakage guard: anything fitted on the data runs after the split, on the train split only."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlops.data import GeneratorConfig, PartitionSpec, generate, partition
from mlops.errors import InputError
from tests.data.conftest import PROPERTY, report_of, split_rows, tree


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("raw")
    generate(folder / "g", GeneratorConfig(rows=8_000, seed=21), part_rows=3_000)
    return folder / "g" / "transactions"


@settings(PROPERTY, max_examples=10)
@given(
    method=st.sampled_from(["random", "stratified", "key"]),
    ratio=st.sampled_from([0.1, 0.5, 1.0]),
    seed=st.integers(0, 1_000),
)
def test_oversampling_touches_train_only(
    raw: Path, tmp_path_factory: pytest.TempPathFactory, method: str, ratio: float, seed: int
) -> None:
    folder = tmp_path_factory.mktemp("leak")
    common = {
        "method": method,
        "ratios": (0.7, 0.15, 0.15),
        "seed": seed,
        "target": "is_fraud",
        "key": "customer_id" if method == "key" else None,
        "drop_columns": ("transaction_id",),
    }
    plain = PartitionSpec(**common)  # type: ignore[arg-type]
    sampled = PartitionSpec(**common, oversample=ratio)  # type: ignore[arg-type]
    partition(raw, folder / "plain", plain)
    partition(raw, folder / "sampled", sampled)
    before, after = tree(folder / "plain"), tree(folder / "sampled")
    # Validation and test: the same bytes, with or without oversampling.
    for split in ("validation", "test"):
        assert {k: v for k, v in before.items() if k.startswith(f"{split}/")} == {
            k: v for k, v in after.items() if k.startswith(f"{split}/")
        }
    # Train: the original parts unchanged, plus copies of its own minority rows only.
    original = {k: v for k, v in before.items() if k.startswith("train/")}
    assert all(after[name] == data for name, data in original.items())
    rows_before, rows_after = split_rows(folder / "plain"), split_rows(folder / "sampled")
    added = Counter(rows_after["train"]) - Counter(rows_before["train"])
    assert set(added) <= set(rows_before["train"])
    labels = Counter(row[-1] for row in rows_after["train"])
    report = report_of(folder / "sampled")["splits"]["train"]
    assert report["oversampled_rows"] == sum(added.values())
    assert labels["1"] == max(
        round(ratio * labels["0"]), Counter(row[-1] for row in rows_before["train"])["1"]
    )


def test_oversampling_needs_the_target_in_the_output(raw: Path, tmp_path: Path) -> None:
    request = PartitionSpec(
        method="random",
        ratios=(0.8, 0.2),
        target="is_fraud",
        drop_columns=("is_fraud",),
        oversample=0.5,
    )
    with pytest.raises(InputError, match="cannot oversample after dropping the target"):
        partition(raw, tmp_path / "out", request)
