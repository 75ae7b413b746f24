"""pytest plugin (tests/conftest.py): ``mlflow_server`` and ``tracking`` fixtures, for any test
that needs the MLflow app of an environment (e.g. a pipeline executor running the logging step:
point ``SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT`` at ``tracking.url``).

A real MLflow tracking server (the installed ``mlflow`` package, SQLite backend, a free port)
behind a recorder that checks every request's SigV4 signature the way AWS would: it
recomputes the signature from what arrived (method, path, query, the signed headers, body) and
the test credentials, and records the verdict with the request."""

from __future__ import annotations

import hashlib
import io
import os
import socket
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

APP_ARN = "arn:aws:sagemaker:us-east-1:123456789012:mlflow-app/app-TESTAPP123"
SECRET_KEY = "testing"  # tests/conftest.py: AWS_SECRET_ACCESS_KEY


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    signature_valid: bool
    signing_service: str
    signing_region: str


@dataclass
class MlflowServer:
    url: str  # what the logging code calls (through the recorder)
    backend_url: str  # what the tests' independent reader calls
    startup_seconds: float
    received: list[Received] = field(default_factory=list)

    def reader(self) -> Any:
        """MLflow's own client, straight to the server: an independent reader of what was
        logged (imported here: mlflow costs 1.5 s to import in every collecting worker)."""
        from mlflow.tracking import MlflowClient

        return MlflowClient(tracking_uri=self.backend_url)


def verify_sigv4(
    method: str, path: str, headers: dict[str, str], body: bytes
) -> tuple[bool, str, str]:
    """(valid, service, region) of the request's ``Authorization`` header."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    authorization = headers.get("authorization", "")
    if not authorization.startswith("AWS4-HMAC-SHA256 "):
        return False, "", ""
    fields = dict(
        part.strip().split("=", 1) for part in authorization[len("AWS4-HMAC-SHA256 ") :].split(",")
    )
    access_key, date, region, service, terminator = fields["Credential"].split("/")
    signed = fields["SignedHeaders"].split(";")
    request = AWSRequest(
        method=method,
        url=f"http://{headers['host']}{path}",
        headers={name: headers[name] for name in signed if name != "host"},
        data=body or None,
    )
    request.context["timestamp"] = headers["x-amz-date"]
    signer = SigV4Auth(
        Credentials(access_key, SECRET_KEY, headers.get("x-amz-security-token")), service, region
    )
    # Exactly the headers the client signed (urllib adds others after signing).
    signer.headers_to_sign = lambda _request: _only(request, signed)  # type: ignore[method-assign,assignment]
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    # AWS checks the signed payload hash against the body it received.
    payload_matches = headers.get("x-amz-content-sha256") == hashlib.sha256(body).hexdigest()
    valid = expected == fields["Signature"] and terminator == "aws4_request" and payload_matches
    del date
    return valid, service, region


def _only(request: Any, names: list[str]) -> Any:
    from botocore.awsrequest import HTTPHeaders

    chosen = HTTPHeaders()
    for name in names:
        value = request.headers.get(name)
        if name == "host" and value is None:
            value = urllib.parse.urlsplit(request.url).netloc
        chosen[name] = value
    return chosen


class _Recorder:
    """WSGI middleware in front of MLflow's app: records each request and checks its signature."""

    def __init__(self, app: Any, server: MlflowServer) -> None:
        self.app = app
        self.server = server

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        path = environ.get("REQUEST_URI") or environ.get("RAW_URI") or environ["PATH_INFO"]
        valid, service, region = verify_sigv4(environ["REQUEST_METHOD"], path, headers, body)
        self.server.received.append(
            Received(environ["REQUEST_METHOD"], path, headers, body, valid, service, region)
        )
        return self.app(environ, start_response)


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """MLflow's tracking server app (``mlflow.server.app``, what ``mlflow server`` serves) on a
    free port in a thread: about 4 s to start instead of 10+ s for the ``mlflow server``
    process, and the recorder sees the requests exactly as they arrive."""
    from werkzeug.serving import make_server

    folder = tmp_path_factory.mktemp("mlflow")
    started = time.monotonic()
    # What `mlflow server --backend-store-uri ... --default-artifact-root ...` sets.
    os.environ["_MLFLOW_SERVER_FILE_STORE"] = f"sqlite:///{folder / 'mlflow.db'}"
    os.environ["_MLFLOW_SERVER_ARTIFACT_ROOT"] = str(folder / "artifacts")
    from mlflow.server import app

    server = MlflowServer(url="", backend_url="", startup_seconds=0.0)
    http_server = make_server("127.0.0.1", 0, _Recorder(app, server), threaded=True)
    threading.Thread(target=http_server.serve_forever, daemon=True).start()
    server.url = server.backend_url = f"http://127.0.0.1:{http_server.server_port}"
    # The first store call creates the SQLite schema: part of the startup cost.
    ready = f"{server.url}/api/2.0/mlflow/experiments/get-by-name?experiment_name=Default"
    with urllib.request.urlopen(ready, timeout=60) as response:
        assert response.status == 200
    server.startup_seconds = time.monotonic() - started
    print(f"\nmlflow tracking server ready in {server.startup_seconds:.1f}s")
    yield server
    http_server.shutdown()


@pytest.fixture
def tracking(mlflow_server: MlflowServer, monkeypatch: pytest.MonkeyPatch) -> MlflowServer:
    """The server, with the MLflow app endpoint of this process pointed at it."""
    monkeypatch.setenv("SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT", mlflow_server.url)
    mlflow_server.received.clear()
    return mlflow_server


# MLflow REST path -> the sagemaker-mlflow action naming it (Service Authorization Reference).
REST_ACTIONS = {
    "experiments/get-by-name": "GetExperimentByName",
    "experiments/create": "CreateExperiment",
    "runs/search": "SearchRuns",
    "runs/create": "CreateRun",
    "runs/log-batch": "LogBatch",
    "runs/update": "UpdateRun",
}


def record_mlflow_calls(function_key: str, received: list[Received]) -> None:
    """Add a shipped function's MLflow REST calls to the least-privilege proof: each needs
    ``sagemaker:CallMlflowAppApi`` and its ``sagemaker-mlflow`` action on the app."""
    from tests.security.recorder import RECORDER

    for request in received:
        if "x-sm-mlflow-app-arn" not in request.headers:
            continue  # the tests' own reader
        path = request.path.split("?")[0].removeprefix("/api/2.0/mlflow/")
        app = request.headers["x-sm-mlflow-app-arn"]
        RECORDER.calls.add((function_key, "sagemaker-mlflow", REST_ACTIONS[path], app))
        RECORDER.calls.add((function_key, "sagemaker", "CallMlflowAppApi", app))
