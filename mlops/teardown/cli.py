"""``python -m mlops teardown --env NAME [--dry-run] [--include-data] [--yes]``.

Prints the plan as a table, asks before deleting (type the environment name) unless
``--yes``, shows progress, prints the report; exits 1 if anything could not be removed.

Whether the environment is ephemeral (which ``--include-data`` requires) is read from the
project's ``cdk.json`` (``--config``), the same file ``cdk deploy`` used: tags on resources
could be edited by anyone with tagging rights, the reviewed config cannot.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlops.errors import InputError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "teardown",
        help="remove everything an environment created (by tag), in dependency order",
        description=(
            "Stop running jobs and pipeline runs, delete Studio apps and spaces, endpoints, "
            "endpoint configs and models of one environment (found by its tags). Buckets and "
            "model package groups are kept unless --include-data (ephemeral environments only)."
        ),
    )
    parser.add_argument("--env", required=True, help="environment name (a key of cdk.json)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    parser.add_argument(
        "--include-data",
        action="store_true",
        help="also delete buckets and model package groups (ephemeral environments only)",
    )
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    parser.add_argument(
        "--config",
        default="cdk.json",
        type=Path,
        help="the CDK app's cdk.json (default: %(default)s)",
    )
    parser.add_argument("--region", help="AWS region (default: from the AWS configuration)")
    parser.add_argument("--workers", type=int, default=8, help="parallel deletions (1-32)")
    parser.set_defaults(run=run)


def is_ephemeral(config_path: Path, environment: str) -> bool:
    """The environment's ``ephemeral`` flag, validated by the same code as ``cdk synth``."""
    from stacks.config import ConfigError, load_environment  # the CDK app's config module

    try:
        context = json.loads(config_path.read_text())["context"]
    except (OSError, ValueError, KeyError) as error:
        raise InputError(f"cannot read environments from {config_path}: {error}") from error
    try:
        return load_environment({**context, "env": environment}).ephemeral
    except ConfigError as error:
        raise InputError(str(error)) from error


def run(
    args: argparse.Namespace,
    *,
    clients_factory: Callable[[str | None], Any] | None = None,
    ask: Callable[[str], str] = input,
) -> int:
    from mlops.teardown import Clients, Outcome, Status, execute, plan_teardown

    if not 1 <= args.workers <= 32:
        raise InputError(f"--workers must be from 1 to 32, got {args.workers}")
    ephemeral = is_ephemeral(args.config, args.env)
    if clients_factory is None:
        import boto3

        def clients_factory(region: str | None) -> Clients:
            return Clients.from_session(boto3.Session(region_name=region))

    clients = clients_factory(args.region)
    plan = plan_teardown(clients, args.env, ephemeral=ephemeral, include_data=args.include_data)
    print(f"Teardown plan for environment {args.env} ({len(plan.actions)} actions):")
    print(plan.table())
    if not plan.actions:
        print("Nothing to remove.")
        return 0
    if not args.dry_run and not args.yes:
        if not sys.stdin.isatty() and ask is input:
            raise InputError("not a terminal: pass --yes to confirm the teardown")
        answer = ask(f"Type the environment name ({args.env}) to remove these resources: ")
        if answer.strip() != args.env:
            print("Aborted: nothing was changed.")
            return 1

    def progress(outcome: Outcome, done: int, total: int) -> None:
        if outcome.status is not Status.PLANNED:
            resource = outcome.action.resource
            print(
                f"[{done}/{total}] {outcome.status.value}: {outcome.action.verb} "
                f"{resource.kind.label} {resource.name}",
                file=sys.stderr,
                flush=True,
            )

    report = execute(
        plan, clients, dry_run=args.dry_run, max_workers=args.workers, on_outcome=progress
    )
    print()
    print(report.table())
    print(report.summary())
    return 0 if report.ok else 1
