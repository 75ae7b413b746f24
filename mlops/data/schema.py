"""Column names, split names and limits of the fraud data, shared by every door.

This module imports nothing heavy (no numpy, no pyarrow): the endpoint Lambda and the CLI import
:data:`FEATURE_COLUMNS` from here to build and check ``invoke`` payloads.
"""

from __future__ import annotations

from typing import Final

# Columns of a generated transaction file, in file order.
ID_COLUMN: Final = "transaction_id"
CUSTOMER_ID_COLUMN: Final = "customer_id"
TARGET_COLUMN: Final = "is_fraud"
ORDER_COLUMN: Final = "transaction_time"
TRANSACTION_COLUMNS: Final[tuple[str, ...]] = (
    ID_COLUMN,
    CUSTOMER_ID_COLUMN,
    "state",
    "amount",
    ORDER_COLUMN,
    "transaction_state",
    "time_of_day",
    TARGET_COLUMN,
)
# What a model sees, in payload order: the transaction columns without the identifier and the
# label. An endpoint payload is one CSV line of these, e.g. ``2,TX,947.08,1695574580,TX,16``.
FEATURE_COLUMNS: Final[tuple[str, ...]] = tuple(
    column for column in TRANSACTION_COLUMNS if column not in (ID_COLUMN, TARGET_COLUMN)
)
# Columns of the generated customer file.
CUSTOMER_COLUMNS: Final[tuple[str, ...]] = (
    CUSTOMER_ID_COLUMN,
    "state",
    "age",
    "credit_limit",
    "customer_since",
)

# Split names: two splits are train/test, three are train/validation/test.
SPLIT_NAMES: Final[dict[int, tuple[str, ...]]] = {
    2: ("train", "test"),
    3: ("train", "validation", "test"),
}
METHODS: Final[tuple[str, ...]] = ("random", "ordered", "key", "stratified")
# Data Wrangler allows at most 100 classes in a stratified split; so do we.
MAX_CLASSES: Final = 100

# Output layout of a partition: OUT/<split>/part-NNNNN.csv, OUT/manifests/<split>.manifest,
# OUT/split-report.json. A multi-instance Processing job writes one report per host under
# OUT/shards/host-NNNNN/ and a merge step writes the two files above (docs/data.md).
MANIFESTS_DIR: Final = "manifests"
MANIFEST_SUFFIX: Final = ".manifest"
SPLIT_REPORT: Final = "split-report.json"
SHARDS_DIR: Final = "shards"
# Output layout of the generator: OUT/transactions/part-NNNNN.csv, OUT/customers/part-00000.csv,
# OUT/dataset.json.
TRANSACTIONS_DIR: Final = "transactions"
CUSTOMERS_DIR: Final = "customers"
DATASET_REPORT: Final = "dataset.json"

DEFAULT_PART_ROWS: Final = 1_000_000
DEFAULT_FRAUD_RATE: Final = 0.015
# 2023-01-01T00:00:00Z: generated transactions fall in the year after this instant.
DEFAULT_START_TIME: Final = 1_672_531_200
DEFAULT_DAYS: Final = 365


def split_names(count: int) -> tuple[str, ...]:
    """Names of ``count`` splits (2 or 3)."""
    return SPLIT_NAMES[count]


def part_name(number: int, suffix: str = ".csv") -> str:
    """File name of output part ``number``: ``part-00042.csv``."""
    return f"part-{number:05d}{suffix}"
