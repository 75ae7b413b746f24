"""Scheduled clean-up Lambda (EventBridge Scheduler): remove what is idle or expired.

Thin: settings are read from the environment at invocation (validated), the logic is
:func:`mlops.teardown.scheduled.run_scheduled`, which posts its report to the environment's
SNS topic. A failure to remove one resource is in the report, not an error of the function.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

import boto3

from mlops.teardown import Clients
from mlops.teardown.scheduled import ScheduledSettings, run_scheduled

logging.getLogger().setLevel(logging.INFO)
LOG = logging.getLogger(__name__)


def handler(event: object, context: object) -> dict[str, Any]:
    settings = ScheduledSettings.from_environment(os.environ)
    session = boto3.session.Session()
    result = run_scheduled(event, settings, Clients.from_session(session), session.client("sns"))
    LOG.info("scheduled clean-up: %s", json.dumps(result))
    return result
