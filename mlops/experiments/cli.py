"""``python -m mlops experiments list|compare --env E``: the environment's pipeline runs.

Runs are read from experiment ``<pipeline name>`` of the environment's MLflow app. AWS access is
the shared ``--profile``/``--region`` session of :mod:`mlops.command`; the app is found by its
name (its ARN holds a generated id) unless ``--app-arn`` names it.
"""

from __future__ import annotations

from typing import Any

from mlops.command import EXIT_OK, Context, Subparsers, add_command, add_group
from mlops.errors import InputError, MlopsError
from mlops.experiments.compare import (
    RunSummary,
    compare,
    format_comparison,
    format_listing,
    select,
)
from mlops.experiments.names import mlflow_app_name
from mlops.experiments.tracking import TrackingClient
from mlops.training.names import pipeline_name

_LIVE_STATUSES = ("Created", "Updated", "Updating", "UpdateFailed")


def find_app_arn(sagemaker: Any, environment: str) -> str:
    """The ARN of the environment's MLflow app (its ARN has a generated id: found by name)."""
    name = mlflow_app_name(environment)
    token = ""
    while True:
        page = sagemaker.list_mlflow_apps(**({"NextToken": token} if token else {}))
        for app in page.get("Summaries", []):
            if app.get("Name") == name and app.get("Status") in _LIVE_STATUSES:
                return str(app["Arn"])
        token = page.get("NextToken", "")
        if not token:
            raise MlopsError(
                f"MLflow app {name} not found in {sagemaker.meta.region_name}: deploy the "
                f"experiments stack of {environment} (experiments.enabled), pass the --region "
                "it is in, or pass --app-arn"
            )


def tracking_client(ctx: Context) -> TrackingClient:
    """The signed client for ``--env`` (the shared ``--profile``/``--region`` session)."""
    session = ctx.session()
    arn = ctx.args.app_arn or find_app_arn(ctx.client("sagemaker"), ctx.env)
    return TrackingClient(arn, credentials=session.get_credentials())


def _runs(client: TrackingClient, environment: str, limit: int) -> list[RunSummary]:
    experiment = client.get_experiment_by_name(pipeline_name(environment))
    if experiment is None:
        return []
    found = client.search_runs([str(experiment["experiment_id"])], max_results=limit)
    return [RunSummary.from_rest(run) for run in found]


def run_list(ctx: Context) -> int:
    limit: int = ctx.args.max
    if not 1 <= limit <= 1000:
        raise InputError(f"--max must be from 1 to 1000, got {limit}")
    runs = _runs(tracking_client(ctx), ctx.env, limit)
    ctx.emit(format_listing(runs), [r.listing() for r in runs])
    return EXIT_OK


def run_compare(ctx: Context) -> int:
    args = ctx.args
    if bool(args.runs) == bool(args.last):
        raise InputError("give run ids or names, or --last N (not both)")
    if args.last is not None and not 2 <= args.last <= 50:
        raise InputError(f"--last must be from 2 to 50, got {args.last}")
    available = _runs(tracking_client(ctx), ctx.env, 1000 if args.runs else args.last)
    chosen = select(available, args.runs) if args.runs else available
    if len(chosen) < 2:
        raise InputError(f"need at least 2 runs to compare, experiment has {len(chosen)}")
    result = compare(chosen)
    ctx.emit(format_comparison(result), result.as_dict())
    return EXIT_OK


def register(subparsers: Subparsers) -> None:
    experiments = add_group(
        subparsers, "experiments", help="pipeline runs in the environment's MLflow app"
    )
    listing = add_command(
        experiments,
        "list",
        run_list,
        help="runs of the environment's pipeline, newest first",
        output=True,
    )
    comparing = add_command(
        experiments,
        "compare",
        run_compare,
        help="runs side by side: differing parameters first, best metrics marked",
        output=True,
    )
    for parser in (listing, comparing):
        parser.add_argument("--app-arn", help="MLflow app ARN (default: found by its name)")
    listing.add_argument("--max", type=int, default=20, help="runs to show (default 20)")
    comparing.add_argument("runs", nargs="*", metavar="RUN", help="run id, name or id prefix")
    comparing.add_argument("--last", type=int, help="compare the N newest runs")
