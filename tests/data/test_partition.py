"""Properties of every partition method on small random inputs, through real files."""

from __future__ import annotations

import random
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlops.data import PartitionSpec, assign_splits, partition, partitioner, split_table, tables
from mlops.data.spec import allocate, minimum_rows
from mlops.errors import InputError
from tests.data.conftest import (
    PROPERTY,
    Row,
    read_csv,
    read_manifest,
    report_of,
    split_rows,
    tree,
    write_parts,
)

HEADER = ("row_id", "account", "label", "when", "note")
RATIOS = st.sampled_from([(0.7, 0.15, 0.15), (0.8, 0.2), (0.5, 0.3, 0.2), (0.34, 0.33, 0.33)])
NOTES = ["", "plain", "a,b", 'say "hi"', "two\nlines", "\u00e9t\u00e9"]


@st.composite
def inputs(draw: Any, min_rows: int = 0, max_rows: int = 120) -> tuple[list[Row], int]:
    """Rows (id, account, label, time, free text) in 1 to 4 CSV parts. The rows come from a
    drawn seed: cheap to make, and hypothesis still explores sizes, classes and keys."""
    count = draw(st.integers(min_rows, max_rows))
    classes = draw(st.integers(1, 3))
    accounts = draw(st.integers(1, 12))
    rng = random.Random(draw(st.integers(0, 2**32)))
    rows: list[Row] = [
        (
            str(index + 1),
            f"acct-{rng.randrange(accounts)}",
            str(rng.randrange(classes)),
            str(rng.randrange(51)),  # ties in the order column are common
            rng.choice(NOTES),  # commas, quotes and line breaks force quoting on output
        )
        for index in range(count)
    ]
    parts: int = draw(st.integers(1, 4))
    return rows, parts


def run(rows: list[Row], parts: int, spec: PartitionSpec, folder: Path) -> Path:
    write_parts(folder / "in", HEADER, rows, parts)
    partition(folder / "in", folder / "out", spec, workers=2)
    return folder / "out"


def check_common(rows: list[Row], out: Path, spec: PartitionSpec) -> dict[str, list[Row]]:
    """Every row in exactly one split, valid manifests, a report that matches the files."""
    result = split_rows(out)
    assert sorted(row for split in result.values() for row in split) == sorted(rows)
    ids = [Counter(row[0] for row in split) for split in result.values()]
    assert all(count == 1 for counter in ids for count in counter.values())
    report = report_of(out)
    assert report["input"]["rows"] == len(rows)
    for name in spec.split_names:
        prefix, parts = read_manifest(out / "manifests" / f"{name}.manifest")
        assert prefix == f"{out}/{name}/"
        assert parts == sorted(path.name for path in (out / name).iterdir())
        assert all(read_csv(out / name / part)[0] == list(HEADER) for part in parts)
        assert report["splits"][name]["rows"] == len(result[name])
        assert report["splits"][name]["parts"] == parts
        classes = Counter(row[2] for row in result[name])
        if spec.target:
            assert {
                label: entry["rows"] for label, entry in report["splits"][name]["classes"].items()
            } == classes
    return result


@PROPERTY
@given(data=inputs(), ratios=RATIOS, seed=st.integers(0, 2**32))
def test_random(data: tuple[list[Row], int], ratios: tuple[float, ...], seed: int) -> None:
    rows, parts = data
    spec = PartitionSpec(
        method="random", ratios=ratios, seed=seed, target="label", row_key="row_id"
    )
    with tempfile.TemporaryDirectory() as temporary:
        if not rows:
            with pytest.raises(InputError, match="no rows"):
                run(rows, parts, spec, Path(temporary))
            return
        out = run(rows, parts, spec, Path(temporary))
        check_common(rows, out, spec)
        again = Path(temporary) / "again"
        partition(Path(temporary) / "in", again, spec, workers=1)
        assert tree(out) == {
            name: data.replace(str(again).encode(), str(out).encode())
            for name, data in tree(again).items()
        }


@PROPERTY
@given(data=inputs(min_rows=1), ratios=RATIOS, seed=st.integers(0, 2**32))
def test_key_never_puts_a_key_in_two_splits(
    data: tuple[list[Row], int], ratios: tuple[float, ...], seed: int
) -> None:
    rows, parts = data
    spec = PartitionSpec(method="key", ratios=ratios, seed=seed, key="account")
    with tempfile.TemporaryDirectory() as temporary:
        result = check_common(rows, run(rows, parts, spec, Path(temporary)), spec)
    owners = Counter(key for split in result.values() for key in {row[1] for row in split})
    assert all(count == 1 for count in owners.values())


