"""Deploy Lambda: SQS FIFO batch of model package approval events → endpoint deployments.

Thin: settings are read from the environment at invocation (validated), clients are created
once per container, and each record goes to :func:`mlops.deployment.service.process_batch`,
which returns SQS partial batch failures.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import boto3

from mlops.deployment.service import Clients, process_batch
from mlops.deployment.settings import DeploySettings

logging.getLogger().setLevel(logging.INFO)
_clients: Clients | None = None


def handler(event: dict[str, Any], context: object) -> dict[str, list[dict[str, str]]]:
    global _clients
    settings = DeploySettings.from_environment(os.environ)
    if _clients is None:
        _clients = Clients.from_session(boto3.session.Session())
    return process_batch(event, settings, _clients)
