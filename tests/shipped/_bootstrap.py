"""Runs inside the subprocess that stands for a Lambda execution environment.

Started as ``python -I _bootstrap.py <spec.json>`` (isolated: no PYTHONPATH, no current folder,
no user site), so the only project code importable is what this script puts first on
``sys.path``: the function's staged code folder (Lambda's ``/var/task``) and each layer's
``python/`` folder (``/opt/python``). boto3 comes from the interpreter's site-packages, as
Lambda's runtime provides it.

AWS is the moto server named by ``AWS_ENDPOINT_URL``. Operations moto lacks are answered from
the spec's ``stubs`` by a botocore ``before-call`` hook, the mechanism botocore's Stubber uses:
botocore has already validated the request against the service model when it fires, and the
canned response is validated against the operation's output shape here. Every call the code
makes is written to the result (service, operation, parameters).

Standard library and botocore only: this file must not import the project or the tests.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
import traceback
from collections import deque
from pathlib import Path
from typing import Any


class _Context:
    """The Lambda context object's documented attributes."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.function_name = spec["function_name"]
        self.function_version = "$LATEST"
        self.invoked_function_arn = spec["function_arn"]
        self.memory_limit_in_mb = 256
        self.aws_request_id = "00000000-0000-4000-8000-000000000000"
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "2026/11/30/[$LATEST]0123456789abcdef"
        self._deadline = time.monotonic() + float(spec["timeout_seconds"])

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _install_hooks(stubs: list[dict[str, Any]], calls: list[dict[str, Any]]) -> None:
    import botocore.session
    from botocore.awsrequest import AWSResponse, HTTPHeaders
    from botocore.validate import ParamValidator

    queues: dict[tuple[str, str], deque[dict[str, Any]]] = {}
    for stub in stubs:
        queues.setdefault((stub["service"], stub["operation"]), deque()).append(stub)

    def record(params: Any, model: Any, context: dict[str, Any], **_: Any) -> None:
        service = model.service_model.service_name
        calls.append({"service": service, "operation": model.name, "params": params})
        context["shipped_params"] = params

    def answer(model: Any, context: dict[str, Any], **_: Any) -> Any:
        queue = queues.get((model.service_model.service_name, model.name))
        if not queue:
            return None  # to the moto server
        stub = queue.popleft()
        expected = stub.get("expected_params")
        actual = context.get("shipped_params", {})
        if expected is not None:
            for key, value in expected.items():
                if actual.get(key) != value:
                    raise AssertionError(
                        f"{model.name}: parameter {key}={actual.get(key)!r}, expected {value!r}"
                    )
        if "error" in stub:
            error = stub["error"]
            status = int(error.get("HTTPStatusCode", 400))
            parsed = {
                "Error": {"Code": error["Code"], "Message": error.get("Message", "")},
                "ResponseMetadata": {"HTTPStatusCode": status},
            }
            return AWSResponse("", status, HTTPHeaders(), None), parsed
        response = dict(stub.get("response", {}))
        if model.output_shape is not None:
            report = ParamValidator().validate(response, model.output_shape)
            if report.has_errors():
                raise AssertionError(f"stubbed {model.name} response: {report.generate_report()}")
        response["ResponseMetadata"] = {"HTTPStatusCode": 200}
        return AWSResponse("", 200, HTTPHeaders(), None), response

    original_init = botocore.session.Session.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.register("before-parameter-build", record)
        self.register("before-call", answer)

    botocore.session.Session.__init__ = init  # type: ignore[method-assign]


def main() -> int:
    spec = json.loads(Path(sys.argv[1]).read_text())
    result_path = Path(spec["result_path"])
    # Lambda's import path: the function's code, then each layer's python/ folder.
    sys.path[:0] = [spec["code_dir"], *(f"{layer}/python" for layer in spec["layer_dirs"])]
    calls: list[dict[str, Any]] = []
    outcome: dict[str, Any] = {"calls": calls}
    try:
        _install_hooks(spec.get("stubs", []), calls)
        module_name, function_name = spec["handler"].rsplit(".", 1)
        module = importlib.import_module(module_name)
        outcome["module_file"] = getattr(module, "__file__", None)
        outcome["result"] = getattr(module, function_name)(spec["event"], _Context(spec))
    except Exception as error:
        outcome["error"] = {
            "type": type(error).__name__,
            "message": str(error),
            "traceback": traceback.format_exc(),
        }
    outcome["modules"] = sorted(
        name
        for name, module in sys.modules.items()
        if name.split(".")[0] in ("mlops", "lambdas", "stacks", "tests", "handler")
        and getattr(module, "__file__", None)
    )
    outcome["module_files"] = {name: sys.modules[name].__file__ for name in outcome["modules"]}
    result_path.write_text(json.dumps(outcome, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
