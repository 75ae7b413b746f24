"""What every ``python -m mlops`` command shares: common options, AWS session, output, errors.

A feature's ``register(subparsers)`` adds each command with one call, which gives it the
common options; the command is a function of a :class:`Context`::

    from mlops.command import Context, Subparsers, add_command, add_group

    def register(subparsers: Subparsers) -> None:
        models = add_group(subparsers, "models", help="list, approve or reject versions")
        listing = add_command(models, "list", run_list, help="versions of a group", output=True)
        listing.add_argument("--group", required=True, help="group name in cdk.json")

    def run_list(ctx: Context) -> int:
        sagemaker = ctx.client("sagemaker")  # --profile; --region, else cdk.json's region
        ...
        ctx.emit(table, rows)  # the table, or rows as JSON with --output json
        return 0

Common options (``add_command`` flags):

- ``--env NAME`` (required) and ``--config PATH``: the environment, checked against cdk.json
  before the command runs, hence before any AWS call; ``env=False`` for commands not tied to
  an environment (``data``).
- ``--profile`` and ``--region``: ``aws=False`` for commands that never call AWS.
- ``--output text|json``: ``output=True`` for commands that print a table.
- ``--debug``: the traceback of an error as well as its line (also accepted before COMMAND).

:func:`execute` (called by ``mlops.cli.main``) builds the :class:`Context`, runs the command
and turns every error into one line on stderr and an exit status (:data:`HELP_EPILOG`).
AWS errors are explained by :mod:`mlops.aws_errors`.

Imports stay light (no boto3, no ``stacks``) until a command runs: ``--help`` stays fast, and
``mlops.data.processing`` (Python 3.10 Processing image) imports this through mlops.data.cli.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops.aws_errors import EXIT_FAILURE, EXIT_USAGE, explain, one_line
from mlops.errors import InputError, MlopsError

if TYPE_CHECKING:
    from stacks.config import EnvironmentConfig

    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]
else:
    Subparsers = argparse._SubParsersAction

__all__ = [
    "DEFAULT_CONFIG",
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "HELP_EPILOG",
    "Context",
    "Run",
    "Subparsers",
    "add_command",
    "add_group",
    "describe",
    "execute",
    "existing_names",
    "load_environment",
]

EXIT_OK = 0
EXIT_INTERRUPTED = 130
# The CDK app's cdk.json, the file `cdk deploy` read: the repository root, beside mlops/.
DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "cdk.json"

HELP_EPILOG = """\
common options (python -m mlops COMMAND --help shows which a command takes):
  --env NAME       the environment: a key of cdk.json's context.environments; required by
                   every command that works on an environment, checked before any AWS call
  --profile NAME   AWS profile (default: AWS_PROFILE, else the default credential chain)
  --region REGION  AWS region (default: the environment's `region` in cdk.json, else
                   AWS_REGION, AWS_DEFAULT_REGION, the profile's region)
  --output json    machine-readable output of the commands that print a table
  --debug          the traceback of an error as well as its one-line message

exit status:
  0    success
  1    AWS or runtime failure: AWS not set up (no region, no or expired credentials), access
       denied, throttled, not found, unreachable; or the work failed (a quota is short, the
       pipeline run failed, something could not be torn down)
  2    usage or input error: a wrong option or value (unknown --env, --group or --profile,
       a bad number), found before any AWS call wherever it can be
  130  interrupted
"""
_COMMAND_EPILOG = (
    "exit status: 0 success, 1 AWS or runtime failure, 2 usage or input error "
    "(python -m mlops --help explains them)"
)

Run = Callable[["Context"], int]


def add_group(subparsers: Subparsers, name: str, *, help: str, description: str = "") -> Subparsers:
    """A command group such as ``models``; add its commands with :func:`add_command`."""
    parser = subparsers.add_parser(name, help=help, description=description or help)
    return parser.add_subparsers(title=f"{name} commands", metavar="COMMAND", required=True)


def add_command(
    subparsers: Subparsers,
    name: str,
    run: Run,
    *,
    help: str,
    description: str = "",
    env: bool = True,
    aws: bool = True,
    output: bool = False,
) -> argparse.ArgumentParser:
    """Add command ``name`` running ``run(context)``, with the common options asked for.

    Returns the command's parser for its own arguments.
    """
    parser = subparsers.add_parser(
        name, help=help, description=description or help, epilog=_COMMAND_EPILOG
    )
    common = parser.add_argument_group("common options")
    if env:
        common.add_argument(
            "--env",
            required=True,
            metavar="NAME",
            help="environment: a key of cdk.json's context.environments",
        )
        common.add_argument(
            "--config",
            type=Path,
            default=DEFAULT_CONFIG,
            metavar="PATH",
            help="the CDK app's cdk.json (default: the repository's)",
        )
    if aws:
        common.add_argument("--profile", metavar="NAME", help="AWS profile (default: AWS_PROFILE)")
        common.add_argument(
            "--region",
            metavar="REGION",
            help="AWS region (default: "
            + ("the environment's region in cdk.json, else " if env else "")
            + "the AWS configuration)",
        )
    if output:
        common.add_argument(
            "--output",
            choices=("text", "json"),
            default="text",
            help="text for people (default), json for scripts",
        )
    common.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show the traceback of an error",
    )
    parser.set_defaults(run=run)
    return parser


@dataclass
class Context:
    """A command's parsed arguments, its environment (from cdk.json) and its AWS session."""

    args: argparse.Namespace
    environment: EnvironmentConfig | None = None
    _session: Any = field(default=None, repr=False)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Context:
        """Check ``--env`` (when the command takes it) against cdk.json: no AWS call yet."""
        if not hasattr(args, "env"):
            return cls(args)
        return cls(args, load_environment(args.env, args.config))

    @property
    def env(self) -> str:
        """The environment name (commands added with ``env=True``)."""
        if self.environment is None:
            raise TypeError("this command was added with env=False: it has no --env")
        return self.environment.name

    @property
    def json(self) -> bool:
        return getattr(self.args, "output", "text") == "json"

    @property
    def region(self) -> str | None:
        """``--region``, else the environment's region in cdk.json, else ``AWS_REGION`` (which
        the AWS CLI reads and boto3 does not); None leaves it to boto3 (``AWS_DEFAULT_REGION``,
        the profile's region)."""
        if self._session is not None:
            return self._session.region_name  # type: ignore[no-any-return]
        configured = self.environment.region if self.environment else None
        return getattr(self.args, "region", None) or configured or os.environ.get("AWS_REGION")

    def session(self) -> Any:
        """The boto3 session of ``--profile`` and :attr:`region` (created once)."""
        if self._session is None:
            import boto3

            self._session = boto3.Session(
                profile_name=getattr(self.args, "profile", None), region_name=self.region
            )
        return self._session

    def client(self, service: str) -> Any:
        """A client of the session. botocore's standard retry mode backs off on throttling
        and transient errors; five attempts before one reaches the user."""
        from botocore.config import Config

        retries: Any = {"mode": "standard", "max_attempts": 5}
        return self.session().client(service, config=Config(retries=retries))

    @contextmanager
    def default_session(self) -> Iterator[None]:
        """Make the session boto3's default while the block runs, for logic that calls
        ``boto3.client()`` itself (``mlops.data.io``); a no-op without --profile/--region."""
        if not (getattr(self.args, "profile", None) or getattr(self.args, "region", None)):
            yield
            return
        import boto3

        previous, boto3.DEFAULT_SESSION = boto3.DEFAULT_SESSION, self.session()
        try:
            yield
        finally:
            boto3.DEFAULT_SESSION = previous

    def emit(self, text: str, data: object) -> None:
        """Print ``text`` for people, or ``data`` as JSON with ``--output json``."""
        print(json.dumps(data, indent=2, default=str) if self.json else text)


def load_environment(name: str, config: Path = DEFAULT_CONFIG) -> EnvironmentConfig:
    """Environment ``name`` of ``config``, validated by the code ``cdk synth`` uses."""
    try:
        context = json.loads(config.read_text())["context"]
        environments = context["environments"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise InputError(f"cannot read environments from {config}: {error}") from None
    if name not in environments:
        raise InputError(
            f"unknown environment {name!r}: {config.name} defines {', '.join(environments)}"
        )
    try:
        from stacks.config import ConfigError
        from stacks.config import load_environment as load
    except ImportError as error:  # mlops used without the CDK app beside it
        raise MlopsError(f"cannot check --env {name}: {error} (run from the repository)") from None
    try:
        return load({**context, "env": name})
    except ConfigError as error:
        raise InputError(str(error)) from None


def existing_names(list_names: Callable[[], Iterable[str]]) -> str:
    """What exists, for a "not found" message: the names ``list_names()`` returns, "none", or
    "unknown" when AWS refuses the listing (a hint must never hide the real error)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        names = list(list_names())
    except (ClientError, BotoCoreError):
        return "unknown"
    return ", ".join(names) or "none"


def describe(error: BaseException, *, region: str | None = None) -> tuple[str, int]:
    """The line and exit status for an error that ends a command."""
    if isinstance(error, InputError):
        return one_line(str(error)), EXIT_USAGE
    if isinstance(error, MlopsError):
        return one_line(str(error)), EXIT_FAILURE
    explained = explain(error, region=region)
    if explained is not None:
        return explained.message, explained.status
    if isinstance(error, OSError):  # a local file: missing, not allowed, disk full
        return one_line(str(error)), EXIT_FAILURE
    return (
        f"unexpected {type(error).__name__}: {one_line(str(error))} "
        "(run again with --debug for the traceback)",
        EXIT_FAILURE,
    )


def execute(args: argparse.Namespace) -> int:
    """Run the command ``args`` names; every error becomes one line on stderr."""
    run: Run = args.run
    context: Context | None = None
    try:
        context = Context.from_args(args)
        return run(context)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader left (`| head`): nothing to say, as other CLIs
        with suppress(OSError, ValueError):  # and no second error when Python flushes at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILURE
    except Exception as error:
        if getattr(args, "debug", False):
            traceback.print_exc()
        message, status = describe(error, region=context.region if context else None)
        print(f"error: {message}", file=sys.stderr)
        return status
