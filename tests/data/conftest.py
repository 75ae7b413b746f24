"""Fixtures and helpers of the data tests.

Inputs are written and outputs read with Python's ``csv`` module, not with the code under test,
so a test checks the files a user (or SageMaker) would see.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, settings
from moto import mock_aws

BUCKET = "mlops-test-data"
Row = tuple[str, ...]

# Property tests here do real file I/O: no per-example deadline (a busy machine is not a bug).
PROPERTY = settings(deadline=None, max_examples=25, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A moto S3 with one bucket; credentials are fake."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket=BUCKET)
        yield client


def write_parts(
    folder: Path, header: Sequence[str], rows: Sequence[Sequence[Any]], parts: int = 1
) -> list[Path]:
    """Write ``rows`` as ``parts`` CSV files part-00000.csv ... (round-robin by row blocks)."""
    folder.mkdir(parents=True, exist_ok=True)
    size = max(1, -(-len(rows) // parts))
    paths = []
    for index in range(parts):
        path = folder / f"part-{index:05d}.csv"
        with path.open("w", newline="", encoding="utf-8") as stream:
            writer = csv.writer(stream, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows[index * size : (index + 1) * size])
        paths.append(path)
    return paths


def read_csv(path: Path) -> tuple[list[str], list[Row]]:
    with path.open(newline="", encoding="utf-8") as stream:
        reader = csv.reader(stream)
        header = next(reader)
        return header, [tuple(row) for row in reader]


def read_manifest(path: Path) -> tuple[str, list[str]]:
    entries = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(entries, list) and isinstance(entries[0], dict)
    return entries[0]["prefix"], [str(part) for part in entries[1:]]


def split_rows(out: Path) -> dict[str, list[Row]]:
    """Rows of each split of a local partition output, through its manifests."""
    report = json.loads((out / "split-report.json").read_text(encoding="utf-8"))
    result: dict[str, list[Row]] = {}
    for split in report["split_names"]:
        prefix, parts = read_manifest(out / "manifests" / f"{split}.manifest")
        rows: list[Row] = []
        for part in parts:
            _, part_rows = read_csv(Path(prefix) / part)
            rows.extend(part_rows)
        result[split] = rows
    return result


def report_of(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "split-report.json").read_text(encoding="utf-8"))
    return data


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative path -> bytes)."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def leftovers(parent: Path) -> list[str]:
    """Staging or trash folders left next to an output."""
    return sorted(
        path.name for path in parent.iterdir() if ".staging-" in path.name or ".old-" in path.name
    )
