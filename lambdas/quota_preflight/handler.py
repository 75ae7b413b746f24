"""Training pipeline Lambda step: Service Quotas preflight before Autopilot starts.

Input (the step's inputs): the instance types and counts of :class:`PreflightRequest`.
Output: ``proceed`` (bool), ``verdict``, ``message`` and the instance types the later steps use
(the fallback type when the preferred one is short). Environment: ``FALLBACK_INSTANCE_TYPE``
(optional) and ``REQUEST_QUOTA_INCREASE`` (``true``/``false``).
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3

from mlops.errors import InputError
from mlops.training.quotas import PreflightRequest, preflight, preflight_output


def _settings() -> tuple[str | None, bool]:
    fallback = os.environ.get("FALLBACK_INSTANCE_TYPE", "").strip() or None
    if fallback is not None and not fallback.startswith("ml."):
        raise InputError(f"FALLBACK_INSTANCE_TYPE must be an instance type, got {fallback!r}")
    raw = os.environ.get("REQUEST_QUOTA_INCREASE", "false").strip().lower()
    if raw not in ("true", "false"):
        raise InputError(f"REQUEST_QUOTA_INCREASE must be true or false, got {raw!r}")
    return fallback, raw == "true"


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    fallback, request_increase = _settings()
    request = PreflightRequest.from_event(event)
    decision = preflight(
        request.needs(),
        quotas_client=boto3.client("service-quotas"),
        sagemaker_client=boto3.client("sagemaker"),
        fallback_instance_type=fallback,
        request_increase=request_increase,
    )
    output = preflight_output(decision, request)
    print(json.dumps({"preflight": output}))
    return output
