"""SageMaker Processing entry point of the partitioner (and of the merge of shard reports).

``python -m mlops.data.processing [partition] --method stratified --target is_fraud
--ratios 0.7,0.15,0.15 --seed 42 [--drop-columns transaction_id]`` reads the parts SageMaker
copied to ``/opt/ml/processing/input`` and writes the splits to ``/opt/ml/processing/output``,
which SageMaker uploads to the output's S3 URI. Manifests point at that S3 URI: it is read from
``/opt/ml/config/processingjobconfig.json`` (or given with ``--output-uri``).

On K instances with ``ShardedByS3Key`` each instance splits the files it received. ``random``
and ``key`` give exactly the rows a single instance would give (the split of a row depends only
on the row), ``stratified`` is exact within each shard, ``ordered`` refuses to run on more than
one instance. Part names carry the host index (``part-{host + K*n}``), so shards never collide;
each host writes its report and manifests under ``shards/host-NNNNN/`` and
``python -m mlops.data.processing merge`` (one instance, input = the job's output prefix, or
``python -m mlops data merge --out s3://...``) writes the combined manifests and report.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mlops.container import PROCESSING_CONFIG, PROCESSING_DIR, RESOURCE_CONFIG, container_path
from mlops.data.cli import _partition_options, spec_from_args, summary
from mlops.data.schema import DEFAULT_PART_ROWS, METHODS, SHARDS_DIR
from mlops.errors import MlopsError

INPUT_DIR = f"{PROCESSING_DIR}/input"
OUTPUT_DIR = f"{PROCESSING_DIR}/output"


def shard_of(resource_config: str | os.PathLike[str]) -> tuple[int, int]:
    """(this host's index, number of hosts) from SageMaker's resource config; (0, 1) without."""
    path = container_path(resource_config)
    if not path.is_file():
        return 0, 1
    config = json.loads(path.read_text(encoding="utf-8"))
    hosts: list[str] = list(config.get("hosts") or [])
    current = config.get("current_host")
    if not hosts or current not in hosts:
        return 0, 1
    return hosts.index(current), len(hosts)


def s3_uri_of(local: str, processing_config: str | os.PathLike[str]) -> str | None:
    """The S3 URI SageMaker maps to the local input or output folder ``local``, if known."""
    path = container_path(processing_config)
    if not path.is_file():
        return None
    config: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    wanted = container_path(local)
    channels = [item.get("S3Input", {}) for item in config.get("ProcessingInputs", [])]
    channels += [
        item.get("S3Output", {})
        for item in config.get("ProcessingOutputConfig", {}).get("Outputs", [])
    ]
    for channel in channels:
        local_path = channel.get("LocalPath")
        if local_path and container_path(local_path) == wanted and channel.get("S3Uri"):
            return str(channel["S3Uri"]).rstrip("/")
    return None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mlops.data.processing",
        description="Partition data inside a SageMaker Processing job (docs/data.md).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    partition = commands.add_parser("partition", help="split this instance's input files")
    partition.add_argument("--method", choices=METHODS, required=True)
    _partition_options(partition, seed_flag="--seed")
    _folders(partition)
    partition.add_argument("--input-uri", help="S3 URI of the input (default: from the job)")
    partition.add_argument("--part-rows", type=int, default=DEFAULT_PART_ROWS)
    partition.add_argument("--workers", type=int)
    partition.add_argument("--overwrite", action="store_true")
    partition.add_argument("--resource-config", default=RESOURCE_CONFIG)
    merge = commands.add_parser("merge", help="combine the shard reports into one report")
    _folders(merge)
    return parser


def _folders(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input", default=INPUT_DIR, help=f"input folder (default {INPUT_DIR})")
    parser.add_argument(
        "--output", default=OUTPUT_DIR, help=f"output folder (default {OUTPUT_DIR})"
    )
    parser.add_argument(
        "--output-uri", help="S3 URI the output folder is uploaded to (default: from the job)"
    )
    parser.add_argument("--processing-config", default=PROCESSING_CONFIG)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if not arguments or arguments[0] not in ("partition", "merge", "-h", "--help"):
        arguments.insert(0, "partition")  # the default command
    args = build_parser().parse_args(arguments)
    # Folders inside the job's container (SAGEMAKER_BASE_DIR stands for /opt/ml outside one).
    args.input, args.output = str(container_path(args.input)), str(container_path(args.output))
    try:
        if args.command == "merge":
            return _merge(args)
        return _partition(args)
    except MlopsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _partition(args: argparse.Namespace) -> int:
    from mlops.data.partitioner import Shard, partition

    index, count = shard_of(args.resource_config)
    report = partition(
        args.input,
        args.output,
        spec_from_args(args, args.method),
        overwrite=args.overwrite,
        part_rows=args.part_rows,
        workers=args.workers,
        shard=Shard(index, count),
        out_uri=args.output_uri or s3_uri_of(args.output, args.processing_config),
        input_uri=args.input_uri or s3_uri_of(args.input, args.processing_config),
    )
    print(summary(report) if count == 1 else f"shard {index + 1}/{count}:\n{summary(report)}")
    return 0


def _merge(args: argparse.Namespace) -> int:
    from mlops.data.report import merge_shards

    shards = Path(args.input)
    if (shards / SHARDS_DIR).is_dir():
        shards = shards / SHARDS_DIR
    out_uri = args.output_uri or s3_uri_of(args.output, args.processing_config)
    print(summary(merge_shards(args.output, shards=shards, out_uri=out_uri)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
