"""``python -m mlops experiments list|compare --env E``: the environment's pipeline runs.

Runs are read from experiment ``<pipeline name>`` of the environment's MLflow app. AWS access
(profile, region, finding the app) lives in :func:`tracking_client` only, so it can move to the
CLI's shared session helper without touching the commands.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from mlops.errors import InputError
from mlops.experiments.compare import (
    RunSummary,
    compare,
    format_comparison,
    format_listing,
    select,
    to_json,
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
            raise InputError(
                f"MLflow app {name} not found: deploy the experiments stack of {environment} "
                "(experiments.enabled) or pass --app-arn"
            )


def tracking_client(args: argparse.Namespace) -> TrackingClient:
    """The signed client for ``--env`` (profile/region from the AWS configuration)."""
    import boto3

    session = boto3.Session(profile_name=args.profile, region_name=args.region)
    arn = args.app_arn or find_app_arn(session.client("sagemaker"), args.env)
    return TrackingClient(arn, credentials=session.get_credentials())


def _runs(client: TrackingClient, environment: str, limit: int) -> list[RunSummary]:
    experiment = client.get_experiment_by_name(pipeline_name(environment))
    if experiment is None:
        return []
    found = client.search_runs([str(experiment["experiment_id"])], max_results=limit)
    return [RunSummary.from_rest(run) for run in found]


def run_list(args: argparse.Namespace) -> int:
    if not 1 <= args.max <= 1000:
        raise InputError(f"--max must be from 1 to 1000, got {args.max}")
    runs = _runs(tracking_client(args), args.env, args.max)
    print(to_json([r.listing() for r in runs]) if args.output == "json" else format_listing(runs))
    return 0


def run_compare(args: argparse.Namespace) -> int:
    if bool(args.runs) == bool(args.last):
        raise InputError("give run ids or names, or --last N (not both)")
    if args.last is not None and not 2 <= args.last <= 50:
        raise InputError(f"--last must be from 2 to 50, got {args.last}")
    available = _runs(tracking_client(args), args.env, 1000 if args.runs else args.last)
    chosen = select(available, args.runs) if args.runs else available
    if len(chosen) < 2:
        raise InputError(f"need at least 2 runs to compare, experiment has {len(chosen)}")
    result = compare(chosen)
    print(to_json(result.as_dict()) if args.output == "json" else format_comparison(result))
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "experiments", help="pipeline runs in the environment's MLflow app: list, compare"
    )
    commands = parser.add_subparsers(title="experiments commands", metavar="COMMAND")

    def common(command: argparse.ArgumentParser) -> None:
        command.add_argument("--env", required=True, help="environment name (a key of cdk.json)")
        command.add_argument("--profile", help="AWS profile (default: the AWS configuration's)")
        command.add_argument("--region", help="AWS region (default: from the AWS configuration)")
        command.add_argument("--app-arn", help="MLflow app ARN (default: found by its name)")
        command.add_argument("--output", choices=("text", "json"), default="text")

    listing = commands.add_parser("list", help="runs of the environment's pipeline, newest first")
    common(listing)
    listing.add_argument("--max", type=int, default=20, help="runs to show (default 20)")
    listing.set_defaults(run=run_list)

    comparing = commands.add_parser(
        "compare", help="runs side by side: differing parameters first, best metrics marked"
    )
    common(comparing)
    comparing.add_argument("runs", nargs="*", metavar="RUN", help="run id, name or id prefix")
    comparing.add_argument("--last", type=int, help="compare the N newest runs")
    comparing.set_defaults(run=run_compare)


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use: python -m mlops experiments list|compare ...")
