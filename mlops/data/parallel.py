"""Running independent tasks (parts) on a few threads, results in task order.

numpy and pyarrow release the GIL in their loops (random draws, CSV parsing and formatting), so
threads use several cores without copying data between processes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
MAX_WORKERS = 4  # each worker holds one batch per split: memory grows with workers


def default_workers() -> int:
    return max(1, min(MAX_WORKERS, os.cpu_count() or 1))


def ordered_map(function: Callable[[int], T], count: int, workers: int) -> Iterator[T]:
    """``function(0..count-1)`` on a thread pool, results in order."""
    if workers <= 1 or count <= 1:
        yield from (function(index) for index in range(count))
        return
    pool = ThreadPoolExecutor(workers)
    try:
        yield from pool.map(function, range(count))
    finally:
        # On an error, tasks not started yet are dropped rather than run for nothing.
        pool.shutdown(wait=True, cancel_futures=True)
