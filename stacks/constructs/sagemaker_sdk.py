"""The SageMaker Python SDK, imported on a background thread while the first stacks build.

The Training stack builds its pipeline definition with the SDK, whose import costs 1.5-2.5 s
of CPU. Building the stacks before it mostly waits on the CDK's Node.js process (jsii), so the
import can run meanwhile: :func:`start_import` at the start of ``build_platform``, and
:func:`ready` before the first use of the SDK. Until :func:`ready` returns, nothing on the main
thread may import ``sagemaker`` (two threads importing one package at once can see it half
initialised); if the background import failed for any reason, :func:`ready` imports again on
the main thread, so the outcome never depends on the timing.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import import_module
from typing import Any

# What the pipeline definition uses; importing it runs the SDK's heavy package __init__.
_MODULE = "sagemaker.workflow.pipeline"
_thread: threading.Thread | None = None
_failed = False


def _import() -> None:
    global _failed
    try:
        import_module(_MODULE)
    except BaseException:
        _failed = True


def start_import() -> None:
    global _thread
    if _thread is None and _MODULE not in sys.modules:
        _thread = threading.Thread(target=_import, name="sagemaker-sdk-import", daemon=True)
        _thread.start()


def ready() -> None:
    """Return once the SDK is importable from this thread."""
    global _thread
    if _thread is not None:
        _thread.join()
        _thread = None
        if _failed:
            import_module(_MODULE)  # again, alone: raises the real error if there is one


@contextmanager
def one_endpoints_resolver() -> Iterator[None]:
    """``image_uris.retrieve`` parses botocore's endpoints file (about 40 ms) on every call to
    learn the region's ECR domain; the answer depends on nothing else, so one resolver serves
    every call made inside the block. Restored afterwards."""
    from sagemaker import utils as _utils

    utils: Any = _utils  # untyped in the SDK
    resolver = utils._botocore_resolver()
    original = utils._botocore_resolver
    utils._botocore_resolver = lambda: resolver
    try:
        yield
    finally:
        utils._botocore_resolver = original
