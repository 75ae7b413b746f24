"""The CLI (``python -m mlops data ...`` through ``mlops.cli.main``) and S3 round trips (moto)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlops.cli import main
from tests.data.conftest import BUCKET, leftovers, read_csv, report_of, split_rows, tree

RAW = f"s3://{BUCKET}/raw/run-1"
SPLITS = f"s3://{BUCKET}/splits/run-1"


def keys(client: Any, prefix: str) -> list[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def body(client: Any, key: str) -> str:
    text: str = client.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
    return text


def test_generate_then_partition_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw, out = tmp_path / "raw", tmp_path / "splits"
    assert main(["data", "generate", "--rows", "5000", "--seed", "7", "--out", str(raw)]) == 0
    assert "generated 5,000 transactions" in capsys.readouterr().out
    code = main(
        [
            "data", "partition", "--input", str(raw / "transactions"), "--out", str(out),
            "--method", "stratified", "--target", "is_fraud", "--ratios", "0.7,0.15,0.15",
            "--seed", "3", "--drop-columns", "transaction_id",
        ]
    )  # fmt: skip
    printed = capsys.readouterr()
    assert code == 0 and printed.err == ""  # no progress bar when stderr is not a terminal
    assert "stratified split of 5,000 rows (exact sizes, seed 3)" in printed.out
    assert "validation" in printed.out and "is_fraud: 0=" in printed.out
    rows = split_rows(out)
    sizes = [len(rows[name]) for name in ("train", "validation", "test")]
    assert sum(sizes) == 5000  # exact per class (2 classes): within 2 rows of 70/15/15 overall
    assert all(abs(size - goal) <= 2 for size, goal in zip(sizes, (3500, 750, 750), strict=True))
    header, _ = read_csv(out / "train" / "part-00000.csv")
    assert header == [
        "customer_id", "state", "amount", "transaction_time", "transaction_state",
        "time_of_day", "is_fraud",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--method", "stratified"], "method stratified needs a column: pass --target COLUMN"),
        (["--method", "random", "--ratios", "0.7,0.2,0.2"], "ratios 0.7,0.2,0.2 sum to 1.1, not 1"),
        (["--method", "key", "--key", "nope"], "column 'nope' (--key) is not in the input"),
        (["--method", "random", "--ratios", "x"], "ratios 'x' are not numbers"),
    ],
)
def test_bad_input_is_one_line_on_stderr_with_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    main(["data", "generate", "--rows", "100", "--out", str(tmp_path / "raw")])
    capsys.readouterr()
    code = main(
        [
            "data",
            "partition",
            "--input",
            str(tmp_path / "raw" / "transactions"),
            "--out",
            str(tmp_path / "out"),
            *argv,
        ]
    )
    printed = capsys.readouterr()
    assert code == 2
    assert printed.err.startswith(f"error: {message}") and printed.err.count("\n") == 1
    assert not (tmp_path / "out").exists() and leftovers(tmp_path) == []


def test_existing_output_needs_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["data", "generate", "--rows", "100", "--out", str(tmp_path / "raw")]
    assert main(argv) == 0
    assert main(argv) == 2
    assert "already exists: pass --overwrite to replace it" in capsys.readouterr().err
    assert main([*argv, "--overwrite", "--seed", "1"]) == 0


def test_generate_with_split_equals_generate_then_partition(tmp_path: Path) -> None:
    common = ["--ratios", "0.8,0.1,0.1", "--target", "is_fraud"]
    argv = ["data", "generate", "--rows", "120000", "--seed", "2", "--part-rows", "50000"]
    assert main([*argv, "--out", str(tmp_path / "raw")]) == 0
    assert (
        main(
            [
                *argv,
                "--out",
                str(tmp_path / "fused"),
                "--split",
                "stratified",
                "--split-seed",
                "9",
                *common,
            ]
        )
        == 0
    )
    assert main(
        [
            "data", "partition", "--input", str(tmp_path / "raw" / "transactions"),
            "--out", str(tmp_path / "split"), "--method", "stratified", "--seed", "9", *common,
        ]
    ) == 0  # fmt: skip
    fused, split = tree(tmp_path / "fused"), tree(tmp_path / "split")
    for name in ("train", "validation", "test"):
        parts = sorted(key for key in split if key.startswith(f"{name}/"))
        assert len(parts) == 3
        assert [fused[key] for key in parts] == [split[key] for key in parts]
    assert fused["customers/part-00000.csv"] == tree(tmp_path / "raw")["customers/part-00000.csv"]
    assert report_of(tmp_path / "fused")["input"]["generator"]["rows"] == 120_000


def test_s3_round_trip(s3: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "generate", "--rows", "3000", "--part-rows", "1000", "--out", RAW]) == 0
    assert "generated 3,000 transactions" in capsys.readouterr().out
    assert keys(s3, "raw/run-1/") == [
        "raw/run-1/customers/part-00000.csv",
        "raw/run-1/dataset.json",
        "raw/run-1/transactions/part-00000.csv",
        "raw/run-1/transactions/part-00001.csv",
        "raw/run-1/transactions/part-00002.csv",
    ]
    code = main(
        [
            "data", "partition", "--input", f"{RAW}/transactions/", "--out", SPLITS,
            "--method", "key", "--key", "customer_id", "--target", "is_fraud",
            "--ratios", "0.8,0.2", "--output", "json",
        ]
    )  # fmt: skip
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert json.loads(printed.out) == json.loads(body(s3, "splits/run-1/split-report.json"))
    manifest = json.loads(body(s3, "splits/run-1/manifests/train.manifest"))
    assert manifest[0] == {"prefix": f"{SPLITS}/train/"}
    assert [f"splits/run-1/train/{part}" for part in manifest[1:]] == keys(
        s3, "splits/run-1/train/"
    )
    report = json.loads(body(s3, "splits/run-1/split-report.json"))
    assert report["input"]["uri"] == f"{RAW}/transactions"
    assert [item["name"] for item in report["input"]["files"]] == [
        f"part-0000{i}.csv" for i in range(3)
    ]
    assert sum(split["rows"] for split in report["splits"].values()) == 3000
    trains = {
        line.split(",")[1]
        for line in body(s3, manifest and f"splits/run-1/train/{manifest[1]}").splitlines()[1:]
    }
    tests = set()
    for part in json.loads(body(s3, "splits/run-1/manifests/test.manifest"))[1:]:
        tests |= {
            line.split(",")[1] for line in body(s3, f"splits/run-1/test/{part}").splitlines()[1:]
        }
    assert not trains & tests  # key isolation holds on S3 too


def test_s3_failure_writes_nothing_and_existing_prefix_is_kept(
    s3: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["data", "generate", "--rows", "500", "--out", RAW]) == 0
    argv = [
        "data",
        "partition",
        "--input",
        f"{RAW}/transactions",
        "--out",
        SPLITS,
        "--method",
        "random",
    ]
    assert main([*argv, "--target", "label"]) == 2
    assert "column 'label' (--target) is not in the input" in capsys.readouterr().err
    assert keys(s3, "splits/") == []
    assert main(argv) == 0
    before = keys(s3, "splits/")
    assert main(argv) == 2
    assert "already exists" in capsys.readouterr().err
    assert keys(s3, "splits/") == before
    s3.put_object(Bucket=BUCKET, Key="splits/run-1/stale.txt", Body=b"old")
    assert main([*argv, "--overwrite", "--ratios", "0.5,0.5"]) == 0
    assert "splits/run-1/stale.txt" not in keys(s3, "splits/")
    assert "splits/run-1/validation/part-00000.csv" not in keys(s3, "splits/")


def test_merge_command_on_s3(s3: Any, tmp_path: Path) -> None:
    from mlops.data.processing import main as processing

    main(
        ["data", "generate", "--rows", "2000", "--part-rows", "500", "--out", str(tmp_path / "raw")]
    )
    files = sorted((tmp_path / "raw" / "transactions").glob("*.csv"))
    for index in range(2):
        folder = tmp_path / f"in-{index}"
        folder.mkdir()
        for item in files[index::2]:
            (folder / item.name).write_bytes(item.read_bytes())
        config = tmp_path / f"resource-{index}.json"
        config.write_text(
            json.dumps({"current_host": f"algo-{index + 1}", "hosts": ["algo-1", "algo-2"]})
        )
        out = tmp_path / f"out-{index}"
        assert processing(
            ["partition", "--method", "random", "--input", str(folder), "--output", str(out),
             "--output-uri", SPLITS, "--resource-config", str(config)]
        ) == 0  # fmt: skip
        for path in out.rglob("*"):
            if path.is_file():
                s3.upload_file(
                    str(path), BUCKET, f"splits/run-1/{path.relative_to(out).as_posix()}"
                )
    assert main(["data", "merge", "--out", SPLITS]) == 0
    report = json.loads(body(s3, "splits/run-1/split-report.json"))
    assert report["input"]["rows"] == 2000 and report["shards"] == {"count": 2}
    manifest = json.loads(body(s3, "splits/run-1/manifests/train.manifest"))
    assert manifest[1:] == [key.rsplit("/", 1)[1] for key in keys(s3, "splits/run-1/train/")]


def test_light_modules_do_not_load_numpy_or_pyarrow() -> None:
    # Lambdas and `python -m mlops --help` import these: they must stay light.
    import subprocess
    import sys

    code = (
        "import argparse, sys, mlops.data, mlops.data.cli, mlops.data.io, mlops.data.report, "
        "mlops.data.processing; from mlops.data import FEATURE_COLUMNS, PartitionSpec; "
        "mlops.data.cli.register(argparse.ArgumentParser().add_subparsers()); "
        "mlops.data.processing.build_parser(); "
        "print(sorted(m for m in ('numpy', 'pyarrow', 'boto3') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_progress_bar_draws_only_when_enabled() -> None:
    import io

    from mlops.data.progress import Progress

    shown, hidden = io.StringIO(), io.StringIO()
    for stream, enabled in ((shown, True), (hidden, False)):
        bar = Progress("partition", 2_000_000, "rows", enabled=enabled, stream=stream)
        bar.advance(1_000_000)
        bar.advance(1_000_000)
        bar.close()
    assert "partition" in shown.getvalue() and "100%" in shown.getvalue()
    assert "2.0M/2.0M rows" in shown.getvalue() and shown.getvalue().endswith("\n")
    assert hidden.getvalue() == ""


def test_a_missing_bucket_is_a_one_line_error(s3: Any, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["data", "partition", "--input", "s3://no-such-bucket/raw/", "--out", SPLITS]
    assert main([*argv, "--method", "random"]) == 1  # AWS's answer: status 1
    assert capsys.readouterr().err == (
        "error: s3://no-such-bucket/raw: not found: The specified bucket does not exist "
        "(HeadObject)\n"
    )
