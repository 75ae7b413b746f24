"""Fraud data: a synthetic generator and a train/validation/test partitioner.

Column names and limits (:mod:`mlops.data.schema`) import nothing heavy, so the endpoint
Lambda can use :data:`FEATURE_COLUMNS`. The functions below load numpy and pyarrow on first
use. docs/data.md is the user guide.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from mlops.data.schema import (
    FEATURE_COLUMNS,
    ID_COLUMN,
    MAX_CLASSES,
    METHODS,
    TARGET_COLUMN,
    TRANSACTION_COLUMNS,
)
from mlops.data.spec import PartitionSpec

if TYPE_CHECKING:
    from mlops.data.generator import (
        GeneratorConfig,
        customers_table,
        generate,
        transactions_table,
    )
    from mlops.data.partitioner import (
        Shard,
        assign_splits,
        generate_partitioned,
        partition,
        split_table,
    )
    from mlops.data.report import merge_shards

_LAZY = {
    "GeneratorConfig": "mlops.data.generator",
    "customers_table": "mlops.data.generator",
    "generate": "mlops.data.generator",
    "transactions_table": "mlops.data.generator",
    "Shard": "mlops.data.partitioner",
    "assign_splits": "mlops.data.partitioner",
    "generate_partitioned": "mlops.data.partitioner",
    "partition": "mlops.data.partitioner",
    "split_table": "mlops.data.partitioner",
    "merge_shards": "mlops.data.report",
}

__all__ = [
    "FEATURE_COLUMNS",
    "ID_COLUMN",
    "MAX_CLASSES",
    "METHODS",
    "TARGET_COLUMN",
    "TRANSACTION_COLUMNS",
    "GeneratorConfig",
    "PartitionSpec",
    "Shard",
    "assign_splits",
    "customers_table",
    "generate",
    "generate_partitioned",
    "merge_shards",
    "partition",
    "split_table",
    "transactions_table",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mlops.data' has no attribute {name!r}")
    return getattr(import_module(module), name)
