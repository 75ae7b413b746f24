"""``python -m mlops labels upload`` and ``python -m mlops monitor status``.

AWS access goes through :func:`_session` alone, so the shared CLI options (profile, region,
debug) can replace it in one place.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from mlops.deployment.names import endpoint_name
from mlops.errors import InputError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    labels = subparsers.add_parser(
        "labels",
        help="upload late fraud labels as Model Monitor ground truth",
        description="Write inference_id,is_fraud rows as ground truth where the endpoint's "
        "model-quality monitor merges them (docs/monitoring.md).",
    )
    label_commands = labels.add_subparsers(title="labels commands", metavar="COMMAND")
    upload = label_commands.add_parser(
        "upload",
        help="validate a CSV of labels and upload it (all rows or none)",
        description="Validate every row of FILE (header inference_id,is_fraud), then write one "
        "JSON Lines object under <ground truth>/<endpoint>/yyyy/mm/dd/hh/.",
    )
    _common(upload)
    upload.add_argument("--csv", required=True, help="file with the header inference_id,is_fraud")
    upload.add_argument(
        "--ground-truth-uri",
        help="s3:// folder of the endpoint's labels (default: the one its model-quality "
        "schedule reads)",
    )
    upload.set_defaults(run=run_upload)

    monitor = subparsers.add_parser(
        "monitor", help="see an endpoint's monitoring: executions, violations, alarms"
    )
    monitor_commands = monitor.add_subparsers(title="monitor commands", metavar="COMMAND")
    status = monitor_commands.add_parser(
        "status", help="last executions per schedule, their violations and the alarm states"
    )
    _common(status)
    status.add_argument(
        "--last", type=int, default=3, help="executions shown per schedule (1-100, default 3)"
    )
    status.set_defaults(run=run_status)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--group", required=True, help="configured model package group")
    parser.add_argument("--env", default="dev", help="environment name (default: dev)")
    parser.add_argument("--region", default=None, help="AWS region (default: from your profile)")


def _session(args: argparse.Namespace) -> Any:
    """The one place the CLI gets AWS credentials and region."""
    import boto3

    return boto3.session.Session(region_name=args.region)


def run_upload(args: argparse.Namespace) -> int:
    from mlops.monitoring import labels, schedules

    path = Path(args.csv)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"--csv {path}: cannot read it ({error})") from None
    session = _session(args)
    ground_truth = args.ground_truth_uri or schedules.ground_truth_location(
        session.client("sagemaker"), args.env, args.group
    )
    target, rows = labels.upload(session.client("s3"), ground_truth, text, str(path))
    print(f"{rows} label(s) for {endpoint_name(args.env, args.group)} written to {target.uri}")
    return 0


def run_status(args: argparse.Namespace) -> int:
    from mlops.monitoring import status

    if not 1 <= args.last <= 100:
        raise InputError(f"--last {args.last}: allowed 1 to 100 (ListMonitoringExecutions)")
    session = _session(args)
    schedules, runs = status.executions(
        session.client("sagemaker"), session.client("s3"), args.env, args.group, last=args.last
    )
    alarms = status.alarms(session.client("cloudwatch"), args.env, args.group)
    print(status.report(schedules, runs, alarms, args.group))
    return 0