@PROPERTY
@given(data=inputs(min_rows=1), ratios=RATIOS, seed=st.integers(0, 2**32))
def test_stratified_is_exact_per_class(
    data: tuple[list[Row], int], ratios: tuple[float, ...], seed: int
) -> None:
    rows, parts = data
    spec = PartitionSpec(method="stratified", ratios=ratios, seed=seed, target="label")
    counts = Counter(row[2] for row in rows)
    with tempfile.TemporaryDirectory() as temporary:
        if min(counts.values()) < minimum_rows(spec.fractions):
            with pytest.raises(InputError, match="too few for ratios"):
                run(rows, parts, spec, Path(temporary))
            assert not (Path(temporary) / "out").exists()
            return
        result = check_common(rows, run(rows, parts, spec, Path(temporary)), spec)
    for label, count in counts.items():
        sizes = [sum(row[2] == label for row in result[name]) for name in spec.split_names]
        assert sizes == allocate(count, spec.fractions)


@PROPERTY
@given(data=inputs(min_rows=1), ratios=RATIOS)
def test_ordered_puts_the_earliest_rows_first(
    data: tuple[list[Row], int], ratios: tuple[float, ...]
) -> None:
    rows, parts = data
    spec = PartitionSpec(method="ordered", ratios=ratios, order_by="when")
    with tempfile.TemporaryDirectory() as temporary:
        result = check_common(rows, run(rows, parts, spec, Path(temporary)), spec)
    assert [len(result[name]) for name in spec.split_names] == allocate(len(rows), spec.fractions)
    # Sorted by time, ties in input order, then cut: concatenating the splits gives that order.
    position = {row[0]: index for index, row in enumerate(rows)}
    expected = sorted(rows, key=lambda row: (int(row[3]), position[row[0]]))
    joined = [
        row
        for name in spec.split_names
        for row in sorted(result[name], key=lambda row: (int(row[3]), position[row[0]]))
    ]
    assert joined == expected


@PROPERTY
@given(seed=st.integers(0, 2**32), ratios=RATIOS, fraud=st.integers(7, 400))
def test_stratified_in_memory_matches_the_allocation(
    seed: int, ratios: tuple[float, ...], fraud: int
) -> None:
    labels = np.zeros(5_000, dtype=np.int8)
    labels[np.random.default_rng(seed).choice(5_000, fraud, replace=False)] = 1
    table = pa.table({"id": np.arange(5_000), "y": labels})
    spec = PartitionSpec(method="stratified", ratios=ratios, seed=seed, target="y")
    codes = assign_splits(table, spec)
    for label in (0, 1):
        members = codes[labels == label]
        assert np.bincount(members, minlength=len(ratios)).tolist() == allocate(
            int((labels == label).sum()), spec.fractions
        )


def test_large_classes_are_exact_even_with_duplicate_identities() -> None:
    # 20k rows whose identity repeats: hashes tie, ties are ranked in input order.
    rows = 20_000
    table = pa.table({"transaction_id": np.arange(rows) % 97, "y": np.arange(rows) % 3})
    spec = PartitionSpec(method="stratified", ratios=(0.7, 0.15, 0.15), seed=1, target="y")
    codes = assign_splits(table, spec)
    for label in range(3):
        counts = np.bincount(codes[np.arange(rows) % 3 == label], minlength=3).tolist()
        assert counts == allocate(
            int(np.count_nonzero(np.arange(rows) % 3 == label)), spec.fractions
        )


def test_random_sizes_are_within_binomial_tolerance() -> None:
    rows = 100_000
    table = pa.table({"transaction_id": np.arange(rows)})
    for seed in range(5):
        spec = PartitionSpec(method="random", ratios=(0.7, 0.15, 0.15), seed=seed)
        counts = np.bincount(assign_splits(table, spec), minlength=3)
        for count, ratio in zip(counts, spec.ratios, strict=True):
            assert abs(count - ratio * rows) < 5 * (rows * ratio * (1 - ratio)) ** 0.5


def test_random_without_a_row_key_uses_file_name_and_position() -> None:
    table = pa.table({"x": ["same"] * 1_000})
    spec = PartitionSpec(method="random", ratios=(0.5, 0.5), seed=3)
    first = assign_splits(table, spec, name="part-00000.csv")
    assert 400 < np.count_nonzero(first) < 600  # equal values still spread: identity is position
    assert np.array_equal(first, assign_splits(table, spec, name="part-00000.csv"))
    assert not np.array_equal(first, assign_splits(table, spec, name="part-00001.csv"))


def test_split_table_drops_identifier_columns() -> None:
    table = pa.table({"transaction_id": np.arange(100), "amount": np.arange(100) * 1.5})
    spec = PartitionSpec(method="random", ratios=(0.8, 0.2), drop_columns=("transaction_id",))
    splits = split_table(table, spec)
    assert list(splits) == ["train", "test"]
    assert all(split.column_names == ["amount"] for split in splits.values())
    assert sum(split.num_rows for split in splits.values()) == 100


