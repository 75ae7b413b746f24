"""Custom resource of the Deployment stack: on stack delete, remove the environment's
endpoints, endpoint configs and models (created at run time by the deploy Lambda).

Thin: the environment name is read at invocation (``EndpointCleanupSettings``, validated); the
request and the answer to CloudFormation are :func:`mlops.teardown.custom_resource.handle`.
"""

from __future__ import annotations

import logging
import os

import boto3

from mlops.teardown import Clients
from mlops.teardown.custom_resource import EndpointCleanupSettings, handle, parse_event

logging.getLogger().setLevel(logging.INFO)
# Kept back from the function's time to answer CloudFormation after waiting for endpoints.
ANSWER_MARGIN_SECONDS = 60


def handler(event: object, context: object) -> None:
    request = parse_event(event)
    handle(
        request,
        # Read inside handle(), which answers CloudFormation FAILED instead of raising.
        settings=lambda: EndpointCleanupSettings.from_environment(os.environ),
        clients=lambda: Clients.from_session(boto3.session.Session()),
        log_stream=str(getattr(context, "log_stream_name", "unknown")),
        wait_seconds=max(0.0, _remaining_seconds(context) - ANSWER_MARGIN_SECONDS),
    )


def _remaining_seconds(context: object) -> float:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return remaining() / 1000 if callable(remaining) else 0.0
