"""The synthetic fraud data: reproducible to the byte, realistic columns, learnable fraud."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq  # type: ignore[import-untyped,unused-ignore]
import pytest

from mlops.data import FEATURE_COLUMNS, TRANSACTION_COLUMNS, GeneratorConfig, generate
from mlops.data.generator import STATES, customers_table, transactions_table
from mlops.errors import InputError
from tests.data.conftest import read_csv, tree


@pytest.fixture(scope="module")
def sample() -> dict[str, np.ndarray]:
    """100k typed transactions: enough for the fraud signal to show, fast to make."""
    table = transactions_table(GeneratorConfig(rows=100_000, seed=11))
    return {name: table.column(name).to_numpy() for name in table.column_names}


def test_same_seed_and_size_give_byte_identical_files(tmp_path: Path) -> None:
    config = GeneratorConfig(rows=5_000, seed=3)
    generate(tmp_path / "a", config, part_rows=2_000)
    generate(tmp_path / "b", config, part_rows=2_000, workers=1)
    first, second = tree(tmp_path / "a"), tree(tmp_path / "b")
    first.pop("dataset.json"), second.pop("dataset.json")  # they name their own folder
    assert first == second
    assert sorted(first) == [
        "customers/part-00000.csv",
        "transactions/part-00000.csv",
        "transactions/part-00001.csv",
        "transactions/part-00002.csv",
    ]


def test_rows_do_not_depend_on_the_part_size(tmp_path: Path) -> None:
    config = GeneratorConfig(rows=60_001, seed=5)  # crosses a 50k-row generation block
    generate(tmp_path / "small", config, part_rows=7_000)
    generate(tmp_path / "large", config, part_rows=55_000)

    def rows(folder: Path) -> list[tuple[str, ...]]:
        parts = sorted((folder / "transactions").glob("part-*.csv"))
        return [row for part in parts for row in read_csv(part)[1]]

    assert rows(tmp_path / "small") == rows(tmp_path / "large")


def test_another_seed_gives_other_data() -> None:
    first = transactions_table(GeneratorConfig(rows=1_000, seed=1))
    second = transactions_table(GeneratorConfig(rows=1_000, seed=2))
    assert first.column("amount") != second.column("amount")


def test_csv_has_the_documented_columns_and_payload_formats(tmp_path: Path) -> None:
    report = generate(tmp_path / "out", GeneratorConfig(rows=2_000, seed=9))
    header, rows = read_csv(tmp_path / "out" / "transactions" / "part-00000.csv")
    assert tuple(header) == TRANSACTION_COLUMNS
    assert report["feature_columns"] == list(FEATURE_COLUMNS)
    assert len(rows) == 2_000 == report["rows"]
    assert [int(row[0]) for row in rows] == list(range(1, 2_001))
    for row in rows:
        values = dict(zip(header, row, strict=True))
        assert values["state"] in STATES and values["transaction_state"] in STATES
        whole, cents = values["amount"].split(".")
        assert whole.isdigit() and len(cents) == 2
        assert int(values["time_of_day"]) == int(values["transaction_time"]) // 3600 % 24
        assert values["is_fraud"] in ("0", "1")
    dataset = json.loads((tmp_path / "out" / "dataset.json").read_text())
    assert dataset["fraud_rows"] == sum(row[-1] == "1" for row in rows)


def test_transactions_use_their_customers_home_state(sample: dict[str, np.ndarray]) -> None:
    config = GeneratorConfig(rows=100_000, seed=11)
    customers = customers_table(config)
    home = dict(
        zip(
            customers.column("customer_id").to_pylist(),
            customers.column("state").to_pylist(),
            strict=True,
        )
    )
    states = sample["state"]
    assert all(
        home[customer] == state
        for customer, state in zip(sample["customer_id"][:5000], states[:5000], strict=True)
    )
    assert customers.num_rows == config.n_customers == 1_000


def test_fraud_rate_is_the_configured_base_rate(sample: dict[str, np.ndarray]) -> None:
    rate = sample["is_fraud"].mean()
    assert 0.0135 < rate < 0.0165  # default 1.5 %, +-4 standard deviations at 100k rows
    assert (
        transactions_table(GeneratorConfig(rows=20_000, seed=1, fraud_rate=0.0))
        .column("is_fraud")
        .to_numpy()
        .sum()
        == 0
    )


def test_fraud_carries_the_documented_signal(sample: dict[str, np.ndarray]) -> None:
    fraud = sample["is_fraud"] == 1
    amount = sample["amount"]
    out_of_state = sample["state"] != sample["transaction_state"]
    night = sample["time_of_day"] < 6
    assert np.median(amount[fraud]) > 4 * np.median(amount[~fraud])  # ~$200 vs ~$30
    assert out_of_state[fraud].mean() > 0.6 > 0.1 > out_of_state[~fraud].mean()
    assert night[fraud].mean() > 2.5 * night[~fraud].mean()
    # Bursts: most fraud rows have another fraud row on the same card within an hour.
    order = np.lexsort((sample["transaction_time"][fraud], sample["customer_id"][fraud]))
    customers = sample["customer_id"][fraud][order]
    times = sample["transaction_time"][fraud][order]
    close = (customers[1:] == customers[:-1]) & (np.diff(times) < 3600)
    in_burst = np.zeros(len(customers), dtype=bool)
    in_burst[1:] |= close
    in_burst[:-1] |= close
    assert in_burst.mean() > 0.5


def test_parquet_holds_the_same_values_as_csv(tmp_path: Path) -> None:
    config = GeneratorConfig(rows=3_000, seed=4)
    generate(tmp_path / "csv", config)
    generate(tmp_path / "pq", config, file_format="parquet")
    table = pq.read_table(tmp_path / "pq" / "transactions" / "part-00000.parquet")
    _, rows = read_csv(tmp_path / "csv" / "transactions" / "part-00000.csv")
    assert table.column_names == list(TRANSACTION_COLUMNS)
    assert table.column("amount").to_pylist() == [float(row[3]) for row in rows]
    assert table.column("transaction_time").to_pylist() == [int(row[4]) for row in rows]


def test_slices_of_the_table_are_the_same_rows() -> None:
    config = GeneratorConfig(rows=130_000, seed=8)
    whole = transactions_table(config, 40_000, 110_000)
    assert whole.slice(10_000, 5).equals(transactions_table(config, 50_000, 50_005))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rows": 0}, "rows must be at least 1"),
        ({"rows": 10, "fraud_rate": 0.9}, "fraud rate"),
        ({"rows": 10, "customers": 0}, "customers"),
        ({"rows": 10, "days": 0}, "days"),
        ({"rows": 10, "seed": -5}, "seed"),
        ({"rows": 10, "drift": "sideways"}, "drift preset 'sideways' is unknown"),
    ],
)
def test_bad_generator_parameters_are_one_line_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        GeneratorConfig(**kwargs)
