"""Experiment logging (training pipeline Lambda step, and pipeline status events): one MLflow run
per pipeline execution in the environment's MLflow app.

Input: the logging step's inputs, or an EventBridge pipeline execution status change (see
:mod:`mlops.experiments.step`). Output: ``status`` (``logged`` | ``unreachable`` |
``rejected``), ``message``, ``run_id``, ``experiment_id``. An unreachable or refusing MLflow app
is reported, not raised: logging alone never fails a pipeline run. Bad input raises InputError.
Environment: ``MLFLOW_APP_ARN``, ``ARTIFACTS_BUCKET``, ``ENVIRONMENT``.
"""

from __future__ import annotations

import os
from typing import Any

import boto3

from mlops.experiments.step import app_arn_from_environment, handle
from mlops.experiments.tracking import TrackingClient


def handler(event: dict[str, Any], context: object) -> dict[str, str]:
    session = boto3.session.Session()
    client = TrackingClient(app_arn_from_environment(), credentials=session.get_credentials())
    result = handle(
        event,
        client=client,
        s3=session.client("s3"),
        sagemaker=session.client("sagemaker"),
        artifacts_bucket=os.environ.get("ARTIFACTS_BUCKET", ""),
        environment=os.environ.get("ENVIRONMENT", ""),
    )
    return result.as_output()