def test_parquet_input_is_split_like_its_csv_twin(tmp_path: Path) -> None:
    import pyarrow.parquet as pq  # type: ignore[import-untyped,unused-ignore]

    rows = 3_000
    table = pa.table({"transaction_id": np.arange(1, rows + 1), "y": np.arange(rows) % 2})
    pq.write_table(table, tmp_path / "data.parquet", row_group_size=700)
    write_parts(tmp_path / "csv", ["transaction_id", "y"], [(i + 1, i % 2) for i in range(rows)], 3)
    spec = PartitionSpec(method="random", ratios=(0.7, 0.3), seed=9, target="y")
    partition(tmp_path / "data.parquet", tmp_path / "a", spec, part_rows=1_000)
    partition(tmp_path / "csv", tmp_path / "b", spec)
    first, second = split_rows(tmp_path / "a"), split_rows(tmp_path / "b")
    assert {name: sorted(rows) for name, rows in first.items()} == {
        name: sorted(rows) for name, rows in second.items()
    }
    # Row groups of 700 are grouped into tasks of at most 1000 rows: 700, 700, 700, 700 + 200.
    assert len(report_of(tmp_path / "a")["splits"]["train"]["parts"]) == 4


def test_duplicates_of_a_row_key_stay_together() -> None:
    # The same transaction twice must not land in train and test (a leak).
    ids = np.repeat(np.arange(500), 3)
    table = pa.table({"transaction_id": ids, "y": ids % 2})
    codes = assign_splits(table, PartitionSpec(method="random", ratios=(0.5, 0.5), seed=5))
    assert all(len(set(codes[ids == value].tolist())) == 1 for value in range(500))


@settings(PROPERTY, max_examples=20)
@given(
    data=inputs(min_rows=1, max_rows=200),
    method=st.sampled_from(["random", "key", "stratified-or-random", "ordered"]),
    drop=st.sets(st.sampled_from(HEADER[:4]), max_size=3),
    block=st.sampled_from([64, 256, 4096]),
    quotes=st.booleans(),
)
def test_plain_lines_copied_as_bytes_equal_parsed_and_written_rows(
    data: tuple[list[Row], int],
    method: str,
    drop: set[str],
    block: int,
    quotes: bool,
) -> None:
    """The fast path (lines copied as bytes, dropped fields cut out) writes the same files as
    parsing and formatting every value, also when a file turns to quoted text half-way."""
    rows, parts = data
    if not quotes:  # nothing to quote: every chunk can take the fast path
        rows = [
            (*row[:4], row[4].replace('"', "").replace("\n", " ").replace(",", ";")) for row in rows
        ]
    if method == "stratified-or-random":
        counts = Counter(row[2] for row in rows)
        method = "stratified" if min(counts.values()) >= 5 else "random"
    spec = PartitionSpec(
        method=method,  # type: ignore[arg-type]
        ratios=(0.7, 0.15, 0.15),
        seed=1,
        target="label",
        key="account",
        order_by="when",
        drop_columns=tuple(sorted(drop, key=HEADER.index)),
    )
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        write_parts(folder / "in", HEADER, rows, parts)
        saved = (tables._STREAM_BLOCK, partitioner.ROUTE_LINES)
        try:
            tables._STREAM_BLOCK = block
            partition(folder / "in", folder / "fast", spec)
            partitioner.ROUTE_LINES = False
            partition(folder / "in", folder / "slow", spec)
        finally:
            tables._STREAM_BLOCK, partitioner.ROUTE_LINES = saved
            fast, slow = tree(folder / "fast"), tree(folder / "slow")
        assert fast.keys() == slow.keys()
        for name, content in fast.items():
            if name.endswith(".csv") and quotes:
                # Quoting style may differ (pyarrow quotes every text value of a part that
                # needs quotes; copied lines keep theirs): the values may not.
                assert read_csv(folder / "fast" / name) == read_csv(folder / "slow" / name)
            elif name.endswith(".csv"):
                assert content == slow[name], name


@pytest.mark.parametrize(
    "spec",
    [
        PartitionSpec(method="random", ratios=(0.8, 0.2), seed=2, row_key=""),
        PartitionSpec(method="key", ratios=(0.8, 0.2), key="customer_id", target="is_fraud"),
        PartitionSpec(
            method="ordered", ratios=(0.8, 0.2), order_by="transaction_time", target="is_fraud"
        ),
        PartitionSpec(method="stratified", ratios=(0.8, 0.2), target="state"),
    ],
    ids=["random-by-position", "key", "ordered", "stratified-by-state"],
)
def test_every_method_splits_generated_data_while_generating(
    tmp_path: Path, spec: PartitionSpec
) -> None:
    from mlops.data import GeneratorConfig, generate, generate_partitioned

    config = GeneratorConfig(rows=6_000, seed=4)
    generate(tmp_path / "raw", config, part_rows=2_500)
    generate_partitioned(tmp_path / "fused", config, spec, part_rows=2_500)
    partition(tmp_path / "raw", tmp_path / "split", spec)
    fused, split = tree(tmp_path / "fused"), tree(tmp_path / "split")
    parts = [name for name in split if name.endswith(".csv")]
    assert len(parts) >= 4 and all(fused[name] == split[name] for name in parts)
    restored = PartitionSpec.from_json(report_of(tmp_path / "split"))
    assert restored == spec
