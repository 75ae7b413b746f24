"""Train / validation / test partitioning: random, ordered, key and stratified.

Every method decides a row's split from the row alone or from one small first pass, then
streams the input part by part (in parallel) and writes each part's rows to its split:

- ``random`` and ``key``: a seeded hash of the row's identity (``key``: the key value) is
  compared with the cumulative ratios. O(n), one pass, no state: a row lands in the same split
  on any machine and any Processing shard. Split sizes are approximate (binomial for random;
  for key, they follow how many rows each key has).
- ``stratified``: a first pass reads only the identity and class columns; within each class the
  rows are ranked by identity hash and cut at exact counts (largest-remainder rounding of
  ``class rows * ratio``; ties in input order). Exact per class, on one instance; on K
  instances each shard is stratified exactly on its own rows.
- ``ordered``: a first pass reads the order column; rows are sorted (stable, missing values
  last) and cut at exact counts: the earliest rows go to the first split. Needs every row on
  one instance.

Leakage guard: anything fitted on the data (here: minority oversampling) runs after the split,
on the train split only; validation and test are written before and never read again.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]
import pyarrow.compute as pc  # type: ignore[import-untyped,unused-ignore]
from numpy.typing import NDArray

from mlops import __version__
from mlops.data import hashing, tables
from mlops.data.generator import (
    GeneratorConfig,
    blocks,
    customers_table,
    fraud_labels,
    part_ranges,
)
from mlops.data.io import Destination, InputFile, local_inputs, location_uri, parse_location
from mlops.data.parallel import default_workers, ordered_map
from mlops.data.progress import Progress
from mlops.data.report import (
    REPORT_KIND,
    REPORT_VERSION,
    class_balance,
    dumps,
    fingerprint,
    manifest_path,
    manifest_text,
    shard_dir,
)
from mlops.data.schema import (
    CUSTOMERS_DIR,
    DEFAULT_PART_ROWS,
    ID_COLUMN,
    MAX_CLASSES,
    SPLIT_REPORT,
    TARGET_COLUMN,
    TRANSACTION_COLUMNS,
    part_name,
)
from mlops.data.spec import PartitionSpec, allocate, minimum_rows
from mlops.errors import InputError

Codes = NDArray[np.uint8]
_OVERSAMPLE_STREAM = 5
# Plain CSV lines (no quotes) go to their split as bytes, without being parsed and formatted
# again; tests switch this off to check both ways give the same files.
ROUTE_LINES = True
_COMMA = ord(",")


@dataclass(frozen=True)
class Shard:
    """This host's place among the ``count`` instances of a Processing job."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count:
            raise InputError(f"shard {self.index} is not one of 0..{self.count - 1}")

    def part_number(self, local: int) -> int:
        return self.index + self.count * local


@dataclass(frozen=True)
class _Task:
    """One unit of work: a CSV file, some row groups of a Parquet file, or generated rows."""

    number: int
    name: str  # the file's name relative to the input: a row's identity uses it
    file_row_start: int  # first row of the task within its file
    item: InputFile | None = None
    row_groups: tuple[int, ...] = ()
    rows: tuple[int, int] = (0, 0)  # generated rows start..stop


Batch: TypeAlias = Any  # a pa.RecordBatch or pa.Table (pyarrow ships no type hints)


class _Source:
    """Input rows as tasks, each read as a stream of batches (one batch in memory at a time)."""

    columns: list[str]
    tasks: list[_Task]

    def batches(self, task: _Task, columns: list[str] | None = None) -> Iterator[Batch]:
        raise NotImplementedError

    def describe(self, rows_per_task: list[int], workers: int) -> dict[str, Any]:
        raise NotImplementedError


