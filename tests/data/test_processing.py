"""The SageMaker Processing entry point, on one instance and on 2 or 3 ShardedByS3Key shards.

A shard is simulated the way SageMaker runs it: each "host" gets some of the input files in its
own input folder, its own resourceconfig.json, and writes to its own output folder; the folders
are then "uploaded" (copied) to one prefix, where the merge step runs.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from mlops.data import GeneratorConfig, PartitionSpec, generate
from mlops.data.processing import main
from mlops.data.spec import allocate
from tests.data.conftest import Row, read_csv, read_manifest

OUTPUT_URI = "s3://bucket/splits/run-1"
INPUT_URI = "s3://bucket/raw/transactions"
FRACTIONS = PartitionSpec(method="random", ratios=(0.7, 0.15, 0.15)).fractions


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("raw")
    generate(folder / "g", GeneratorConfig(rows=12_000, seed=5, customers=300), part_rows=2_000)
    return folder / "g" / "transactions"  # 6 parts


def host(
    tmp: Path, name: str, files: list[Path], index: int, hosts: int, args: list[str]
) -> tuple[int, Path]:
    """Run the entry point as host ``index`` of ``hosts`` on ``files``."""
    root = tmp / name
    (root / "input").mkdir(parents=True)
    (root / "output").mkdir()
    for item in files:
        shutil.copy(item, root / "input" / item.name)
    names = [f"algo-{number + 1}" for number in range(hosts)]
    (root / "resourceconfig.json").write_text(
        json.dumps({"current_host": names[index], "hosts": names})
    )
    (root / "processingjobconfig.json").write_text(
        json.dumps(
            {
                "ProcessingInputs": [
                    {"S3Input": {"LocalPath": str(root / "input"), "S3Uri": INPUT_URI}}
                ],
                "ProcessingOutputConfig": {
                    "Outputs": [
                        {"S3Output": {"LocalPath": str(root / "output"), "S3Uri": OUTPUT_URI}}
                    ]
                },
            }
        )
    )
    code = main(
        [
            *args,  # no command: partition is the default (the training pipeline's form)
            "--input",
            str(root / "input"),
            "--output",
            str(root / "output"),
            "--resource-config",
            str(root / "resourceconfig.json"),
            "--processing-config",
            str(root / "processingjobconfig.json"),
        ]
    )
    return code, root / "output"


def upload(outputs: list[Path], prefix: Path) -> None:
    """Copy every host's output folder to one "S3 prefix"; names must never collide."""
    for output in outputs:
        for path in output.rglob("*"):
            if path.is_file():
                target = prefix / path.relative_to(output)
                assert not target.exists(), f"two hosts wrote {target.name}"
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(path, target)


def rows_of(out: Path, report: dict[str, Any]) -> dict[str, Counter[Row]]:
    result: dict[str, Counter[Row]] = {}
    for split, details in report["splits"].items():
        prefix, parts = read_manifest(out / details["manifest"])
        assert prefix == f"{OUTPUT_URI}/{split}/"
        assert parts == details["parts"]
        result[split] = Counter(row for part in parts for row in read_csv(out / split / part)[1])
    return result


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


