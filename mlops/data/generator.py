"""Synthetic customers and card transactions with a learnable, documented fraud signal.

Rows are generated in fixed blocks of :data:`BLOCK_ROWS`; each block and each of its random
streams gets its own numpy ``Generator`` seeded from ``(seed, stream, block)``. So the data
depends only on the parameters (seed, rows, customers, fraud rate, time window), never on the
part size, the number of threads or the order work is done in: the same parameters give
byte-identical files.

The label comes first: each row is fraud with probability ``fraud_rate``. Legitimate rows buy
from their customer's home state (travel: 3 % elsewhere), by day, small amounts (median about
$30). Fraud rows come in bursts: consecutive fraud rows of a block form bursts of 1 + Poisson(1.5)
transactions on one victim's card, minutes apart, mostly out of the victim's home state (75 %),
mostly at night, for large amounts (median about $200). docs/data.md has the figures.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]
from numpy.typing import NDArray

from mlops import __version__
from mlops.data import tables
from mlops.data.io import Destination
from mlops.data.parallel import default_workers, ordered_map
from mlops.data.progress import Progress
from mlops.data.report import dumps
from mlops.data.schema import (
    CUSTOMER_COLUMNS,
    CUSTOMERS_DIR,
    DATASET_REPORT,
    DEFAULT_DAYS,
    DEFAULT_FRAUD_RATE,
    DEFAULT_PART_ROWS,
    DEFAULT_START_TIME,
    FEATURE_COLUMNS,
    TARGET_COLUMN,
    TRANSACTION_COLUMNS,
    TRANSACTIONS_DIR,
    part_name,
)
from mlops.errors import InputError

OutputFormat = Literal["csv", "parquet"]

BLOCK_ROWS = 50_000  # divides the default part size, so no block is generated twice

# US states and DC, weighted by population (2020 census, millions).
STATES: tuple[str, ...] = (
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN",
    "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH",
    "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT",
    "VT", "VA", "WA", "WV", "WI", "WY",
)  # fmt: skip
_POPULATION = np.array(
    [
        5.0, 0.73, 7.2, 3.0, 39.5, 5.8, 3.6, 1.0, 0.69, 21.5, 10.7, 1.46, 1.8, 12.8, 6.8,
        3.2, 2.9, 4.5, 4.7, 1.36, 6.2, 7.0, 10.1, 5.7, 2.96, 6.15, 1.08, 1.96, 3.1, 1.38,
        9.3, 2.1, 20.2, 10.4, 0.78, 11.8, 3.96, 4.24, 13.0, 1.1, 5.1, 0.89, 6.9, 29.1, 3.27,
        0.64, 8.6, 7.7, 1.79, 5.9, 0.58,
    ]
)  # fmt: skip

# The fraud signal (docs/data.md, "Fraud signal").
TRAVEL_RATE = 0.03  # legitimate purchases outside the home state
OUT_OF_STATE_RATE = 0.75  # fraud bursts outside the victim's home state
LEGIT_AMOUNT = (3.4, 0.9)  # log-normal (mu, sigma) of dollars: median ~$30
FRAUD_AMOUNT = (5.3, 1.0)  # median ~$200
MAX_LEGIT_CENTS = 500_000
MAX_FRAUD_CENTS = 1_000_000
BURST_EXTRA_MEAN = 1.5  # a burst has 1 + Poisson(1.5) transactions
BURST_GAP_SECONDS = 240.0  # mean gap between transactions of a burst
_LEGIT_HOURS = np.array(
    [1, 0.6, 0.4, 0.3, 0.3, 0.5, 1.5, 3, 4, 5, 5.5, 6, 6.5, 6, 5.5, 5.5, 6, 6.5, 6, 5, 4, 3, 2, 1.5]
)
_FRAUD_HOURS = np.array(
    [6, 7, 7, 6, 5, 4, 2, 1.5, 1.5, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2.5, 3, 3.5, 4, 5]
)

# Random streams: one Generator per (seed, stream, block).
_CUSTOMERS, _LABELS, _LEGIT, _FRAUD = 1, 2, 3, 4
_DAY = 86_400

_STATE_TEXT = pa.array(STATES, pa.string())
_HOUR_TEXT = pa.array([str(hour) for hour in range(24)], pa.string())
_LABEL_TEXT = pa.array(["0", "1"], pa.string())
_AMOUNT_TYPE = pa.decimal128(12, 2)


def _cdf(weights: NDArray[np.float64]) -> NDArray[np.float64]:
    cumulative: NDArray[np.float64] = np.cumsum(weights) / weights.sum()
    cumulative[-1] = 1.0
    return cumulative


_STATE_CDF = _cdf(_POPULATION)
_UNIFORM_STATE_CDF = _cdf(np.ones(len(STATES)))
# Hours are drawn through a 4096-entry inverse-CDF table: one small integer draw and a lookup.
_LUT_SIZE = 4096


def _lookup(weights: NDArray[np.float64]) -> NDArray[np.int64]:
    midpoints = (np.arange(_LUT_SIZE) + 0.5) / _LUT_SIZE
    return np.searchsorted(_cdf(weights), midpoints, side="right").astype(np.int64)


_LEGIT_HOUR_LUT = _lookup(_LEGIT_HOURS)
_FRAUD_HOUR_LUT = _lookup(_FRAUD_HOURS)


@dataclass(frozen=True)
class DriftPreset:
    """A shifted population for watching model monitoring detect drift (docs/monitoring.md)."""

    description: str
    amount_shift: float = 0.0  # added to the log-normal mu of every amount (log dollars)
    uniform_states: bool = False  # customers' home states uniform instead of by population
    fraud_rate_factor: float = 1.0  # the fraud rate is multiplied (capped at 0.5)


DRIFT_PRESETS: dict[str, DriftPreset] = {
    "amounts": DriftPreset("amounts about 2.7x larger (log-normal mu +1)", amount_shift=1.0),
    "states": DriftPreset(
        "home states uniform over the 51, not by population", uniform_states=True
    ),
    "fraud-rate": DriftPreset("four times the fraud rate", fraud_rate_factor=4.0),
    "all": DriftPreset("amounts, states and fraud rate together", 1.0, True, 4.0),
}


_NO_DRIFT = DriftPreset("none")


@dataclass(frozen=True)
class GeneratorConfig:
    """Parameters of a generated data set; equal configs give byte-identical data."""

    rows: int
    seed: int = 0
    customers: int | None = None  # default: rows // 100, at least 10
    fraud_rate: float = DEFAULT_FRAUD_RATE
    start_time: int = DEFAULT_START_TIME
    days: int = DEFAULT_DAYS
    drift: str | None = None  # a DRIFT_PRESETS name; None: the reference population

    def __post_init__(self) -> None:
        if self.drift is not None and self.drift not in DRIFT_PRESETS:
            raise InputError(
                f"drift preset {self.drift!r} is unknown; allowed: {', '.join(DRIFT_PRESETS)}"
            )
        if self.rows < 1:
            raise InputError(f"rows must be at least 1, got {self.rows}")
        if not 0 <= self.seed < 2**63:
            raise InputError(f"seed {self.seed} is out of range: use 0 to {2**63 - 1}")
        if self.customers is not None and self.customers < 1:
            raise InputError(f"customers must be at least 1, got {self.customers}")
        if not 0 <= self.fraud_rate <= 0.5:
            raise InputError(f"fraud rate {self.fraud_rate} is out of range: use 0 to 0.5")
        if self.days < 1:
            raise InputError(f"days must be at least 1, got {self.days}")
        if self.start_time < 0:
            raise InputError(f"start time {self.start_time} must be epoch seconds (>= 0)")

    @property
    def preset(self) -> DriftPreset:
        return DRIFT_PRESETS[self.drift] if self.drift else _NO_DRIFT

    @property
    def effective_fraud_rate(self) -> float:
        return min(self.fraud_rate * self.preset.fraud_rate_factor, 0.5)

    def amount(self, shape: tuple[float, float]) -> tuple[float, float]:
        return (shape[0] + self.preset.amount_shift, shape[1])

    @property
    def n_customers(self) -> int:
        return self.customers if self.customers is not None else max(10, self.rows // 100)

    @property
    def blocks(self) -> int:
        return -(-self.rows // BLOCK_ROWS)

    def to_json(self) -> dict[str, Any]:
        drift = {"drift": self.drift} if self.drift else {}
        return {
            **drift,
            "rows": self.rows,
            "seed": self.seed,
            "customers": self.n_customers,
            "fraud_rate": self.fraud_rate,
            "start_time": self.start_time,
            "days": self.days,
        }

    @cached_property
    def population(self) -> _Population:
        return _Population.build(self)


def _rng(config: GeneratorConfig, stream: int, block: int = 0) -> np.random.Generator:
    return np.random.default_rng([config.seed, stream, block])


@dataclass(frozen=True)
class _Population:
    state: NDArray[np.int64]  # home state index of each customer (0-based customer index)
    age: NDArray[np.int64]
    credit_limit: NDArray[np.int64]
    since: NDArray[np.int64]
    by_activity: NDArray[np.int64]  # customers from most to least active

    @classmethod
    def build(cls, config: GeneratorConfig) -> _Population:
        count = config.n_customers
        rng = _rng(config, _CUSTOMERS)
        cdf = _UNIFORM_STATE_CDF if config.preset.uniform_states else _STATE_CDF
        state = np.searchsorted(cdf, rng.random(count), side="right").astype(np.int64)
        age = np.clip(np.round(rng.normal(45, 15, count)), 18, 90).astype(np.int64)
        limit = np.clip(np.round(rng.lognormal(8.5, 0.6, count) / 100) * 100, 500, 50_000)
        since = config.start_time - rng.integers(30 * _DAY, 20 * 365 * _DAY, count)
        by_activity = rng.permutation(count).astype(np.int64)
        return cls(state, age, limit.astype(np.int64), since.astype(np.int64), by_activity)


def customers_table(config: GeneratorConfig) -> pa.Table:
    """The customers: id (1-based), home state, age, credit limit, customer since (epoch s)."""
    people = config.population
    columns = [
        pa.array(np.arange(1, config.n_customers + 1, dtype=np.int64)),
        _STATE_TEXT.take(pa.array(people.state)),
        pa.array(people.age),
        pa.array(people.credit_limit),
        pa.array(people.since),
    ]
    return pa.table(columns, names=list(CUSTOMER_COLUMNS))


def fraud_labels(config: GeneratorConfig, start: int, stop: int) -> NDArray[np.int8]:
    """The ``is_fraud`` labels of rows ``start .. stop-1`` alone (cheap: one stream)."""
    parts = [
        _labels(config, block)[max(start - block * BLOCK_ROWS, 0) : stop - block * BLOCK_ROWS]
        for block in range(start // BLOCK_ROWS, -(-stop // BLOCK_ROWS))
    ]
    return np.concatenate(parts).astype(np.int8) if parts else np.zeros(0, np.int8)


def _labels(config: GeneratorConfig, block: int) -> NDArray[np.bool_]:
    size = min(BLOCK_ROWS, config.rows - block * BLOCK_ROWS)
    return _rng(config, _LABELS, block).random(size) < config.effective_fraud_rate


@dataclass
class _Rows:
    """Transaction rows as numpy arrays (indices for states)."""

    transaction_id: NDArray[np.int64]
    customer: NDArray[np.int64]  # 0-based customer index
    state: NDArray[np.int64]
    cents: NDArray[np.int64]
    time: NDArray[np.int64]
    transaction_state: NDArray[np.int64]
    is_fraud: NDArray[np.bool_]


def _block(config: GeneratorConfig, block: int) -> _Rows:
    people = config.population
    first = block * BLOCK_ROWS
    size = min(BLOCK_ROWS, config.rows - first)
    labels = _labels(config, block)
    rng = _rng(config, _LEGIT, block)
    customers = config.n_customers
    # Activity is skewed: the customer at activity rank r is drawn with density ~ 1/sqrt(r).
    rank = (np.square(rng.random(size)) * customers).astype(np.int64)
    customer = people.by_activity[rank]
    home = people.state[customer]
    travelling = np.flatnonzero(rng.random(size) < TRAVEL_RATE)
    transaction_state = home.copy()
    transaction_state[travelling] = _elsewhere(rng, home[travelling])
    cents = _cents(rng, size, config.amount(LEGIT_AMOUNT), MAX_LEGIT_CENTS)
    time = _times(config, rng, size, _LEGIT_HOUR_LUT)
    rows = _Rows(
        transaction_id=np.arange(first + 1, first + size + 1, dtype=np.int64),
        customer=customer,
        state=home,
        cents=cents,
        time=time,
        transaction_state=transaction_state,
        is_fraud=labels,
    )
    fraud = np.flatnonzero(labels)
    if fraud.size:
        _add_fraud(config, block, fraud, rows)
    return rows


def _elsewhere(rng: np.random.Generator, home: NDArray[np.int64]) -> NDArray[np.int64]:
    """A state other than ``home``, uniformly."""
    return (home + 1 + rng.integers(0, len(STATES) - 1, len(home))) % len(STATES)


def _cents(
    rng: np.random.Generator, size: int, shape: tuple[float, float], most: int
) -> NDArray[np.int64]:
    # float32 is exact to the cent below $100,000 and twice as fast to draw.
    cents = rng.standard_normal(size, dtype=np.float32)
    cents *= np.float32(shape[1])
    cents += np.float32(shape[0] + np.log(100.0))
    np.exp(cents, out=cents)
    np.rint(cents, out=cents)
    np.clip(cents, 100, most, out=cents)
    return cents.astype(np.int64)


def _times(
    config: GeneratorConfig, rng: np.random.Generator, size: int, hour_lut: NDArray[np.int64]
) -> NDArray[np.int64]:
    time = rng.integers(0, config.days, size) * _DAY
    time += hour_lut[rng.integers(0, _LUT_SIZE, size, dtype=np.int16)] * 3600
    time += rng.integers(0, 3600, size)
    time += config.start_time
    return time


def _add_fraud(config: GeneratorConfig, block: int, fraud: NDArray[np.intp], rows: _Rows) -> None:
    people = config.population
    rng = _rng(config, _FRAUD, block)
    count = fraud.size
    ends = np.cumsum(1 + rng.poisson(BURST_EXTRA_MEAN, count))
    burst = np.searchsorted(ends, np.arange(count), side="right")
    bursts = int(burst[-1]) + 1
    first_of_burst = np.concatenate(([0], ends[: bursts - 1]))
    victim = rng.integers(0, config.n_customers, bursts)
    home = people.state[victim]
    where = np.where(rng.random(bursts) < OUT_OF_STATE_RATE, _elsewhere(rng, home), home)
    started = _times(config, rng, bursts, _FRAUD_HOUR_LUT)
    gaps = rng.exponential(BURST_GAP_SECONDS, count)
    gaps[first_of_burst] = 0.0
    offset = np.cumsum(gaps)
    offset -= offset[first_of_burst][burst]
    rows.customer[fraud] = victim[burst]
    rows.state[fraud] = home[burst]
    rows.transaction_state[fraud] = where[burst]
    rows.time[fraud] = started[burst] + offset.astype(np.int64)
    rows.cents[fraud] = _cents(rng, count, config.amount(FRAUD_AMOUNT), MAX_FRAUD_CENTS)


def transactions_table(
    config: GeneratorConfig, start: int = 0, stop: int | None = None, *, text: bool = False
) -> pa.Table:
    """Transactions ``start .. stop-1`` (all by default) in :data:`TRANSACTION_COLUMNS` order.

    Typed columns by default (int64, string, float64 amount, int8 hour and label). With
    ``text=True`` small columns are strings and the amount a 2-decimal decimal: faster to write
    as CSV, same CSV text. Columns are chunked by generation block (no copies).
    """
    stop = config.rows if stop is None else stop
    if not 0 <= start <= stop <= config.rows:
        raise InputError(f"rows {start}..{stop} are outside 0..{config.rows}")
    if start == stop:
        return _empty_transactions(text=text)
    chunks = [block.arrays(text=text) for block in blocks(config, start, stop)]
    columns = [pa.chunked_array([chunk[index] for chunk in chunks]) for index in range(8)]
    return pa.table(columns, names=list(TRANSACTION_COLUMNS))


@dataclass(frozen=True)
class Block:
    """The rows ``part`` of one generation block, as numpy arrays until asked for a table."""

    rows: _Rows
    part: slice

    @property
    def size(self) -> int:
        return int(self.part.stop - self.part.start)

    def arrays(self, rows: NDArray[np.intp] | None = None, *, text: bool) -> list[pa.Array]:
        """The columns of the block's rows (or of ``rows``, positions within the part)."""
        return _arrays(self.rows, self.part if rows is None else rows + self.part.start, text=text)

    def table(self, rows: NDArray[np.intp] | None = None, *, text: bool) -> pa.Table:
        return pa.table(self.arrays(rows, text=text), names=list(TRANSACTION_COLUMNS))


