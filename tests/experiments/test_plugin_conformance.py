"""Our signing is AWS's: the ``sagemaker-mlflow`` plugin (what a notebook uses with an app ARN
as tracking URI) signs the same request to the same endpoint with the same signature."""

from __future__ import annotations

import datetime

import pytest
import requests

from mlops.experiments.tracking import TrackingClient
from tests.experiments.mlflow_server import APP_ARN


@pytest.fixture
def fixed_time(monkeypatch: pytest.MonkeyPatch) -> None:
    moment = datetime.datetime(2026, 11, 30, 12, 0, 0)
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda: moment)


def test_the_plugin_and_our_client_sign_alike(
    fixed_time: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Imported here: mlflow costs 1.5 s to import in every worker that collects this module.
    import mlflow
    from sagemaker_mlflow.auth_provider import AuthProvider
    from sagemaker_mlflow.mlflow_sagemaker_helpers import SageMakerMLflowHostMetadataProvider
    from sagemaker_mlflow.mlflow_sagemaker_request_header_provider import (
        MlflowSageMakerRequestHeaderProvider,
    )

    monkeypatch.delenv("SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT", raising=False)
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(APP_ARN)
    try:
        plugin_auth = AuthProvider().get_auth()
        plugin_headers = MlflowSageMakerRequestHeaderProvider().request_headers()
    finally:
        mlflow.set_tracking_uri(previous)
    host = SageMakerMLflowHostMetadataProvider()
    host.set_arn(APP_ARN)
    endpoint = host.construct_tracking_server_url()

    ours = TrackingClient(APP_ARN).signed_request(
        "POST", "runs/search", {"experiment_ids": ["1"], "max_results": 2}
    )
    body = ours.data
    assert isinstance(body, bytes)
    prepared = requests.Request(
        "POST",
        f"{endpoint}/api/2.0/mlflow/runs/search",
        data=body,
        headers={"Content-Type": "application/json", **plugin_headers, "Connection": "close"},
    ).prepare()
    prepared.headers.pop("Content-Length")  # not signed by either: added at send time
    signed = plugin_auth(prepared)

    assert ours.full_url == signed.url
    theirs = {k.lower(): v for k, v in signed.headers.items()}
    mine = {k.lower(): v for k, v in ours.header_items()}
    assert mine["x-sm-mlflow-app-arn"] == theirs["x-sm-mlflow-app-arn"] == APP_ARN
    assert mine["x-amz-date"] == theirs["x-amz-date"]
    assert mine["authorization"] == theirs["authorization"]
    assert "/us-east-1/sagemaker/aws4_request" in mine["authorization"]
