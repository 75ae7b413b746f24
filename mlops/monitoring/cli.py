"""``python -m mlops labels upload`` and ``python -m mlops monitor status``.

``--group`` is a group as configured in cdk.json, checked before any AWS call (as for the
``models`` and ``endpoint`` commands); the endpoint it addresses is
``names.endpoint_name(env, group)``.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from mlops.command import EXIT_OK, Context, Subparsers, add_command, add_group
from mlops.deployment.cli import configured_group, group_option
from mlops.deployment.names import endpoint_name
from mlops.errors import InputError


def register(subparsers: Subparsers) -> None:
    labels = add_group(
        subparsers, "labels", help="upload late fraud labels as Model Monitor ground truth"
    )
    upload = add_command(
        labels,
        "upload",
        run_upload,
        help="validate a CSV of labels and upload it (all rows or none)",
        description="Validate every row of FILE (header inference_id,is_fraud), then write one "
        "JSON Lines object under <ground truth>/<endpoint>/yyyy/mm/dd/hh/ "
        "(docs/monitoring.md).",
    )
    group_option(upload)
    upload.add_argument("--csv", required=True, help="file with the header inference_id,is_fraud")
    upload.add_argument(
        "--ground-truth-uri",
        help="s3:// folder of the endpoint's labels (default: the one its model-quality "
        "schedule reads)",
    )

    monitor = add_group(
        subparsers, "monitor", help="see an endpoint's monitoring: executions, violations, alarms"
    )
    status = add_command(
        monitor,
        "status",
        run_status,
        help="last executions per schedule, their violations and the alarm states",
        output=True,
    )
    group_option(status)
    status.add_argument(
        "--last", type=int, default=3, help="executions shown per schedule (1-100, default 3)"
    )


def run_upload(ctx: Context) -> int:
    from mlops.monitoring import labels, schedules

    group = configured_group(ctx)
    path = Path(ctx.args.csv)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"--csv {path}: cannot read it ({error})") from None
    ground_truth = ctx.args.ground_truth_uri or schedules.ground_truth_location(
        ctx.client("sagemaker"), ctx.env, group
    )
    target, rows = labels.upload(ctx.client("s3"), ground_truth, text, str(path))
    print(f"{rows} label(s) for {endpoint_name(ctx.env, group)} written to {target.uri}")
    return EXIT_OK


def run_status(ctx: Context) -> int:
    from mlops.monitoring import status

    group = configured_group(ctx)
    last: int = ctx.args.last
    if not 1 <= last <= 100:
        raise InputError(f"--last {last}: allowed 1 to 100 (ListMonitoringExecutions)")
    schedules, runs = status.executions(
        ctx.client("sagemaker"), ctx.client("s3"), ctx.env, group, last=last
    )
    alarms = status.alarms(ctx.client("cloudwatch"), ctx.env, group)
    data = {
        "endpoint": endpoint_name(ctx.env, group),
        "schedules": [
            {"name": name, "type": kind, "status": state} for name, kind, state in schedules
        ],
        "executions": [asdict(run) for run in runs],
        "alarms": [asdict(alarm) for alarm in alarms],
    }
    ctx.emit(status.report(schedules, runs, alarms, group), data)
    return EXIT_OK