class _FileSource(_Source):
    def __init__(
        self, files: list[InputFile], part_rows: int, workers: int, *, allow_empty: bool = False
    ) -> None:
        self.files = files
        headers = list(
            ordered_map(lambda index: tables.read_header(files[index]), len(files), workers)
        )
        self.headers = dict(zip((item.name for item in files), headers, strict=True))
        non_empty = [(item, header) for item, header in zip(files, headers, strict=True) if header]
        self.tasks = []
        self.columns = []
        if not non_empty:
            if allow_empty:
                return
            raise InputError("input is empty: no header row in any part")
        self.columns = non_empty[0][1]
        for item, header in non_empty[1:]:
            if header != self.columns:
                raise InputError(
                    f"{item.name} has columns {','.join(header)}; "
                    f"{non_empty[0][0].name} has {','.join(self.columns)}"
                )
        for item, _ in non_empty:
            if item.format == "csv":
                self.tasks.append(_Task(len(self.tasks), item.name, 0, item))
                continue
            start, batch_rows = 0, 0
            batch: list[int] = []
            for group, rows in enumerate(tables.parquet_row_groups(item)):
                if batch and batch_rows + rows > part_rows:
                    self.tasks.append(_Task(len(self.tasks), item.name, start, item, tuple(batch)))
                    start, batch, batch_rows = start + batch_rows, [], 0
                batch.append(group)
                batch_rows += rows
            if batch:
                self.tasks.append(_Task(len(self.tasks), item.name, start, item, tuple(batch)))

    def batches(self, task: _Task, columns: list[str] | None = None) -> Iterator[Batch]:
        assert task.item is not None
        if task.item.format != "csv":
            return tables.stream_parquet(task.item, list(task.row_groups), columns)
        header = self.headers[task.item.name]
        if columns is None:
            return tables.stream_csv(task.item, header)
        # raw: the same chunks, and the same row checks, as the second pass that copies lines
        chunks = tables.csv_chunks(task.item, header, columns, raw=ROUTE_LINES)
        return (chunk.table for chunk in chunks)

    def describe(self, rows_per_task: list[int], workers: int) -> dict[str, Any]:
        rows_per_file: dict[str, int] = {}
        for task, rows in zip(self.tasks, rows_per_task, strict=True):
            rows_per_file[task.name] = rows_per_file.get(task.name, 0) + rows
        digests = list(
            ordered_map(lambda index: _sha256(self.files[index].path), len(self.files), workers)
        )
        files = [
            {
                "name": item.name,
                "bytes": item.size,
                "sha256": digest,
                "rows": rows_per_file.get(item.name, 0),
            }
            for item, digest in zip(self.files, digests, strict=True)
        ]
        return {
            "format": self.files[0].format if self.files else None,
            "rows": sum(rows_per_task),
            "fingerprint": fingerprint(files),
            "files": files,
        }


class _GeneratedSource(_Source):
    """Transactions straight from the generator: generate + split + write in one pass."""

    def __init__(self, config: GeneratorConfig, part_rows: int) -> None:
        self.config = config
        self.columns = list(TRANSACTION_COLUMNS)
        self.tasks = [
            # Named and numbered like the files `generate` writes, so a row's position identity
            # is the same whether it is split while generated or read back from its file.
            _Task(number, part_name(number), 0, rows=(start, stop))
            for number, (start, stop) in enumerate(part_ranges(config.rows, part_rows))
        ]

    def batches(self, task: _Task, columns: list[str] | None = None) -> Iterator[Batch]:
        start, stop = task.rows
        if columns is not None and set(columns) <= {ID_COLUMN, TARGET_COLUMN}:
            # The first pass of a stratified split needs ids and labels only: both are cheap.
            arrays = {
                ID_COLUMN: pa.array(np.arange(start + 1, stop + 1, dtype=np.int64)),
                TARGET_COLUMN: pa.array(fraud_labels(self.config, start, stop)),
            }
            yield pa.table({name: arrays[name] for name in columns})
            return
        for block in blocks(self.config, start, stop):
            table = block.table(text=True)
            yield table if columns is None else table.select(columns)

    def chunks(self, task: _Task) -> Iterator[tables.CsvChunk]:
        """Generated blocks not yet made tables: each split's rows become a table of their own,
        which is cheaper than taking them out of the block's table."""
        for block in blocks(self.config, *task.rows):
            yield tables.CsvChunk(None, rows=block.size, block=block)

    def describe(self, rows_per_task: list[int], workers: int) -> dict[str, Any]:
        text = dumps({"generator": self.config.to_json(), "code_version": __version__})
        return {
            "format": "generated",
            "generator": self.config.to_json(),
            "rows": sum(rows_per_task),
            "fingerprint": "sha256:" + hashlib.sha256(text.encode()).hexdigest(),
            "files": [],
        }


class _TableSource(_Source):
    def __init__(self, table: pa.Table, name: str) -> None:
        self.table = table
        self.columns = list(table.column_names)
        self.tasks = [_Task(0, name, 0)]

    def batches(self, task: _Task, columns: list[str] | None = None) -> Iterator[Batch]:
        yield self.table if columns is None else self.table.select(columns)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class _Plan:
    """How rows are assigned: by hash batch by batch, or from the codes of a first pass."""

    spec: PartitionSpec
    identity: str | None
    salt: int = 0
    cuts: list[int] = field(default_factory=list)
    codes: list[Codes] | None = None  # per task, when a first pass decided every row
    classes: list[NDArray[np.uint8]] | None = None  # per task, when a first pass read them
    class_names: list[str] = field(default_factory=list)

    def assign(self, task: _Task, batch: Batch | None, offset: int, rows: int) -> Codes:
        """Split codes of the ``rows`` rows ``offset ..`` of ``task`` (in ``batch``)."""
        if self.codes is not None:
            return self.codes[task.number][offset : offset + rows]
        assert batch is not None
        return hashing.split_by_hash(self.hashes(task, batch, offset), self.cuts)

    def hashes(self, task: _Task, batch: Batch, offset: int) -> hashing.U64:
        if self.identity is not None:
            return hashing.hash_values(batch.column(self.identity), self.salt)
        return hashing.hash_positions(
            task.name, task.file_row_start + offset, batch.num_rows, self.salt
        )


