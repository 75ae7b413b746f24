"""``python -m mlops``: wires the features' commands; nothing else.

Each feature package holds its commands beside its logic (``mlops/<feature>/cli.py``) and
adds them in a ``register(subparsers)`` function listed in ``_FEATURES``, through
:func:`mlops.command.add_command`, which gives every command the common options
(``--env``, ``--profile``, ``--region``, ``--output``, ``--debug``) and the error handling:
one line on stderr and a documented exit status (``python -m mlops --help``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from importlib import import_module

from mlops import __version__
from mlops.command import HELP_EPILOG, Subparsers, execute

# Feature modules with a ``register(subparsers)`` function. They keep their own imports light
# (boto3, numpy and the CDK app's config load only when a command runs).
_FEATURES: tuple[str, ...] = (
    "mlops.data.cli",
    "mlops.training.cli",
    "mlops.deployment.cli",
    "mlops.teardown.cli",
    "mlops.monitoring.cli",
    "mlops.experiments.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mlops",
        description="Fraud-detection MLOps platform on Amazon SageMaker: data, training, "
        "models, endpoints, teardown.",
        epilog=HELP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    for module_name in _FEATURES:
        register: Callable[[Subparsers], None] = import_module(module_name).register
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command line; returns its exit status (``--help`` describes them)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as done:  # --help, --version, or a usage error argparse reported
        return done.code if isinstance(done.code, int) else 0
    return execute(args)
