"""pytest plugin: record the AWS calls each Lambda function's code makes during the test run,
then check them against the function's synthesized role (tests/security/least_privilege.py).

How (one design for plain and ``-n 2`` runs):

1. Recording: at start-up every botocore session gets a ``before-parameter-build`` handler
   (it fires for every call, before Stubber/moto/``before-call`` fakes answer it). It looks up
   the stack for the outermost entry point of a function (tests/security/functions.py) and, if
   there is one, records (function, service, operation, resource ARN). Work handed to a
   thread pool inherits the submitting function.
2. The role side: tests/security/test_least_privilege.py reads each function's statements from
   the dev templates the infrastructure tests already synthesized in that process.
3. Both travel to the process that ends the session: ``config.workeroutput`` (pytest-xdist's
   channel from workers to the controller), or directly in a plain run.
4. At session finish, if the run was complete (both sides present, every test module that
   exercises Lambda code ran, no -k/-m selection), the comparison runs; violations are
   printed and fail the run (exit status 1). The counts are always printed.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from tests.security.functions import ENTRY_POINTS
from tests.security.iam import call_resource

KEY = "least_privilege"
# Test directories whose tests run the functions' code: all must be in the run.
SOURCES = ("tests/deployment/", "tests/teardown/", "tests/studio/", "tests/training/")
REPORT = Path("least-privilege.json")  # written under pytest's basetemp, for bench/ and docs


class Recorder:
    def __init__(self) -> None:
        self.calls: set[tuple[str, str, str, str]] = set()  # function, service, op, resource
        self.grants: dict[str, Any] | None = None
        self.ran: set[str] = set()  # test directories with at least one test

    def on_call(self, **kwargs: Any) -> None:
        function = _function_on_stack()
        if function is None:
            return
        params, model = kwargs["params"], kwargs["model"]
        service = model.service_model.service_name
        resource = call_resource(service, model.name, params if isinstance(params, dict) else {})
        self.calls.add((function, service, model.name, resource or ""))

    def export(self) -> dict[str, Any]:
        return {"calls": sorted(self.calls), "grants": self.grants}

    def merge(self, exported: dict[str, Any]) -> None:
        self.calls.update(tuple(call) for call in exported["calls"])
        if exported.get("grants") is not None:
            self.grants = exported["grants"]


_thread = threading.local()  # the function that handed work to this pool thread


def _function_on_stack() -> str | None:
    inherited: str | None = getattr(_thread, "function", None)
    if inherited is not None:
        return inherited  # it is further out than anything on this thread's stack
    frame = sys._getframe(1)
    found = None
    while frame is not None:
        key = ENTRY_POINTS.get((frame.f_code.co_filename, frame.f_code.co_name))
        if key is not None:
            found = key  # keep walking: the outermost entry point wins
        frame = frame.f_back  # type: ignore[assignment]
    return found


RECORDER = Recorder()
_original_init = botocore.session.Session.__init__
_original_submit = ThreadPoolExecutor.submit


def _init_and_record(self: botocore.session.Session, *args: Any, **kwargs: Any) -> None:
    _original_init(self, *args, **kwargs)
    self.register("before-parameter-build", RECORDER.on_call)


def _submit_and_attribute(
    self: ThreadPoolExecutor, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
) -> Future[Any]:
    """Work a function's code hands to a thread pool (the teardown engine deletes in
    parallel) is still that function's: the pool thread inherits the attribution."""
    function = _function_on_stack()
    if function is None:
        return _original_submit(self, fn, *args, **kwargs)

    def attributed(*inner_args: Any, **inner_kwargs: Any) -> Any:
        _thread.function = function
        try:
            return fn(*inner_args, **inner_kwargs)
        finally:
            _thread.function = None

    return _original_submit(self, attributed, *args, **kwargs)


def pytest_configure(config: pytest.Config) -> None:
    botocore.session.Session.__init__ = _init_and_record  # type: ignore[method-assign]
    ThreadPoolExecutor.submit = _submit_and_attribute  # type: ignore[method-assign,assignment]


def pytest_unconfigure(config: pytest.Config) -> None:
    botocore.session.Session.__init__ = _original_init  # type: ignore[method-assign]
    ThreadPoolExecutor.submit = _original_submit  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def least_privilege_recorder() -> Iterator[Recorder]:
    yield RECORDER


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call":
        for source in SOURCES:
            if report.nodeid.startswith(source):
                RECORDER.ran.add(source)


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: hand over to the controller
        workeroutput[KEY] = json.dumps(RECORDER.export())
        return
    _check(session)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    exported = getattr(node, "workeroutput", {}).get(KEY)
    if exported:
        RECORDER.merge(json.loads(exported))


_summary: list[str] = []


def _check(session: pytest.Session) -> None:
    from tests.security.least_privilege import compare, format_report

    config = session.config
    if RECORDER.grants is None:
        return  # tests/security was not part of this run
    missing = [source for source in SOURCES if source not in RECORDER.ran]
    if missing or config.option.keyword or config.option.markexpr:
        _summary.append(
            "least privilege: not compared (partial run; needs every test of "
            + ", ".join(SOURCES)
            + ")"
        )
        return
    result = compare(RECORDER.grants, RECORDER.calls)
    _summary.extend(format_report(result))
    basetemp = config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]
    (basetemp / REPORT).write_text(json.dumps(result.as_dict(), indent=2, sort_keys=True))
    _summary.append(f"least privilege: report in {basetemp / REPORT}")
    if result.violations:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _summary:
        terminalreporter.section("least privilege")
        for line in _summary:
            terminalreporter.write_line(line)
