"""``python -m mlops teardown --env NAME [--dry-run] [--include-data] [--yes]``.

Prints the plan as a table, asks before deleting (type the environment name) unless
``--yes``, shows progress on stderr, prints the report; exits 1 if anything could not be
removed. ``--output json`` prints one JSON document (plan and report) instead of the tables.

Whether the environment is ephemeral (which ``--include-data`` requires) is read from the
project's ``cdk.json`` (``--config``), the same file ``cdk deploy`` used: tags on resources
could be edited by anyone with tagging rights, the reviewed config cannot.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mlops.command import EXIT_FAILURE, EXIT_OK, Context, Subparsers, add_command
from mlops.errors import InputError

if TYPE_CHECKING:
    from mlops.teardown import Plan


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers,
        "teardown",
        run,
        help="remove everything an environment created (by tag), in dependency order",
        description=(
            "Stop running jobs and pipeline runs, delete Studio apps and spaces, monitoring "
            "schedules, endpoints, endpoint configs, monitoring job definitions and models of "
            "one environment (found by its tags). Buckets and model package groups are kept "
            "unless --include-data (ephemeral environments only)."
        ),
        output=True,
    )
    parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    parser.add_argument(
        "--include-data",
        action="store_true",
        help="also delete buckets and model package groups (ephemeral environments only)",
    )
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    parser.add_argument("--workers", type=int, default=8, help="parallel deletions (1-32)")


def ask_on_terminal(prompt: str) -> str:
    """Ask on stderr (stdout stays the plan and report, or JSON), answer from stdin."""
    if not sys.stdin.isatty():
        raise InputError("not a terminal: pass --yes to confirm the teardown")
    print(prompt, end="", file=sys.stderr, flush=True)
    return sys.stdin.readline()


def plan_data(plan: Plan) -> dict[str, Any]:
    return {
        "environment": plan.environment,
        "actions": [
            {
                "action": a.verb,
                "kind": a.resource.kind.label,
                "name": a.resource.name,
                "arn": a.resource.arn,
                "reason": a.reason,
            }
            for a in plan.actions
        ],
        "kept": [
            {
                "kind": s.resource.kind.label,
                "name": s.resource.name,
                "arn": s.resource.arn,
                "reason": s.reason,
            }
            for s in plan.skipped
        ],
    }


def run(ctx: Context, *, ask: Callable[[str], str] = ask_on_terminal) -> int:
    from mlops.teardown import Clients, Outcome, Status, execute, plan_teardown

    args, env = ctx.args, ctx.env
    if not 1 <= args.workers <= 32:
        raise InputError(f"--workers must be from 1 to 32, got {args.workers}")
    assert ctx.environment is not None  # teardown takes --env
    clients = Clients.from_session(ctx.session())
    plan = plan_teardown(
        clients, env, ephemeral=ctx.environment.ephemeral, include_data=args.include_data
    )
    if not ctx.json:
        print(f"Teardown plan for environment {env} ({len(plan.actions)} actions):")
        print(plan.table())
    if not plan.actions:
        ctx.emit("Nothing to remove.", {"plan": plan_data(plan), "report": None})
        return EXIT_OK
    if not args.dry_run and not args.yes:
        answer = ask(f"Type the environment name ({env}) to remove these resources: ")
        if answer.strip() != env:
            print("Aborted: nothing was changed.", file=sys.stderr)
            return EXIT_FAILURE

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
    ctx.emit(
        f"\n{report.table()}\n{report.summary()}",
        {"plan": plan_data(plan), "report": report.as_dict()},
    )
    return EXIT_OK if report.ok else EXIT_FAILURE