def _check_columns(spec: PartitionSpec, columns: list[str]) -> list[str]:
    """Output columns; a one-line error for any named column the input lacks."""
    shown = ", ".join(columns)
    named = [
        ("--target", spec.target),
        ("--key", spec.key),
        ("--order-by", spec.order_by),
        ("--row-key", spec.row_key),
    ]
    named += [("--drop-columns", name) for name in spec.drop_columns]
    for flag, name in named:
        if name and name not in columns:
            raise InputError(f"column {name!r} ({flag}) is not in the input; columns: {shown}")
    if spec.oversample is not None and spec.target in spec.drop_columns:
        raise InputError("cannot oversample after dropping the target column")
    output = [name for name in columns if name not in spec.drop_columns]
    if not output:
        raise InputError("--drop-columns drops every column")
    return output


@dataclass
class _Scanned:
    """What the first pass keeps of one task."""

    rows: int
    names: list[str] = field(default_factory=list)  # class names, codes index them
    classes: NDArray[np.uint8] | None = None
    hashes: hashing.U64 | None = None
    order: list[Any] = field(default_factory=list)


def _plan(
    source: _Source,
    spec: PartitionSpec,
    workers: int,
    bar: Progress,
    *,
    sharded: bool = False,
) -> _Plan:
    """The assignment plan; for stratified and ordered, after a first pass over every row."""
    plan = _Plan(spec, spec.identity_column(source.columns))
    plan.salt = hashing.salt(spec.seed, "split")
    plan.cuts = hashing.thresholds(spec.fractions)
    if not spec.global_pass:
        return plan
    if spec.method == "stratified":
        assert spec.target is not None
        needed = list(dict.fromkeys([spec.target, *([plan.identity] if plan.identity else [])]))
    else:
        assert spec.order_by is not None
        needed = [spec.order_by]
    bar.reset("scan", len(source.tasks), "parts")

    def scan(index: int) -> _Scanned:
        task = source.tasks[index]
        scanned = _Scanned(0)
        names: dict[str, int] = {}
        classes: list[NDArray[np.uint8]] = []
        hashes: list[hashing.U64] = []
        for batch in source.batches(task, needed):
            if spec.method == "ordered":
                scanned.order.append(batch.column(spec.order_by))
            else:
                classes.append(_encode(batch.column(spec.target), names))
                hashes.append(plan.hashes(task, batch, scanned.rows))
            scanned.rows += batch.num_rows
        if spec.method == "stratified":
            scanned.names = list(names)
            scanned.classes = _concat(classes, np.uint8)
            scanned.hashes = _concat(hashes, np.uint64)
        bar.advance(1)
        return scanned

    scans = list(ordered_map(scan, len(source.tasks), workers))
    total = sum(item.rows for item in scans)
    if total == 0 and not sharded:
        raise InputError("input has no rows")
    if spec.method == "ordered":
        codes = _ordered_codes([column for item in scans for column in item.order], spec)
        offsets = np.cumsum([0, *(item.rows for item in scans)])
        plan.codes = [codes[offsets[index] : offsets[index + 1]] for index in range(len(scans))]
    else:
        plan.codes, plan.classes, plan.class_names = _stratified_codes(scans, spec, sharded=sharded)
    return plan


def _concat(pieces: list[Any], dtype: type[Any]) -> Any:
    return np.concatenate(pieces) if pieces else np.zeros(0, dtype=dtype)


