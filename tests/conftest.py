"""Shared fixtures. AWS credentials are always fake: no test may reach a real account."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator

import botocore.loaders
import botocore.session
import pytest

from tests import synth
from tests.synth import Synthesized, synthesize

# Records the AWS calls of each Lambda function's code during the run (least privilege).
pytest_plugins = [
    "tests.security.recorder",
    "tests.shipped.fixtures",
    "tests.experiments.mlflow_server",  # a real MLflow tracking server (session), any test
]


def pytest_configure(config: pytest.Config) -> None:
    """Every boto3 session of the test process shares one botocore loader: a new session
    parses the service models again (0.1-0.3 s per client), and the tests make thousands of
    clients. Loaded models are read-only, so sharing them changes nothing but time."""
    botocore.session.create_loader = _shared_loader


@functools.cache
def _shared_loader(search_path_string: str | None = None) -> botocore.loaders.Loader:
    return _create_loader(search_path_string)


_create_loader = botocore.loaders.create_loader


@pytest.fixture(autouse=True)
def _fake_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    yield


@pytest.fixture(scope="session", autouse=True)
def _synthesize_once_per_session(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Under pytest-xdist, workers share synthesized assemblies (tests/synth.py): the folder
    above each worker's own temporary folder is the session's."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        synth.SHARED_ROOT = tmp_path_factory.getbasetemp().parent


@pytest.fixture(scope="session")
def dev() -> Synthesized:
    return synthesize("dev")


@pytest.fixture(scope="session")
def prod() -> Synthesized:
    return synthesize("prod")
