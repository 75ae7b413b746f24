"""Experiment logging (training pipeline Lambda step, and pipeline status events): one MLflow run
per pipeline execution in the environment's MLflow app.

Input: the logging step's inputs, or an EventBridge pipeline execution status change (see
:mod:`mlops.experiments.step`). Output: ``status`` (``logged`` | ``unreachable`` |
``rejected``), ``message``, ``run_id``, ``experiment_id``. An unreachable or refusing MLflow app
is reported, not raised: logging alone never fails a pipeline run. Bad input raises InputError.
Environment: :class:`mlops.experiments.settings.LoggerSettings`.
"""

from __future__ import annotations

import os
from typing import Any

import boto3

from mlops.experiments.settings import LoggerSettings
from mlops.experiments.step import handle
from mlops.experiments.tracking import TrackingClient


def handler(event: dict[str, Any], context: object) -> dict[str, str]:
    settings = LoggerSettings.from_environment(os.environ)
    session = boto3.session.Session()
    client = TrackingClient(settings.app_arn, credentials=session.get_credentials())
    result = handle(
        event,
        client=client,
        s3=session.client("s3"),
        sagemaker=session.client("sagemaker"),
        artifacts_bucket=settings.artifacts_bucket,
        environment=settings.environment,
    )
    return result.as_output()
