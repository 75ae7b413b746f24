"""pytest fixtures: one moto server per test process, reset before each test that uses it,
and an HTTPS server standing for CloudFormation's response URL (custom resources).

The shipped Lambdas run in subprocesses, so AWS has to be reachable over HTTP: a
``ThreadedMotoServer`` on a free loopback port. Test code talks to the same server through
:class:`MotoServer` clients; it can also reach moto's backends directly (same process), e.g.
to move an endpoint to ``InService``. moto is extended with SageMaker's monitoring schedules
(:mod:`tests.shipped.sagemaker_monitoring`) before any test runs.
"""

from __future__ import annotations

import functools
import http.server
import json
import ssl
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer

from tests.shipped import sagemaker_monitoring
from tests.shipped.assembly import REGION


def pytest_configure(config: pytest.Config) -> None:
    """moto gets SageMaker's monitoring schedules (it lacks them) for every test process,
    in-process and on the server alike (tests/shipped/sagemaker_monitoring.py)."""
    sagemaker_monitoring.install()


@dataclass(frozen=True)
class MotoServer:
    endpoint_url: str
    region: str = REGION

    def client(self, service: str) -> Any:
        return _session(self.region).client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.endpoint_url,
            config=Config(retries={"total_max_attempts": 1}),
        )

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()


@functools.cache
def _session(region: str) -> boto3.session.Session:
    """One session per region: its clients share the loaded service models (a fresh session
    parses SageMaker's model again, about 0.3 s a client)."""
    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
    )


@pytest.fixture(scope="session")
def _moto_server_process() -> Iterator[MotoServer]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield MotoServer(endpoint_url=f"http://{host}:{port}")
    finally:
        server.stop()


@pytest.fixture
def moto_server(_moto_server_process: MotoServer) -> MotoServer:
    """The process's moto server, emptied for this test."""
    _moto_server_process.reset()
    return _moto_server_process


# --- CloudFormation's response URL ------------------------------------------------------------


@dataclass
class ResponseUrl:
    """Stands for the pre-signed S3 URL CloudFormation gives a custom resource to answer on.

    An HTTPS server on loopback (a certificate made for ``localhost`` per session; pass
    ``ca_file`` to :func:`tests.shipped.lambdas.invoke` as ``trusted_ca_file`` so the shipped
    code trusts it, as it trusts S3's public certificate in AWS). Every PUT body is kept.
    """

    url: str
    ca_file: str
    bodies: list[dict[str, Any]]

    def answer(self) -> dict[str, Any]:
        """The one answer received (AssertionError when none or several)."""
        if len(self.bodies) != 1:
            raise AssertionError(f"{len(self.bodies)} answers reached the response URL")
        return self.bodies[0]


def _self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "localhost.pem", folder / "localhost.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@pytest.fixture(scope="session")
def _response_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ResponseUrl]:
    cert_file, key_file = _self_signed(tmp_path_factory.mktemp("response-url"))
    bodies: list[dict[str, Any]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            bodies.append(json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield ResponseUrl(
            url=f"https://localhost:{server.server_address[1]}/cloudformation-response",
            ca_file=str(cert_file),
            bodies=bodies,
        )
    finally:
        server.shutdown()


@pytest.fixture
def response_url(_response_server: ResponseUrl) -> ResponseUrl:
    """The session's response server, with no answers yet."""
    _response_server.bodies.clear()
    return _response_server
