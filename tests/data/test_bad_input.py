"""Bad input: a one-line error naming the problem, and nothing half-written."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops.data import GeneratorConfig, PartitionSpec, generate, partition
from mlops.errors import InputError
from tests.data.conftest import leftovers, split_rows, write_parts

HEADER = ("transaction_id", "customer_id", "amount", "is_fraud")


def rows(count: int, fraud_every: int = 10) -> list[tuple[int, int, float, int]]:
    return [(i + 1, i % 7, i * 1.25, int(i % fraud_every == 0)) for i in range(count)]


def spec(method: str = "stratified", **kwargs: object) -> PartitionSpec:
    kwargs.setdefault("ratios", (0.7, 0.15, 0.15))
    if method == "stratified":
        kwargs.setdefault("target", "is_fraud")
    return PartitionSpec(method=method, **kwargs)  # type: ignore[arg-type]


def fails(tmp_path: Path, source: Path, request: PartitionSpec, message: str) -> str:
    out = tmp_path / "out"
    with pytest.raises(InputError, match=message) as caught:
        partition(source, out, request)
    text = str(caught.value)
    assert "\n" not in text
    assert not out.exists()
    assert leftovers(tmp_path) == []
    return text


@pytest.mark.parametrize(
    ("request_spec", "message"),
    [
        (spec(target="label"), "column 'label' \\(--target\\) is not in the input"),
        (spec("key", key="account"), "column 'account' \\(--key\\) is not in the input"),
        (spec("ordered", order_by="time"), "column 'time' \\(--order-by\\) is not in the input"),
        (spec("random", drop_columns=("nope",)), "column 'nope' \\(--drop-columns\\)"),
    ],
)
def test_missing_columns(tmp_path: Path, request_spec: PartitionSpec, message: str) -> None:
    write_parts(tmp_path / "in", HEADER, rows(100))
    text = fails(tmp_path, tmp_path / "in", request_spec, message)
    assert "columns: transaction_id, customer_id, amount, is_fraud" in text


def test_more_than_100_classes(tmp_path: Path) -> None:
    data = [(i + 1, i % 7, 1.0, i % 101) for i in range(2_020)]
    write_parts(tmp_path / "in", HEADER, data, parts=3)
    fails(tmp_path, tmp_path / "in", spec(), "more than 100 classes")


def test_exactly_100_classes_are_allowed(tmp_path: Path) -> None:
    data = [(i + 1, i % 7, 1.0, i % 100) for i in range(2_000)]
    write_parts(tmp_path / "in", HEADER, data, parts=3)
    partition(tmp_path / "in", tmp_path / "out", spec())
    assert sum(len(split) for split in split_rows(tmp_path / "out").values()) == 2_000


def test_class_too_small_for_the_ratios(tmp_path: Path) -> None:
    data = rows(1_000, fraud_every=1_000_000)  # one fraud row: row 1
    write_parts(tmp_path / "in", HEADER, data)
    text = fails(tmp_path, tmp_path / "in", spec(), "class '1' has 1 rows, too few")
    assert "at least 5 rows" in text  # 5 rows: 3, 1, 1


def test_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    fails(tmp_path, tmp_path / "in", spec("random"), "no CSV or Parquet files in")


def test_parts_with_a_header_and_no_rows(tmp_path: Path) -> None:
    write_parts(tmp_path / "in", HEADER, [], parts=2)
    fails(tmp_path, tmp_path / "in", spec("random"), "input has no rows")
    fails(tmp_path, tmp_path / "in", spec(), "input has no rows")


def test_missing_input(tmp_path: Path) -> None:
    fails(tmp_path, tmp_path / "absent", spec("random"), "does not exist")


def test_parts_with_different_columns(tmp_path: Path) -> None:
    write_parts(tmp_path / "in", HEADER, rows(20))
    write_parts(tmp_path / "other", ("transaction_id", "amount"), [(1, 2.0)])
    (tmp_path / "other" / "part-00000.csv").rename(tmp_path / "in" / "part-00001.csv")
    fails(tmp_path, tmp_path / "in", spec("random"), "part-00001.csv has columns")


def test_a_broken_row_in_a_later_part_leaves_nothing(tmp_path: Path) -> None:
    write_parts(tmp_path / "in", HEADER, rows(3_000), parts=3)
    with (tmp_path / "in" / "part-00002.csv").open("a") as stream:
        stream.write("1,2,3\n")  # three fields instead of four
    fails(tmp_path, tmp_path / "in", spec("random"), "part-00002.csv: CSV parse error")


def test_output_exists_without_overwrite(tmp_path: Path) -> None:
    write_parts(tmp_path / "in", HEADER, rows(200))
    partition(tmp_path / "in", tmp_path / "out", spec("random"))
    before = sorted(path.name for path in (tmp_path / "out").iterdir())
    with pytest.raises(InputError, match="already exists: pass --overwrite"):
        partition(tmp_path / "in", tmp_path / "out", spec("random"))
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == before
    (tmp_path / "out" / "stale.txt").write_text("old")
    partition(tmp_path / "in", tmp_path / "out", spec("random", ratios=(0.5, 0.5)), overwrite=True)
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == [
        "manifests",
        "split-report.json",
        "test",
        "train",
    ]
    assert leftovers(tmp_path) == []


def test_an_empty_output_folder_is_filled(tmp_path: Path) -> None:
    # A Processing job's output folder exists and is empty.
    write_parts(tmp_path / "in", HEADER, rows(200))
    (tmp_path / "out").mkdir()
    partition(tmp_path / "in", tmp_path / "out", spec("random"))
    assert (tmp_path / "out" / "split-report.json").is_file()


def test_output_that_is_a_file(tmp_path: Path) -> None:
    write_parts(tmp_path / "in", HEADER, rows(20))
    (tmp_path / "out").write_text("x")
    with pytest.raises(InputError, match="is a file"):
        partition(tmp_path / "in", tmp_path / "out", spec("random"))


def test_generate_refuses_an_existing_output(tmp_path: Path) -> None:
    generate(tmp_path / "g", GeneratorConfig(rows=100))
    with pytest.raises(InputError, match="already exists"):
        generate(tmp_path / "g", GeneratorConfig(rows=100))
    assert leftovers(tmp_path) == []
