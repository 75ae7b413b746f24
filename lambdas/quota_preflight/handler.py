"""Training pipeline Lambda step: Service Quotas preflight before anything that bills starts.

Input (the step's inputs): the instance types and counts of :class:`PreflightRequest`.
Output: ``proceed`` (bool), ``verdict``, ``message`` and the instance types the later steps use
(the fallback type when the preferred one is short). Environment: :class:`PreflightSettings`.
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3

from mlops.training.quotas import PreflightRequest, preflight, preflight_output
from mlops.training.settings import PreflightSettings


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    settings = PreflightSettings.from_environment(os.environ)
    request = PreflightRequest.from_event(event)
    decision = preflight(
        request.needs(),
        quotas_client=boto3.client("service-quotas"),
        sagemaker_client=boto3.client("sagemaker"),
        fallback_instance_type=settings.fallback_instance_type,
        request_increase=settings.request_quota_increase,
    )
    output = preflight_output(decision, request)
    print(json.dumps({"preflight": output}))
    return output