def _labels(column: pa.ChunkedArray | pa.Array) -> pa.DictionaryArray:
    """Class labels as text, dictionary-encoded; missing labels are the class ``""``."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return pc.dictionary_encode(column.fill_null(""))
    # Encode first, then turn only the few distinct values into text.
    encoded = pc.dictionary_encode(column, null_encoding="encode")
    names = pc.cast(encoded.dictionary, pa.string()).fill_null("")
    return pa.DictionaryArray.from_arrays(encoded.indices, names)


def _encode(column: pa.ChunkedArray | pa.Array, names: dict[str, int]) -> NDArray[np.uint8]:
    """Class codes of ``column``, extending ``names`` (label -> code) with new labels."""
    labels = _labels(column)
    mapping = _class_mapping(labels.dictionary.to_pylist(), names)
    return mapping[np.asarray(labels.indices.to_numpy(zero_copy_only=False), dtype=np.intp)]


def _class_mapping(local: list[str], names: dict[str, int]) -> NDArray[np.uint8]:
    """Global codes of the ``local`` labels; new labels are added to ``names``."""
    mapping = np.zeros(max(len(local), 1), dtype=np.uint8)
    for position, label in enumerate(local):
        if label not in names:
            if len(names) == MAX_CLASSES:
                raise InputError(
                    f"the target has more than {MAX_CLASSES} classes: a stratified split allows "
                    f"at most {MAX_CLASSES} (is the target column a label?)"
                )
            names[label] = len(names)
        mapping[position] = names[label]
    return mapping


_SMALL_CLASS = 4096  # classes this small are cut by a full stable sort


def _stratified_codes(
    scans: list[_Scanned], spec: PartitionSpec, *, sharded: bool
) -> tuple[list[Codes], list[NDArray[np.uint8]], list[str]]:
    """Per task, the split of each row: per class, rows ranked by hash (ties in input order)
    and cut at the exact allocation of the class's rows. Also the class of each row (per task)
    and the class names."""
    names: dict[str, int] = {}
    classes: list[NDArray[np.uint8]] = []
    for item in scans:
        assert item.classes is not None
        classes.append(_class_mapping(item.names, names)[item.classes])
        item.classes = None
    hashes = [item.hashes if item.hashes is not None else np.zeros(0, np.uint64) for item in scans]
    labels = list(names)
    counts = np.zeros(len(labels), dtype=np.int64)
    for codes_of_task in classes:
        counts += np.bincount(codes_of_task, minlength=len(labels))
    needed = minimum_rows(spec.fractions)
    for code, count in enumerate(counts):
        if count < needed and not sharded:
            shown = ",".join(f"{ratio:g}" for ratio in spec.ratios)
            raise InputError(
                f"class {labels[code]!r} has {count} rows, too few for ratios {shown}: "
                f"each class needs at least {needed} rows so that every split gets one"
            )
    result = [np.zeros(len(item), dtype=np.uint8) for item in classes]
    large = [code for code, count in enumerate(counts) if count >= _SMALL_CLASS]
    for code, count in enumerate(counts):
        if code not in large:
            _cut_small(code, allocate(int(count), spec.fractions), classes, hashes, result)
    if large:
        _cut_large(large, counts, spec, classes, hashes, result)
    return result, classes, labels


def _cut_small(
    code: int,
    sizes: list[int],
    classes: list[NDArray[np.uint8]],
    hashes: list[hashing.U64],
    result: list[Codes],
) -> None:
    positions = [np.flatnonzero(task_classes == code) for task_classes in classes]
    values = np.concatenate([h[p] for h, p in zip(hashes, positions, strict=True)])
    ranked = np.empty(len(values), dtype=np.uint8)
    ranked[np.argsort(values, kind="stable")] = np.repeat(
        np.arange(len(sizes), dtype=np.uint8), sizes
    )
    start = 0
    for task, where in enumerate(positions):
        result[task][where] = ranked[start : start + len(where)]
        start += len(where)


_BUCKET_BITS = 12  # radix selection: first by the top 12 bits of the hash, then exactly


def _cut_large(
    large: list[int],
    counts: NDArray[np.int64],
    spec: PartitionSpec,
    classes: list[NDArray[np.uint8]],
    hashes: list[hashing.U64],
    result: list[Codes],
) -> None:
    """Classes with every cut strictly inside. A pivot per cut is found by radix selection
    (a histogram of the hashes' top bits, then an exact sort of the one bucket holding the cut),
    without copying the class's hashes; a row's code is the number of pivots at or below its
    hash. Rows whose hash equals a pivot (equal identities) are ranked in input order."""
    splits = len(spec.fractions)
    shift = np.uint64(64 - _BUCKET_BITS)
    buckets = 1 << _BUCKET_BITS
    classes_count = len(counts)

    def bucket_keys(task_classes: NDArray[np.uint8], task_hashes: hashing.U64) -> Any:
        keys = task_classes.astype(np.int64) << _BUCKET_BITS
        keys += (task_hashes >> shift).astype(np.int64)
        return keys

    histogram = np.zeros(classes_count * buckets, dtype=np.int64)
    for task_classes, task_hashes in zip(classes, hashes, strict=True):
        histogram += np.bincount(
            bucket_keys(task_classes, task_hashes), minlength=classes_count * buckets
        )
    cumulative = np.cumsum(histogram.reshape(classes_count, buckets), axis=1)
    requests: list[tuple[int, int, int, int, NDArray[np.int64]]] = []  # class, cut, key, rank
    for code in large:
        cuts = np.cumsum(allocate(int(counts[code]), spec.fractions))[:-1]
        for cut, position in enumerate(cuts.tolist()):
            bucket = int(np.searchsorted(cumulative[code], position, side="right"))
            before = int(cumulative[code][bucket - 1]) if bucket else 0
            requests.append((code, cut, (code << _BUCKET_BITS) + bucket, position - before, cuts))
    wanted = np.zeros(classes_count * buckets, dtype=bool)
    wanted[[request[2] for request in requests]] = True
    found: dict[int, list[hashing.U64]] = {request[2]: [] for request in requests}
    for task_classes, task_hashes in zip(classes, hashes, strict=True):
        keys = bucket_keys(task_classes, task_hashes)
        hits = np.flatnonzero(wanted[keys])
        for key in np.unique(keys[hits]):
            found[int(key)].append(task_hashes[hits[keys[hits] == key]])
    pivots = np.zeros((splits - 1, classes_count), dtype=np.uint64)
    ties: list[tuple[int, np.uint64, int, NDArray[np.int64]]] = []  # class, pivot, below, cuts
    for code, cut, key, rank, cuts in requests:
        bucket_values = np.sort(np.concatenate(found[key]))
        pivot = bucket_values[rank]
        pivots[cut, code] = pivot
        tied = int(np.count_nonzero(bucket_values == pivot))
        if tied > 1 and not any(t[0] == code and t[1] == pivot for t in ties):
            before = int(cumulative[code][(key & (buckets - 1)) - 1]) if key & (buckets - 1) else 0
            below = before + int(np.count_nonzero(bucket_values < pivot))
            ties.append((code, pivot, below, cuts))
    is_large = np.zeros(classes_count, dtype=bool)
    is_large[large] = True
    for task, (task_classes, task_hashes) in enumerate(zip(classes, hashes, strict=True)):
        codes = result[task]
        member = is_large[task_classes]
        for cut in range(splits - 1):
            codes += member & (task_hashes >= pivots[cut][task_classes])
    for code, pivot, below, cuts in ties:
        rank_of_next = below
        for task, (task_classes, task_hashes) in enumerate(zip(classes, hashes, strict=True)):
            tied_rows = np.flatnonzero((task_classes == code) & (task_hashes == pivot))
            ranks = rank_of_next + np.arange(len(tied_rows))
            result[task][tied_rows] = np.searchsorted(cuts, ranks, side="right")
            rank_of_next += len(tied_rows)


def _ordered_codes(columns: list[Any], spec: PartitionSpec) -> Codes:
    values = _order_values(columns, spec.order_by or "")
    order = np.asarray(
        pc.array_sort_indices(values, null_placement="at_end").to_numpy(zero_copy_only=False)
    )
    codes = np.empty(len(order), dtype=np.uint8)
    start = 0
    for split, size in enumerate(allocate(len(order), spec.fractions)):
        codes[order[start : start + size]] = split
        start += size
    return codes


def _order_values(columns: list[Any], name: str) -> pa.Array:
    """The order column as one array: numbers when every value is one, else text."""
    arrays: list[pa.Array] = []
    for column in columns:
        arrays.extend(column.chunks if isinstance(column, pa.ChunkedArray) else [column])
    if len({array.type for array in arrays}) > 1:
        arrays = [pc.cast(array, pa.large_string()) for array in arrays]
    values = pa.concat_arrays(arrays) if arrays else pa.array([], pa.string())
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        values = pc.if_else(pc.equal(values, ""), pa.scalar(None, values.type), values)
        for numeric in (pa.int64(), pa.float64()):
            try:
                return pc.cast(values, numeric)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                continue
    try:
        pc.array_sort_indices(values[:1])
    except pa.ArrowNotImplementedError:
        raise InputError(f"column {name!r} of type {values.type} cannot be ordered") from None
    return values


def _route(
    chunk: tables.CsvChunk, codes: Codes, splits: int, drop: tuple[list[int], int]
) -> list[tuple[bytes, int]]:
    """The lines of a plain chunk (one per row, each ending in a line break, no quotes) for
    each split, with the dropped fields cut out; and the number of rows of each split."""
    assert chunk.lines is not None and chunk.ends is not None
    text = np.frombuffer(chunk.lines, dtype=np.uint8)
    ends = chunk.ends
    starts = np.concatenate(([0], ends[:-1] + 1))
    owner = np.repeat(codes, ends - starts + 1)
    dropped, width = drop
    keep = None
    if dropped:
        # Without quotes every comma separates fields: width - 1 of them on every line.
        commas = np.flatnonzero(text == _COMMA).reshape(len(ends), width - 1)
        change = np.zeros(len(text) + 1, dtype=np.int32)
        for column in dropped:
            if column < width - 1:  # the field and the comma after it
                first = starts if column == 0 else commas[:, column - 1] + 1
                last = commas[:, column] + 1
            else:  # the last field and the comma before it
                first, last = commas[:, column - 1], ends
            change[first] -= 1
            change[last] += 1
        keep = np.cumsum(change[:-1]) == 0
    result = []
    for split in range(splits):
        chosen = owner == split
        if keep is not None:
            chosen &= keep
        result.append((text[chosen].tobytes(), int(np.count_nonzero(codes == split))))
    return result


@dataclass
class _TaskResult:
    rows: int = 0
    split_rows: list[int] = field(default_factory=list)
    parts: list[str | None] = field(default_factory=list)  # part name per split (None: empty)
    classes: list[dict[str, int]] | None = None  # per split: label -> rows (None: untracked)


def _count_classes(batch: Batch, target: str, codes: Codes, into: list[dict[str, int]]) -> bool:
    """Add the batch's rows per (split, class) to ``into``; False past MAX_CLASSES labels."""
    labels = _labels(batch.column(target))
    names = labels.dictionary.to_pylist()
    if len(names) > MAX_CLASSES:
        return False
    indices = np.asarray(labels.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    _add_counts(codes, indices, names, into)
    return all(len(counts) <= MAX_CLASSES for counts in into)


def _add_counts(
    codes: Codes, classes: NDArray[Any], names: list[str], into: list[dict[str, int]]
) -> None:
    """Add the rows per (split, class) to ``into`` (``classes`` index ``names``)."""
    grid = np.bincount(
        codes.astype(np.int64) * len(names) + classes, minlength=len(into) * len(names)
    ).reshape(len(into), len(names))
    for split in range(len(into)):
        for index, name in enumerate(names):
            if grid[split, index]:
                into[split][name] = into[split].get(name, 0) + int(grid[split, index])


@dataclass
class _Run:
    """One partition run writing into a staging folder."""

    source: _Source
    spec: PartitionSpec
    stage: Path
    out_uri: str
    shard: Shard
    workers: int
    bar: Progress
    input_uri: str | None = None

    def execute(self) -> dict[str, Any]:
        spec = self.spec
        sharded = self.shard.count > 1
        if sharded and spec.method == "ordered":
            raise InputError(
                "an ordered split needs every row on one instance: run it with one instance "
                "(or use random, key or stratified)"
            )
        if sharded and not self.source.tasks:
            columns: list[str] = []  # a shard that got no files
            plan = _Plan(spec, None)
        else:
            columns = _check_columns(spec, self.source.columns)
            plan = _plan(self.source, spec, self.workers, self.bar, sharded=sharded)
        names = spec.split_names
        for name in names:
            (self.stage / name).mkdir()
        total = len(self.source.tasks)
        self.bar.reset("partition", total, "parts")

        def work(index: int) -> _TaskResult:
            try:
                result = self._work(self.source.tasks[index], plan, columns, quoted=False)
            except tables.NeedsQuotes:
                result = self._work(self.source.tasks[index], plan, columns, quoted=True)
            self.bar.advance(1)
            return result

        results = list(ordered_map(work, total, self.workers))
        rows = sum(result.rows for result in results)
        if rows == 0 and not sharded:
            raise InputError("input has no rows")
        splits: dict[str, dict[str, Any]] = {}
        for split, name in enumerate(names):
            classes: dict[str, int] | None = {} if spec.target else None
            for result in results:
                if classes is None or result.classes is None:
                    classes = None
                    break
                for label, count in result.classes[split].items():
                    classes[label] = classes.get(label, 0) + count
            if classes is not None and len(classes) > MAX_CLASSES:
                classes = None
            splits[name] = {
                "rows": sum(result.split_rows[split] for result in results),
                "parts": [part for result in results if (part := result.parts[split])],
                "classes": classes,
            }
        if spec.oversample is not None:
            self._oversample(splits[names[0]], names[0], next_local=total)
        described = self.source.describe([result.rows for result in results], self.workers)
        return self._finish(columns, rows, splits, described, plan)

    def _work(self, task: _Task, plan: _Plan, columns: list[str], *, quoted: bool) -> _TaskResult:
        """Stream one task's rows into its part of each split."""
        names = self.spec.split_names
        target = self.spec.target
        part = part_name(self.shard.part_number(task.number))
        writers: dict[int, tables.PartWriter] = {}
        result = _TaskResult(classes=[{} for _ in names] if target else None)

        def writer(split: int) -> tables.PartWriter:
            if split not in writers:
                path = self.stage / names[split] / part
                writers[split] = tables.PartWriter(path, columns, quoted=quoted)
            return writers[split]

        try:
            for chunk in self._chunks(task, plan):
                batch = chunk.table
                codes = plan.assign(task, batch, result.rows, chunk.rows)
                if plan.classes is not None and result.classes is not None:
                    known = plan.classes[task.number][result.rows : result.rows + len(codes)]
                    _add_counts(codes, known, plan.class_names, result.classes)
                elif (
                    target
                    and result.classes is not None
                    and not _count_classes(batch, target, codes, result.classes)
                ):
                    result.classes = None
                result.rows += chunk.rows
                if chunk.lines is not None:
                    for split, (lines, rows) in enumerate(
                        _route(chunk, codes, len(names), self._drop)
                    ):
                        if rows:
                            writer(split).write_lines(lines, rows)
                    continue
                if chunk.block is not None:
                    for split in range(len(names)):
                        chosen = np.flatnonzero(codes == split)
                        if len(chosen):
                            writer(split).write(
                                chunk.block.table(chosen, text=True).select(columns)
                            )
                    continue
                assert batch is not None  # chunks without lines are always parsed
                output = batch.select(columns)
                for split in range(len(names)):
                    mask = codes == split
                    if mask.any():
                        rows = output if mask.all() else output.take(pa.array(np.flatnonzero(mask)))
                        writer(split).write(rows)
        except BaseException:
            for opened in writers.values():
                opened.close()
                opened.path.unlink(missing_ok=True)
            raise
        for opened in writers.values():
            opened.close()
        for split in range(len(names)):
            used = writers.get(split)
            result.split_rows.append(used.rows if used else 0)
            result.parts.append(part if used else None)
        return result

    @property
    def _drop(self) -> tuple[list[int], int]:
        """Positions of the dropped columns, and the number of input columns."""
        columns = self.source.columns
        return [columns.index(name) for name in self.spec.drop_columns], len(columns)

    def _chunks(self, task: _Task, plan: _Plan) -> Iterator[tables.CsvChunk]:
        """The task's rows; plain CSV text comes with its lines, which are copied as bytes."""
        item = task.item
        needed: list[str] = []
        if plan.codes is None and plan.identity is not None:
            needed.append(plan.identity)
        if self.spec.target and plan.classes is None:
            needed.append(self.spec.target)
        if isinstance(self.source, _GeneratedSource) and plan.codes is not None and not needed:
            yield from self.source.chunks(task)
            return
        if not ROUTE_LINES or item is None or item.format != "csv":
            for batch in self.source.batches(task):
                yield tables.CsvChunk(batch, rows=batch.num_rows)
            return
        header = self.source.columns
        # After a first pass (which checked every row of these chunks), plain chunks need no
        # parsing unless a column is needed.
        parse = plan.codes is None or bool(needed)
        yield from tables.csv_chunks(
            item, header, list(dict.fromkeys(needed)), raw=True, parse=parse
        )

    def _oversample(self, train: dict[str, Any], name: str, next_local: int) -> None:
        """Random oversampling of minority classes, on the train split only (after the split)."""
        spec = self.spec
        assert spec.target is not None and spec.oversample is not None
        counts: dict[str, int] = train["classes"] or {}
        train["oversampled_rows"] = 0
        if not counts:
            return
        goal = round(spec.oversample * max(counts.values()))
        wanted = {label: goal - count for label, count in sorted(counts.items()) if goal > count}
        if not wanted:
            return
        pools: dict[str, list[pa.Table]] = {label: [] for label in wanted}
        for part in train["parts"]:
            path = self.stage / name / part
            item = InputFile(part, path, path.stat().st_size, "csv")
            header = tables.read_header(item)
            for batch in tables.stream_csv(item, header):
                labels = _labels(batch.column(spec.target))
                indices = np.asarray(labels.indices.to_numpy(zero_copy_only=False))
                for position, label in enumerate(labels.dictionary.to_pylist()):
                    if label in pools:
                        pools[label].append(batch.filter(pa.array(indices == position)))
        rng = np.random.default_rng([spec.seed, _OVERSAMPLE_STREAM])
        extra = pa.concat_tables(
            pa.concat_tables(pools[label]).take(
                pa.array(rng.integers(0, sum(t.num_rows for t in pools[label]), count))
            )
            for label, count in wanted.items()
        )
        for offset in range(0, extra.num_rows, DEFAULT_PART_ROWS):
            part = part_name(self.shard.part_number(next_local + offset // DEFAULT_PART_ROWS))
            tables.write_csv(extra.slice(offset, DEFAULT_PART_ROWS), self.stage / name / part)
            train["parts"].append(part)
        for label, count in wanted.items():
            counts[label] += count
        train["rows"] += extra.num_rows
        train["oversampled_rows"] = extra.num_rows

    def _finish(
        self,
        columns: list[str],
        rows: int,
        splits: dict[str, dict[str, Any]],
        described: dict[str, Any],
        plan: _Plan,
    ) -> dict[str, Any]:
        spec = self.spec
        if not spec.exact:
            sizes = "approximate"
        elif self.shard.count > 1:
            sizes = "exact per shard"
        else:
            sizes = "exact"
        if spec.method == "key":
            identity = f"value of {spec.key}"
        elif spec.method == "ordered":
            identity = f"order of {spec.order_by}"
        elif plan.identity:
            identity = f"value of {plan.identity}"
        else:
            identity = "file name and row position"
        report: dict[str, Any] = {
            "report": REPORT_KIND,
            "report_version": REPORT_VERSION,
            "code_version": f"mlops {__version__}",
            "algorithm": hashing.ALGORITHM,
            **spec.to_json(),
            "identity": identity,
            "sizes": sizes,
            "columns": columns,
            "input": {"uri": self.input_uri, **described},
            "output": {"uri": self.out_uri},
            "shards": {"count": self.shard.count, "index": self.shard.index},
            "splits": {},
        }
        if self.shard.count == 1:
            del report["shards"]["index"]
        base = "" if self.shard.count == 1 else f"{shard_dir(self.shard.index)}/"
        for name, details in splits.items():
            details["parts"] = sorted(details["parts"])
            original = details["rows"] - details.get("oversampled_rows", 0)
            entry: dict[str, Any] = {
                "rows": details["rows"],
                "fraction": round(original / rows, 6) if rows else 0.0,
                "manifest": base + manifest_path(name),
                "parts": details["parts"],
                "classes": class_balance(details["classes"], details["rows"]),
            }
            if "oversampled_rows" in details:
                entry["oversampled_rows"] = details["oversampled_rows"]
            report["splits"][name] = entry
            manifest = self.stage / base / manifest_path(name)
            manifest.parent.mkdir(parents=True, exist_ok=True)
            manifest.write_text(
                manifest_text(f"{self.out_uri}/{name}/", details["parts"]), encoding="utf-8"
            )
        (self.stage / base / SPLIT_REPORT).write_text(dumps(report), encoding="utf-8")
        return report


def partition(
    source: str | os.PathLike[str],
    out: str | os.PathLike[str],
    spec: PartitionSpec,
    *,
    overwrite: bool = False,
    progress: bool = False,
    part_rows: int = DEFAULT_PART_ROWS,
    workers: int | None = None,
    shard: Shard | None = None,
    out_uri: str | None = None,
    input_uri: str | None = None,
) -> dict[str, Any]:
    """Split the CSV or Parquet parts at ``source`` into ``out`` (folders or ``s3://``).

    Writes ``OUT/<split>/part-NNNNN.csv``, ``OUT/manifests/<split>.manifest`` and
    ``OUT/split-report.json`` (on a shard of a multi-instance job: the report and manifests go
    to ``OUT/shards/host-NNNNN/``), through a staging folder. Returns the report. ``part_rows``
    sizes the tasks a Parquet file is cut into (CSV parts are one task each). ``out_uri`` and
    ``input_uri`` are what the manifests and the report name (default: ``out`` and
    ``source``); a Processing job passes its S3 URIs.
    """
    destination = Destination(out)
    shard = shard or Shard()
    count = workers or default_workers()
    bar = Progress("partition", 1, "parts", enabled=progress)
    destination.check(overwrite)
    sharded = shard.count > 1
    try:
        with local_inputs(source, allow_empty=sharded) as files:
            origin = _FileSource(files, part_rows, count, allow_empty=sharded)
            with destination.staging(overwrite) as stage:
                return _Run(
                    origin,
                    spec,
                    stage,
                    (out_uri or destination.uri).rstrip("/"),
                    shard,
                    count,
                    bar,
                    input_uri=input_uri or _uri(source),
                ).execute()
    finally:
        bar.close()


def generate_partitioned(
    out: str | os.PathLike[str],
    config: GeneratorConfig,
    spec: PartitionSpec,
    *,
    overwrite: bool = False,
    progress: bool = False,
    part_rows: int = DEFAULT_PART_ROWS,
    workers: int | None = None,
) -> dict[str, Any]:
    """Generate transactions and split them in one pass, without writing the unsplit data.

    Same parts as :func:`~mlops.data.generator.generate` followed by :func:`partition` with the
    same ``part_rows`` (byte for byte), plus ``OUT/customers/part-00000.csv``.
    """
    destination = Destination(out)
    count = workers or default_workers()
    bar = Progress("generate", 1, "parts", enabled=progress)
    config.population  # noqa: B018 - built once, before the worker threads share it
    try:
        with destination.staging(overwrite) as stage:
            (stage / CUSTOMERS_DIR).mkdir()
            tables.write_csv(customers_table(config), stage / CUSTOMERS_DIR / part_name(0))
            return _Run(
                _GeneratedSource(config, part_rows),
                spec,
                stage,
                destination.uri,
                Shard(),
                count,
                bar,
            ).execute()
    finally:
        bar.close()


def assign_splits(table: pa.Table, spec: PartitionSpec, *, name: str = "table") -> Codes:
    """The split code (index into ``spec.split_names``) of each row of an in-memory table.

    Same assignment as :func:`partition` gives the rows of a file called ``name``.
    """
    source = _TableSource(table, name)
    _check_columns(spec, source.columns)
    if table.num_rows == 0:
        raise InputError("input has no rows")
    plan = _plan(source, spec, 1, Progress("", 1, "", enabled=False))
    return plan.assign(source.tasks[0], table, 0, table.num_rows)


def split_table(
    table: pa.Table, spec: PartitionSpec, *, name: str = "table"
) -> dict[str, pa.Table]:
    """An in-memory table split by :func:`assign_splits` (dropped columns removed)."""
    codes = assign_splits(table, spec, name=name)
    columns = _check_columns(spec, list(table.column_names))
    return {
        split: table.select(columns).filter(pa.array(codes == index))
        for index, split in enumerate(spec.split_names)
    }


def _uri(source: str | os.PathLike[str]) -> str:
    return location_uri(parse_location(source))