DISTRIBUTIONS = {
    "interleaved": lambda files, count: [files[index::count] for index in range(count)],
    "blocks": lambda files, count: [
        files[index * len(files) // count : (index + 1) * len(files) // count]
        for index in range(count)
    ],
}


@pytest.mark.parametrize(
    "args",
    [
        ["--method", "random", "--target", "is_fraud", "--seed", "4"],
        ["--method", "key", "--key", "customer_id", "--target", "is_fraud", "--seed", "4"],
        ["--method", "random", "--row-key", "", "--drop-columns", "transaction_id"],
    ],
    ids=["random", "key", "random-by-position"],
)
@pytest.mark.parametrize("distribution", sorted(DISTRIBUTIONS))
def test_shards_give_the_single_instance_result(
    raw: Path, tmp_path: Path, args: list[str], distribution: str
) -> None:
    files = sorted(raw.glob("part-*.csv"))
    code, single = host(tmp_path, "single", files, 0, 1, args)
    assert code == 0
    outputs = []
    for index, share in enumerate(DISTRIBUTIONS[distribution](files, 2)):
        code, output = host(tmp_path, f"host-{index}", share, index, 2, args)
        assert code == 0
        outputs.append(output)
    prefix = tmp_path / "prefix"
    upload(outputs, prefix)
    assert (
        main(["merge", "--input", str(prefix), "--output", str(prefix), "--output-uri", OUTPUT_URI])
        == 0
    )
    expected, merged = load(single / "split-report.json"), load(prefix / "split-report.json")
    assert rows_of(prefix, merged) == rows_of(single, expected)
    assert merged["input"]["fingerprint"] == expected["input"]["fingerprint"]
    assert merged["input"]["uri"] == INPUT_URI
    for split in expected["split_names"]:
        for field in ("rows", "classes", "fraction"):
            assert merged["splits"][split][field] == expected["splits"][split][field]
    assert merged["shards"] == {"count": 2}


def test_stratified_shards_are_exact_per_shard(raw: Path, tmp_path: Path) -> None:
    args = ["--method", "stratified", "--target", "is_fraud", "--seed", "2"]
    files = sorted(raw.glob("part-*.csv"))
    outputs = []
    for index, share in enumerate(DISTRIBUTIONS["interleaved"](files, 2)):
        code, output = host(tmp_path, f"host-{index}", share, index, 2, args)
        assert code == 0
        outputs.append(output)
        report = load(output / "shards" / f"host-{index:05d}" / "split-report.json")
        assert report["sizes"] == "exact per shard"
        for label in ("0", "1"):
            sizes = [
                report["splits"][name]["classes"][label]["rows"] for name in report["split_names"]
            ]
            assert sizes == allocate(sum(sizes), FRACTIONS)
    prefix = tmp_path / "prefix"
    upload(outputs, prefix)
    assert main(["merge", "--input", str(prefix), "--output", str(prefix)]) == 0
    merged = load(prefix / "split-report.json")
    assert sum(split["rows"] for split in merged["splits"].values()) == 12_000


def test_a_host_without_files_still_reports(raw: Path, tmp_path: Path) -> None:
    args = ["--method", "random", "--target", "is_fraud"]
    files = sorted(raw.glob("part-*.csv"))[:2]
    outputs = []
    for index in range(3):  # 3 hosts, 2 files: host 2 gets nothing
        code, output = host(tmp_path, f"host-{index}", files[index : index + 1], index, 3, args)
        assert code == 0
        outputs.append(output)
    prefix = tmp_path / "prefix"
    upload(outputs, prefix)
    assert main(["merge", "--input", str(prefix), "--output", str(prefix)]) == 0
    merged = load(prefix / "split-report.json")
    assert merged["input"]["rows"] == 4_000 and merged["shards"] == {"count": 3}


def test_merge_refuses_a_missing_shard(
    raw: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--method", "random"]
    files = sorted(raw.glob("part-*.csv"))
    code, output = host(tmp_path, "host-0", files[:3], 0, 2, args)
    assert code == 0
    assert main(["merge", "--input", str(output), "--output", str(output)]) == 2
    assert "expected reports of shards 0..1, found shards [0]" in capsys.readouterr().err


def test_ordered_refuses_several_instances(
    raw: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = sorted(raw.glob("part-*.csv"))
    code, output = host(
        tmp_path,
        "host-0",
        files[:3],
        0,
        2,
        ["--method", "ordered", "--order-by", "transaction_time"],
    )
    assert code == 2
    assert "ordered split needs every row on one instance" in capsys.readouterr().err
    assert list(output.iterdir()) == []


def test_single_instance_writes_the_standard_layout(raw: Path, tmp_path: Path) -> None:
    files = sorted(raw.glob("part-*.csv"))
    args = ["--method", "ordered", "--order-by", "transaction_time", "--ratios", "0.8,0.2"]
    code, output = host(tmp_path, "single", files, 0, 1, args)
    assert code == 0
    report = load(output / "split-report.json")
    assert sorted(path.name for path in output.iterdir()) == [
        "manifests",
        "split-report.json",
        "test",
        "train",
    ]
    assert report["input"]["uri"] == INPUT_URI and report["output"]["uri"] == OUTPUT_URI
    rows = rows_of(output, report)
    latest_train = max(int(row[4]) for row in rows["train"])
    assert all(int(row[4]) >= latest_train for row in rows["test"])


def test_the_generator_output_root_is_read_as_its_transactions(raw: Path, tmp_path: Path) -> None:
    # SageMaker copies the whole prefix: customers/, transactions/ and dataset.json.
    code = main(
        [
            "partition",
            "--method",
            "random",
            "--input",
            str(raw.parent),
            "--output",
            str(tmp_path / "out"),
        ]
    )
    assert code == 0
    report = load(tmp_path / "out" / "split-report.json")
    assert report["input"]["rows"] == 12_000
    assert [item["name"] for item in report["input"]["files"]] == [
        f"part-0000{i}.csv" for i in range(6)
    ]
