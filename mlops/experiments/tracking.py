"""A small MLflow REST client for SageMaker MLflow apps: every request SigV4-signed by botocore.

Standard library + botocore only, Python 3.10 compatible: it runs unchanged in a Lambda function,
in the processing image and in the CLI. What a SageMaker MLflow app expects is taken from AWS's
own client plugin (``sagemaker-mlflow`` 0.5.0, ``auth_provider.py``, ``auth.py``,
``mlflow_sagemaker_helpers.py``, ``mlflow_sagemaker_request_header_provider.py``):

- the tracking URI is the app's ARN,
  ``arn:<partition>:sagemaker:<region>:<account>:mlflow-app/<id>``;
- its endpoint is ``https://mlflow.sagemaker.<region>.app.aws`` (DNS suffix ``aws`` in the
  ``aws`` and ``aws-us-gov`` partitions; the plugin supports no other partition);
- requests are signed with SigV4 for the service name ``sagemaker`` (tracking *servers* use
  ``sagemaker-mlflow``), carry ``x-sm-mlflow-app-arn: <ARN>`` for routing and
  ``X-Amz-Content-SHA256``;
- the paths are MLflow's REST API, ``/api/2.0/mlflow/...``.

``SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT`` replaces the endpoint, as in the plugin (the tests point it
at a local MLflow server).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from http.client import HTTPException
from typing import Any

from mlops.errors import InputError, MlopsError

SIGNING_SERVICE = "sagemaker"
ARN_HEADER = "x-sm-mlflow-app-arn"
CUSTOM_ENDPOINT_VARIABLE = "SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT"
API_PREFIX = "/api/2.0/mlflow/"
_RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


class TrackingError(MlopsError):
    """The MLflow app answered with an error (``error_code`` is MLflow's, e.g.
    ``RESOURCE_DOES_NOT_EXIST``; ``status`` the HTTP status)."""

    def __init__(self, message: str, *, status: int = 0, error_code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code


class TrackingUnreachable(TrackingError):
    """No answer from the MLflow app (connection refused, DNS, timeout, TLS)."""


@dataclass(frozen=True)
class AppArn:
    """The parts of an MLflow app ARN that routing and signing need."""

    arn: str
    partition: str
    region: str
    account: str
    app_id: str

    @classmethod
    def parse(cls, arn: str) -> AppArn:
        parts = arn.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sagemaker":
            raise InputError(
                f"not an MLflow app ARN: {arn!r}; expected "
                "arn:<partition>:sagemaker:<region>:<account>:mlflow-app/<id>"
            )
        kind, _, app_id = parts[5].partition("/")
        if kind != "mlflow-app" or not app_id or not parts[3] or not parts[4]:
            raise InputError(
                f"not an MLflow app ARN: {arn!r}; expected "
                "arn:<partition>:sagemaker:<region>:<account>:mlflow-app/<id>"
            )
        return cls(arn=arn, partition=parts[1], region=parts[3], account=parts[4], app_id=app_id)

    def endpoint(self) -> str:
        custom = os.environ.get(CUSTOM_ENDPOINT_VARIABLE, "").strip()
        if custom:
            return custom.rstrip("/")
        if self.partition not in ("aws", "aws-us-gov"):
            raise InputError(
                f"MLflow apps are not reachable in partition {self.partition!r} "
                "(supported: aws, aws-us-gov)"
            )
        return f"https://mlflow.sagemaker.{self.region}.app.aws"


def _query(params: Mapping[str, str] | None) -> str:
    # %20 rather than '+' for spaces: the plugin does the same so that the signed path matches.
    return "?" + urllib.parse.urlencode(params, quote_via=urllib.parse.quote) if params else ""


class TrackingClient:
    """MLflow REST calls against one MLflow app, signed with ``credentials`` (botocore).

    ``credentials`` is a ``botocore.credentials.Credentials`` (or anything with
    ``get_frozen_credentials()``); ``None`` resolves the default chain (Lambda role, profile).
    """

    def __init__(
        self,
        app_arn: str,
        *,
        credentials: Any = None,
        timeout: float = 10.0,
        attempts: int = 3,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.app = AppArn.parse(app_arn)
        self.endpoint = self.app.endpoint()
        if credentials is None:
            import botocore.session

            credentials = botocore.session.get_session().get_credentials()
        if credentials is None:
            raise InputError("no AWS credentials to sign MLflow requests with")
        self._credentials = credentials
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self._sleep = sleep or time.sleep

    # -- transport -----------------------------------------------------------------------------

    def signed_request(
        self, method: str, path: str, body: Mapping[str, Any] | None = None, query: str = ""
    ) -> urllib.request.Request:
        """The request as sent: JSON body, routing header, SigV4 ``Authorization``."""
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        data = json.dumps(body).encode() if body is not None else b""
        headers = {
            "Content-Type": "application/json",
            ARN_HEADER: self.app.arn,
            "X-Amz-Content-SHA256": hashlib.sha256(data).hexdigest(),
        }
        url = f"{self.endpoint}{API_PREFIX}{path}{query}"
        aws_request = AWSRequest(method=method, url=url, data=data or None, headers=headers)
        SigV4Auth(self._credentials, SIGNING_SERVICE, self.app.region).add_auth(aws_request)
        return urllib.request.Request(
            url, data=data or None, method=method, headers=dict(aws_request.headers.items())
        )

    def call(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """One REST call; throttling and 5xx answers and lost connections are retried."""
        last: TrackingError | None = None
        for attempt in range(self.attempts):
            if attempt:
                self._sleep(min(0.5 * 2**attempt, 4.0))
            request = self.signed_request(method, path, body, _query(params))
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    payload = response.read()
                return dict(json.loads(payload)) if payload else {}
            except urllib.error.HTTPError as error:
                last = _http_error(path, error)
                if error.code not in _RETRYABLE_STATUS:
                    raise last from None
            except (HTTPException, OSError) as error:  # URLError and timeouts are OSErrors
                reason = getattr(error, "reason", error)
                last = TrackingUnreachable(
                    f"MLflow app {self.app.arn} unreachable at {self.endpoint}: {reason}"
                )
        assert last is not None
        raise last

    # -- MLflow REST API -----------------------------------------------------------------------

    def get_experiment_by_name(self, name: str) -> dict[str, Any] | None:
        try:
            found = self.call("GET", "experiments/get-by-name", params={"experiment_name": name})
        except TrackingError as error:
            if error.error_code == "RESOURCE_DOES_NOT_EXIST" or error.status == 404:
                return None
            raise
        return dict(found["experiment"])

    def create_experiment(self, name: str, tags: Mapping[str, str] | None = None) -> str:
        body: dict[str, Any] = {"name": name}
        if tags:
            body["tags"] = [{"key": k, "value": v} for k, v in sorted(tags.items())]
        return str(self.call("POST", "experiments/create", body)["experiment_id"])

    def experiment_id(self, name: str, tags: Mapping[str, str] | None = None) -> str:
        """The id of experiment ``name``, created when missing (a concurrent create is fine)."""
        found = self.get_experiment_by_name(name)
        if found is not None:
            return str(found["experiment_id"])
        try:
            return self.create_experiment(name, tags)
        except TrackingError as error:
            if error.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
        found = self.get_experiment_by_name(name)
        if found is None:
            raise TrackingError(f"experiment {name!r} exists but cannot be read")
        return str(found["experiment_id"])

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        *,
        filter_string: str = "",
        max_results: int = 100,
        order_by: Sequence[str] = ("attributes.start_time DESC",),
    ) -> list[dict[str, Any]]:
        """Runs matching ``filter_string`` (MLflow search syntax), newest first, up to
        ``max_results`` (pages followed)."""
        runs: list[dict[str, Any]] = []
        token = ""
        while len(runs) < max_results:
            body: dict[str, Any] = {
                "experiment_ids": list(experiment_ids),
                "filter": filter_string,
                "max_results": min(1000, max_results - len(runs)),
                "order_by": list(order_by),
            }
            if token:
                body["page_token"] = token
            page = self.call("POST", "runs/search", body)
            runs.extend(page.get("runs", []))
            token = str(page.get("next_page_token", ""))
            if not token:
                break
        return runs[:max_results]

    def create_run(
        self,
        experiment_id: str,
        *,
        run_name: str,
        start_time_ms: int,
        tags: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        body = {
            "experiment_id": experiment_id,
            "run_name": run_name,
            "start_time": start_time_ms,
            "tags": [{"key": k, "value": v} for k, v in sorted((tags or {}).items())],
        }
        return dict(self.call("POST", "runs/create", body)["run"])

    def log_batch(
        self,
        run_id: str,
        *,
        params: Mapping[str, str] | None = None,
        metrics: Mapping[str, float] | None = None,
        tags: Mapping[str, str] | None = None,
        timestamp_ms: int,
    ) -> None:
        """Params, metrics and tags in one call (MLflow's limits: 100 params, 100 tags and
        1000 metrics per call; a pipeline run logs a few dozen)."""
        body = {
            "run_id": run_id,
            "params": [{"key": k, "value": v} for k, v in sorted((params or {}).items())],
            "metrics": [
                {"key": k, "value": v, "timestamp": timestamp_ms, "step": 0}
                for k, v in sorted((metrics or {}).items())
            ],
            "tags": [{"key": k, "value": v} for k, v in sorted((tags or {}).items())],
        }
        self.call("POST", "runs/log-batch", body)

    def update_run(self, run_id: str, *, status: str, end_time_ms: int | None = None) -> None:
        body: dict[str, Any] = {"run_id": run_id, "status": status}
        if end_time_ms is not None:
            body["end_time"] = end_time_ms
        self.call("POST", "runs/update", body)


def _http_error(path: str, error: urllib.error.HTTPError) -> TrackingError:
    try:
        detail = json.loads(error.read() or b"{}")
    except (ValueError, OSError):
        detail = {}
    code = str(detail.get("error_code", "")) if isinstance(detail, dict) else ""
    message = str(detail.get("message", "")) if isinstance(detail, dict) else ""
    text = message or str(error.reason)
    return TrackingError(
        f"MLflow {path}: HTTP {error.code} {code} {text}".replace("  ", " ").strip(),
        status=error.code,
        error_code=code,
    )
