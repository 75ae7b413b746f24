"""Scenario (d): the Partition step on K = 2 instances (prod: ``ShardedByS3Key`` + MergeSplits)
gives the same split of every row as on one instance (dev), for ``random`` and ``key``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mlops.training.names import Parameter, Step
from tests.pipeline.executor import Execution
from tests.pipeline.world import World, quota_stubs, run_quotas, training_world
from tests.shipped.fixtures import MotoServer
from tests.synth import Synthesized

SPLITS = ("train", "validation", "test")
METHODS = ("random", "key")  # the methods whose split of a row depends on the row only


def run_partition(world: World, method: str, last_step: str) -> Execution:
    execution = world.executor.start(
        {
            Parameter.SPLIT_METHOD: method,
            Parameter.SPLIT_SEED: "11",
            Parameter.SPLIT_RATIOS: "0.6,0.2,0.2",
            Parameter.SPLIT_KEY: "customer_id",
            Parameter.TARGET_COLUMN: "is_fraud",
        },
        # dev's endpoint is an ml.m5.large, prod's an ml.m5.xlarge
        stubs=quota_stubs({**run_quotas(), **run_quotas(endpoint="ml.m5.xlarge")}),
        stop_after=last_step,
    )
    assert execution.status == "Succeeded", execution.explain()
    return execution


def splits_uri(execution: Execution, step: str) -> str:
    outputs = execution.step(step).properties["ProcessingOutputConfig"]["Outputs"]
    return str(outputs[0]["S3Output"]["S3Uri"])


def rows_by_split(world: World, uri: str) -> dict[str, list[str]]:
    s3 = world.executor.s3
    rows: dict[str, list[str]] = {}
    for split in SPLITS:
        lines: list[str] = []
        for key, _ in s3.objects_under(f"{uri}/{split}/"):
            bucket = uri[len("s3://") :].split("/", 1)[0]
            lines += s3.read_text(f"s3://{bucket}/{key}").splitlines()[1:]  # no header
        rows[split] = sorted(lines)
    return rows


def test_two_instances_split_every_row_as_one_does(
    dev: Synthesized, prod: Synthesized, moto_server: MotoServer, tmp_path: Path, raw_data: Path
) -> None:
    one = training_world(dev.assembly, moto_server, tmp_path / "dev", raw_data)
    expected: dict[str, Any] = {}
    for method in METHODS:
        single = run_partition(one, method, Step.PARTITION)
        uri = splits_uri(single, Step.PARTITION)
        report = json.loads(one.executor.s3.read_text(f"{uri}/split-report.json"))
        expected[method] = (rows_by_split(one, uri), report)

    moto_server.reset()
    two = training_world(
        prod.assembly, moto_server, tmp_path / "prod", raw_data, region="eu-west-1"
    )
    for method in METHODS:
        sharded = run_partition(two, method, Step.MERGE_SPLITS)
        rows, single_report = expected[method]
        check_sharded_run(two, sharded, rows, single_report)


def check_sharded_run(
    world: World, sharded: Execution, rows: dict[str, list[str]], single: dict[str, Any]
) -> None:
    [partition, merge] = sharded.requests_of("CreateProcessingJob")
    assert partition.params["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == 2
    raw_input = next(i for i in partition.params["ProcessingInputs"] if i["InputName"] == "raw")
    assert raw_input["S3Input"]["S3DataDistributionType"] == "ShardedByS3Key"
    assert merge.step == Step.MERGE_SPLITS

    s3 = world.executor.s3
    uri = splits_uri(sharded, Step.MERGE_SPLITS)
    assert rows_by_split(world, uri) == rows
    report: dict[str, Any] = json.loads(s3.read_text(f"{uri}/split-report.json"))
    assert report["shards"] == {"count": 2}
    assert report["input"]["fingerprint"] == single["input"]["fingerprint"]
    assert {s: report["splits"][s]["rows"] for s in SPLITS} == {
        s: single["splits"][s]["rows"] for s in SPLITS
    }
    # Each instance got its own share of the three input files.
    shard_files = [
        [f["name"] for f in json.loads(
            s3.read_text(f"{uri}/shards/host-{index:05d}/split-report.json"))["input"]["files"]]
        for index in range(2)
    ]  # fmt: skip
    assert sorted(name for files in shard_files for name in files) == [
        "part-00000.csv",
        "part-00001.csv",
        "part-00002.csv",
    ]
    assert all(shard_files)
    # The merged manifests list parts that exist.
    manifest = json.loads(s3.read_text(f"{uri}/manifests/train.manifest"))
    assert all(s3.exists(manifest[0]["prefix"] + part) for part in manifest[1:])
