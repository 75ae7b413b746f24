"""pytest fixtures: one moto server per test process, reset before each test that uses it.

The shipped Lambdas run in subprocesses, so AWS has to be reachable over HTTP: a
``ThreadedMotoServer`` on a free loopback port. Test code talks to the same server through
:class:`MotoServer` clients; it can also reach moto's backends directly (same process), e.g.
to move an endpoint to ``InService``.
"""

from __future__ import annotations

import functools
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer

from tests.shipped.assembly import REGION


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
