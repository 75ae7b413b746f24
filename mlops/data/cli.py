"""``python -m mlops data generate | partition | merge``.

The commands take explicit paths or s3:// URIs, not an environment: no ``--env``.
``--profile``/``--region`` apply to s3:// URIs; ``--output json`` prints the report.

Imports stay light (argparse and the spec): numpy and pyarrow load only when a command runs.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, cast

from mlops.command import EXIT_OK, Context, Subparsers, add_command, add_group
from mlops.data.report import shard_dir
from mlops.data.schema import (
    DEFAULT_DAYS,
    DEFAULT_FRAUD_RATE,
    DEFAULT_PART_ROWS,
    DEFAULT_START_TIME,
    METHODS,
    SPLIT_REPORT,
)
from mlops.data.spec import Method, PartitionSpec, parse_columns, parse_ratios
from mlops.errors import InputError

DEFAULT_RATIOS = "0.7,0.15,0.15"


def register(subparsers: Subparsers) -> None:
    commands = add_group(
        subparsers,
        "data",
        help="generate fraud data; split it into train/validation/test",
        description="Generate synthetic fraud data and partition data into train/validation/test "
        "splits with SageMaker manifests (docs/data.md).",
    )

    generate = add_command(
        commands,
        "generate",
        run_generate,
        help="write synthetic customers and card transactions",
        description="Write OUT/transactions/part-NNNNN.csv, OUT/customers/part-00000.csv and "
        "OUT/dataset.json. With --split, split the transactions while generating them and "
        "write the partition layout instead of OUT/transactions.",
        env=False,
        output=True,
    )
    generate.add_argument("--rows", type=int, required=True, help="transactions to generate")
    generate.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    generate.add_argument("--out", required=True, help="output folder or s3:// prefix")
    generate.add_argument("--customers", type=int, help="customers (default rows/100, >= 10)")
    generate.add_argument(
        "--fraud-rate",
        type=float,
        default=DEFAULT_FRAUD_RATE,
        help=f"share of fraud transactions (default {DEFAULT_FRAUD_RATE})",
    )
    generate.add_argument(
        "--start-time",
        type=int,
        default=DEFAULT_START_TIME,
        help=f"first instant, epoch seconds (default {DEFAULT_START_TIME}: 2023-01-01 UTC)",
    )
    generate.add_argument(
        "--days", type=int, default=DEFAULT_DAYS, help=f"days covered (default {DEFAULT_DAYS})"
    )
    generate.add_argument(
        "--format", choices=("csv", "parquet"), default="csv", help="file format (default csv)"
    )
    generate.add_argument(
        "--drift",
        metavar="PRESET",
        help="shift the population to watch monitoring detect drift: amounts, states, "
        "fraud-rate or all (docs/monitoring.md)",
    )
    _common(generate)
    fused = generate.add_argument_group("split while generating (optional)")
    fused.add_argument("--split", choices=METHODS, help="partition method")
    _partition_options(fused, seed_flag="--split-seed")

    partition = add_command(
        commands,
        "partition",
        run_partition,
        help="split CSV or Parquet data into train/validation/test",
        description="Split the CSV parts of a folder or s3:// prefix (or a Parquet file) into "
        "OUT/<split>/part-NNNNN.csv with OUT/manifests/<split>.manifest and "
        "OUT/split-report.json.",
        env=False,
        output=True,
    )
    partition.add_argument("--input", required=True, help="input file, folder or s3:// prefix")
    partition.add_argument("--out", required=True, help="output folder or s3:// prefix")
    partition.add_argument("--method", choices=METHODS, required=True, help="partition method")
    _partition_options(partition, seed_flag="--seed")
    _common(partition)

    merge = add_command(
        commands,
        "merge",
        run_merge,
        help="combine the shard reports of a multi-instance partition",
        description="Write OUT/manifests/<split>.manifest and OUT/split-report.json from the "
        "reports under OUT/shards/ that each Processing instance wrote.",
        env=False,
        output=True,
    )
    merge.add_argument("--out", required=True, help="the partition output folder or s3:// prefix")
    merge.add_argument("--shards", help="where the shard reports are (default OUT/shards)")
    merge.add_argument("--out-uri", help="URI the manifests point at (default OUT)")


def _partition_options(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup, *, seed_flag: str
) -> None:
    parser.add_argument(
        "--ratios",
        default=DEFAULT_RATIOS,
        help=f"2 or 3 ratios summing to 1: train[,validation],test (default {DEFAULT_RATIOS})",
    )
    parser.add_argument(
        seed_flag,
        dest="split_seed",
        metavar="SEED",
        type=int,
        default=0,
        help="split seed (default 0)",
    )
    parser.add_argument("--target", help="class column (required by stratified)")
    parser.add_argument("--key", help="key column: no value in two splits (method key)")
    parser.add_argument("--order-by", help="order column: earliest rows first (method ordered)")
    parser.add_argument(
        "--row-key",
        help="column identifying a row for random/stratified (default transaction_id if "
        "present, else file name and row position)",
    )
    parser.add_argument(
        "--drop-columns", help="comma-separated columns left out of the output (e.g. ids)"
    )
    parser.add_argument(
        "--oversample",
        type=float,
        help="oversample minority classes of the train split (only) up to this share of the "
        "majority class, e.g. 0.5",
    )


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--part-rows",
        type=int,
        default=DEFAULT_PART_ROWS,
        help=f"rows per generated part, or per task of a Parquet input (default "
        f"{DEFAULT_PART_ROWS:,})",
    )
    parser.add_argument("--workers", type=int, help="threads (default: CPU count, at most 4)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output")


def spec_from_args(args: argparse.Namespace, method: str) -> PartitionSpec:
    """The :class:`PartitionSpec` described by the partition options of a command line."""
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}: use one of {', '.join(METHODS)}")
    return PartitionSpec(
        method=cast(Method, method),
        ratios=parse_ratios(args.ratios),
        seed=args.split_seed,
        target=args.target,
        key=args.key,
        order_by=args.order_by,
        row_key=args.row_key,
        drop_columns=parse_columns(args.drop_columns),
        oversample=args.oversample,
    )


def run_generate(ctx: Context) -> int:
    from mlops.data.generator import GeneratorConfig, generate
    from mlops.data.partitioner import generate_partitioned

    args = ctx.args
    config = GeneratorConfig(
        rows=args.rows,
        seed=args.seed,
        customers=args.customers,
        fraud_rate=args.fraud_rate,
        start_time=args.start_time,
        days=args.days,
        drift=args.drift,
    )
    progress = sys.stderr.isatty()
    if args.split:
        if args.format != "csv":
            raise InputError("--split writes CSV splits: leave out --format parquet")
        spec = spec_from_args(args, args.split)
        with ctx.default_session():
            report = generate_partitioned(
                args.out,
                config,
                spec,
                overwrite=args.overwrite,
                progress=progress,
                part_rows=args.part_rows,
                workers=args.workers,
            )
        ctx.emit(summary(report), report)
        return EXIT_OK
    with ctx.default_session():
        dataset = generate(
            args.out,
            config,
            part_rows=args.part_rows,
            file_format=args.format,
            overwrite=args.overwrite,
            progress=progress,
            workers=args.workers,
        )
    rows, fraud = dataset["rows"], dataset["fraud_rows"]
    ctx.emit(
        f"generated {rows:,} transactions ({fraud:,} fraud, {fraud / rows:.2%}) and "
        f"{config.n_customers:,} customers -> {dataset['transactions']['uri']}",
        dataset,
    )
    return EXIT_OK


def run_partition(ctx: Context) -> int:
    from mlops.data.partitioner import partition

    args = ctx.args
    with ctx.default_session():
        report = partition(
            args.input,
            args.out,
            spec_from_args(args, args.method),
            overwrite=args.overwrite,
            progress=sys.stderr.isatty(),
            part_rows=args.part_rows,
            workers=args.workers,
        )
    ctx.emit(summary(report), report)
    return EXIT_OK


def run_merge(ctx: Context) -> int:
    from mlops.data.report import merge_shards

    args = ctx.args
    with ctx.default_session():
        report = merge_shards(args.out, shards=args.shards, out_uri=args.out_uri)
    ctx.emit(summary(report), report)
    return EXIT_OK


def summary(report: dict[str, Any]) -> str:
    """A few lines a person reads after a partition: rows and class balance per split."""
    rows = report["input"]["rows"]
    lines = [
        f"{report['method']} split of {rows:,} rows ({report['sizes']} sizes, "
        f"seed {report['seed']}) -> {report['output']['uri']}"
    ]
    for name, split in report["splits"].items():
        line = f"  {name:<10} {split['rows']:>12,} rows {split['fraction']:>7.2%}"
        if split.get("classes"):
            balance = " ".join(
                f"{label}={entry['fraction']:.2%}" for label, entry in split["classes"].items()
            )
            line += f"  {report['target']}: {balance}"
        if split.get("oversampled_rows"):
            line += f"  (+{split['oversampled_rows']:,} oversampled)"
        lines.append(line)
    shard = report["shards"].get("index")
    folder = "" if shard is None else f"/{shard_dir(shard)}"
    lines.append(f"  report: {report['output']['uri']}{folder}/{SPLIT_REPORT}")
    return "\n".join(lines)