def blocks(config: GeneratorConfig, start: int, stop: int) -> Iterator[Block]:
    """Rows ``start .. stop-1``, block by block."""
    for block in range(start // BLOCK_ROWS, -(-stop // BLOCK_ROWS)):
        first = block * BLOCK_ROWS
        part = slice(max(start - first, 0), min(stop, first + BLOCK_ROWS) - first)
        yield Block(_block(config, block), part)


def _arrays(rows: _Rows, part: slice | NDArray[np.intp], *, text: bool) -> list[pa.Array]:
    hours = rows.time[part] // 3600
    hours %= 24
    labels = rows.is_fraud[part].view(np.int8)
    if text:
        amount = _decimal(rows.cents[part])
        hour_column = _HOUR_TEXT.take(pa.array(hours))
        label_column = _LABEL_TEXT.take(pa.array(labels))
    else:
        amount = pa.array(rows.cents[part] / 100.0)
        hour_column = pa.array(hours.astype(np.int8))
        label_column = pa.array(labels)
    return [
        pa.array(rows.transaction_id[part]),
        pa.array(rows.customer[part] + 1),
        _STATE_TEXT.take(pa.array(rows.state[part])),
        amount,
        pa.array(rows.time[part]),
        _STATE_TEXT.take(pa.array(rows.transaction_state[part])),
        hour_column,
        label_column,
    ]


def _empty_transactions(*, text: bool) -> pa.Table:
    small = pa.string() if text else pa.int8()
    amount = _AMOUNT_TYPE if text else pa.float64()
    types = [pa.int64(), pa.int64(), pa.string(), amount, pa.int64(), pa.string(), small, small]
    return pa.schema(list(zip(TRANSACTION_COLUMNS, types, strict=True))).empty_table()


def _decimal(cents: NDArray[np.int64]) -> pa.Array:
    words = np.empty((len(cents), 2), dtype=np.int64)
    words[:, 0] = cents
    words[:, 1] = cents >> 63
    return pa.Array.from_buffers(_AMOUNT_TYPE, len(cents), [None, pa.py_buffer(words)])


def part_ranges(rows: int, part_rows: int) -> list[tuple[int, int]]:
    if part_rows < 1:
        raise InputError(f"part rows must be at least 1, got {part_rows}")
    return [(start, min(rows, start + part_rows)) for start in range(0, rows, part_rows)]


def generate(
    out: str | os.PathLike[str],
    config: GeneratorConfig,
    *,
    part_rows: int = DEFAULT_PART_ROWS,
    file_format: OutputFormat = "csv",
    overwrite: bool = False,
    progress: bool = False,
    workers: int | None = None,
) -> dict[str, Any]:
    """Write customers and transactions under ``out`` (a folder or ``s3://`` prefix).

    Layout: ``transactions/part-NNNNN.csv`` (or ``.parquet``), ``customers/part-00000.csv``
    and ``dataset.json`` (parameters, row and fraud counts, columns, parts). Returns the
    ``dataset.json`` content.
    """
    if file_format not in ("csv", "parquet"):
        raise InputError(f"unknown format {file_format!r}: use csv or parquet")
    ranges = part_ranges(config.rows, part_rows)
    suffix = f".{file_format}"
    bar = Progress("generate", config.rows, "rows", enabled=progress)
    destination = Destination(out)
    config.population  # noqa: B018 - built once, before the worker threads share it
    with destination.staging(overwrite) as stage:
        (stage / TRANSACTIONS_DIR).mkdir()
        (stage / CUSTOMERS_DIR).mkdir()

        def write_part(index: int) -> int:
            start, stop = ranges[index]
            table = transactions_table(config, start, stop, text=file_format == "csv")
            path = stage / TRANSACTIONS_DIR / part_name(index, suffix)
            _write(table, path, file_format)
            bar.advance(stop - start)
            return int(np.count_nonzero(fraud_labels(config, start, stop)))

        try:
            fraud_rows = sum(ordered_map(write_part, len(ranges), workers or default_workers()))
        finally:
            bar.close()
        _write(customers_table(config), stage / CUSTOMERS_DIR / part_name(0, suffix), file_format)
        report: dict[str, Any] = {
            "report": "mlops.data.dataset",
            "report_version": 1,
            "code_version": f"mlops {__version__}",
            "generator": config.to_json(),
            "format": file_format,
            "rows": config.rows,
            "fraud_rows": fraud_rows,
            "columns": list(TRANSACTION_COLUMNS),
            "feature_columns": list(FEATURE_COLUMNS),
            "target": TARGET_COLUMN,
            "customer_columns": list(CUSTOMER_COLUMNS),
            "transactions": {
                "uri": f"{destination.uri}/{TRANSACTIONS_DIR}/",
                "parts": [part_name(index, suffix) for index in range(len(ranges))],
            },
            "customers": {
                "uri": f"{destination.uri}/{CUSTOMERS_DIR}/",
                "parts": [part_name(0, suffix)],
            },
        }
        (stage / DATASET_REPORT).write_text(dumps(report), encoding="utf-8")
    return report


def _write(table: pa.Table, path: Path, file_format: OutputFormat) -> None:
    if file_format == "csv":
        tables.write_csv(table, path)
    else:
        tables.write_parquet(table, path)
