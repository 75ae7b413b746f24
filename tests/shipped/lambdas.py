"""Invoke a Lambda function from the synthesized assembly, the way Lambda runs it.

:func:`invoke` starts a fresh interpreter (``python -I``: no ``PYTHONPATH``, no current folder)
with only the function's staged code folder and its layers' ``python/`` folders importable,
the environment variables of the template (intrinsics resolved by
:class:`tests.shipped.assembly.Assembly`) plus what Lambda itself sets, and AWS replaced by the
moto server (``AWS_ENDPOINT_URL``) with optional stubs for what moto lacks (see
``_bootstrap.py``). A module missing from a bundle, a variable set under one name and read
under another, or an import of the repository's source tree shows up here, and not in tests
that import handlers from the source tree.

The calls the shipped code made come back with the result; :func:`invoke` can add them to the
least-privilege proof (``least_privilege_key``), so the proof covers what ships too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.shipped.assembly import ACCOUNT, Assembly, PhysicalValues, ShippedFunction

BOOTSTRAP = Path(__file__).with_name("_bootstrap.py")
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


@dataclass(frozen=True)
class Stub:
    """A canned answer for one call to an operation moto lacks (botocore names:
    ``service="sagemaker"``, ``operation="UpdateEndpoint"``). ``response`` is validated against
    the operation's output shape; ``error`` is ``{"Code": ..., "Message": ...}``."""

    service: str
    operation: str
    response: Mapping[str, Any] | None = None
    error: Mapping[str, Any] | None = None
    expected_params: Mapping[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        stub: dict[str, Any] = {"service": self.service, "operation": self.operation}
        if self.error is not None:
            stub["error"] = dict(self.error)
        else:
            stub["response"] = dict(self.response or {})
        if self.expected_params is not None:
            stub["expected_params"] = dict(self.expected_params)
        return stub


@dataclass(frozen=True)
class Invocation:
    result: Any
    error: Mapping[str, str] | None
    calls: list[dict[str, Any]]
    module_files: Mapping[str, str]
    stdout: str
    stderr: str
    environment: Mapping[str, str] = field(default_factory=dict)

    @property
    def operations(self) -> list[str]:
        """``service:Operation`` of every call, in order."""
        return [f"{call['service']}:{call['operation']}" for call in self.calls]

    def raised(self) -> str:
        """``ErrorType: message`` of the handler's exception (AssertionError when none)."""
        if self.error is None:
            raise AssertionError(f"the handler returned {self.result!r} instead of raising")
        return f"{self.error['type']}: {self.error['message']}"

    def returned(self) -> Any:
        """The handler's return value (AssertionError with the traceback when it raised)."""
        if self.error is not None:
            raise AssertionError(f"the handler raised:\n{self.error['traceback']}\n{self.stderr}")
        return self.result


def lambda_environment(
    assembly: Assembly,
    function: ShippedFunction,
    *,
    values: PhysicalValues | None = None,
    overrides: Mapping[str, str | None] | None = None,
) -> dict[str, str]:
    """The function's variables from its template, then ``overrides`` (None removes one)."""
    environment = assembly.environment(function, values)
    for name, value in (overrides or {}).items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    return environment


def invoke(
    assembly: Assembly,
    function: ShippedFunction,
    event: Any,
    *,
    endpoint_url: str,
    values: PhysicalValues | None = None,
    environment_overrides: Mapping[str, str | None] | None = None,
    stubs: Sequence[Stub] = (),
    least_privilege_key: str | None = None,
    trusted_ca_file: str | None = None,
    timeout: float = 120,
) -> Invocation:
    """Run ``function``'s handler once on ``event`` (see the module doc). ``trusted_ca_file``
    becomes the process's only trusted certificate authority for HTTPS (``SSL_CERT_FILE``): a
    test server standing for an AWS HTTPS endpoint, e.g. CloudFormation's response URL."""
    environment = lambda_environment(
        assembly, function, values=values, overrides=environment_overrides
    )
    name = f"{function.part}-{function.logical_id}"[:64]
    region = (values or PhysicalValues()).region
    process_environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        # What Lambda sets for every Python function.
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.runtime}",
        "LAMBDA_TASK_ROOT": str(function.code_dir),
        "_HANDLER": function.handler,
        **FAKE_CREDENTIALS,
        "AWS_ENDPOINT_URL": endpoint_url,
        # Never read the machine's AWS configuration.
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        **({"SSL_CERT_FILE": trusted_ca_file} if trusted_ca_file else {}),
        **environment,
    }
    with tempfile.TemporaryDirectory(prefix="shipped-lambda-") as folder:
        spec_path = Path(folder) / "spec.json"
        result_path = Path(folder) / "result.json"
        spec_path.write_text(
            json.dumps(
                {
                    "code_dir": str(function.code_dir),
                    "layer_dirs": [str(layer) for layer in function.layer_dirs],
                    "handler": function.handler,
                    "event": event,
                    "function_name": name,
                    "function_arn": f"arn:aws:lambda:{region}:{ACCOUNT}:function:{name}",
                    "timeout_seconds": function.timeout_seconds,
                    "stubs": [stub.as_dict() for stub in stubs],
                    "result_path": str(result_path),
                }
            )
        )
        completed = subprocess.run(
            [sys.executable, "-I", str(BOOTSTRAP), str(spec_path)],
            env=process_environment,
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if not result_path.is_file():
            raise AssertionError(
                f"{function.logical_id}: the runtime died (exit {completed.returncode}):\n"
                f"{completed.stderr}"
            )
        outcome = json.loads(result_path.read_text())
    invocation = Invocation(
        result=outcome.get("result"),
        error=outcome.get("error"),
        calls=outcome["calls"],
        module_files=outcome["module_files"],
        stdout=completed.stdout,
        stderr=completed.stderr,
        environment=environment,
    )
    _assert_only_shipped_code(function, invocation)
    if least_privilege_key is not None:
        _record(least_privilege_key, invocation)
    return invocation


def _assert_only_shipped_code(function: ShippedFunction, invocation: Invocation) -> None:
    allowed = [function.code_dir.resolve(), *(layer.resolve() for layer in function.layer_dirs)]
    for module, path in invocation.module_files.items():
        resolved = Path(path).resolve()
        if not any(resolved.is_relative_to(root) for root in allowed):
            raise AssertionError(f"{module} was imported from {path}, which does not ship")


def _record(function_key: str, invocation: Invocation) -> None:
    from tests.security.functions import BY_KEY
    from tests.security.iam import call_resource
    from tests.security.recorder import RECORDER

    if function_key not in BY_KEY:
        raise AssertionError(f"{function_key!r} is not listed in tests/security/functions.py")
    for call in invocation.calls:
        params = call["params"] if isinstance(call["params"], dict) else {}
        resource = call_resource(call["service"], call["operation"], params)
        RECORDER.calls.add((function_key, call["service"], call["operation"], resource or ""))
