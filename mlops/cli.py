"""Argument parsing for ``python -m mlops``.

Each feature module contributes its sub-commands through a ``register(subparsers)`` function
listed in ``_FEATURES``; the command itself is a function stored as the ``run`` default, which
returns the process exit code. Errors meant for people (:class:`~mlops.errors.MlopsError`) are
printed as one line on stderr with exit code 2, never as a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib import import_module

from mlops import __version__
from mlops.errors import MlopsError

# Modules with a ``register(subparsers)`` function, imported lazily so `--help` stays fast.
_FEATURES: tuple[str, ...] = (
    "mlops.data.cli",
    "mlops.teardown.cli",
    "mlops.training.cli",
    "mlops.deployment.cli",
    "mlops.experiments.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mlops",
        description="Fraud-detection MLOps platform on Amazon SageMaker: data, models, teardown.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for module_name in _FEATURES:
        register: Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None] = (
            import_module(module_name).register
        )
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace], int] | None = getattr(args, "run", None)
    if run is None:
        parser.print_help()
        return 0
    try:
        return run(args)
    except MlopsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
