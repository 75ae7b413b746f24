"""A moto account for monitoring: S3, CloudWatch, model packages, the endpoint, and the
monitoring schedules moto lacks (:mod:`tests.shipped.sagemaker_monitoring`, which checks every
request against the service model and keeps SageMaker's rules). Every request of the SageMaker
client is also recorded, checked (``tests.service_model.checked``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.sagemaker.models import sagemaker_backends

from mlops.constants import model_package_group_name
from mlops.monitoring.settings import MonitoringSettings
from mlops.registry import ModelVersion, describe_version
from tests.service_model import Requests, checked
from tests.shipped.sagemaker_monitoring import Monitoring, state

REGION = "us-east-1"
ENVIRONMENT = "dev"
GROUP = "fraud-detection"  # as configured in cdk.json
PACKAGE_GROUP = model_package_group_name(ENVIRONMENT, GROUP)  # its SageMaker name
ENDPOINT = "mlops-dev-fraud-detection"
ARTIFACTS = "mlops-dev-artifacts"
ROLE = f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/monitoring"
KEY = f"arn:aws:kms:{REGION}:{DEFAULT_ACCOUNT_ID}:key/1234"
IMAGE = "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"


def settings(**overrides: Any) -> MonitoringSettings:
    values: dict[str, Any] = {
        "environment": ENVIRONMENT,
        "role_arn": ROLE,
        "kms_key_arn": KEY,
        "image_uri": IMAGE,
        "output_uri": f"s3://{ARTIFACTS}/monitoring",
        "ground_truth_uri": f"s3://{ARTIFACTS}/ground-truth",
        "subnet_ids": ("subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"),
        "security_group_ids": ("sg-0a1b2c3d4e5f60003",),
        "instance_type": "ml.m5.large",
        "max_runtime_seconds": 1800,
        "data_quality_schedule": "cron(0 0 ? * * *)",
        "model_quality_schedule": "cron(0 2 ? * * *)",
        "window_start_hours": 48,
        "window_end_hours": 1,
    }
    values.update(overrides)
    return MonitoringSettings(**values)


def _backend() -> Any:
    return sagemaker_backends[DEFAULT_ACCOUNT_ID][REGION]


@dataclass
class Account:
    sagemaker: Any
    s3: Any
    cloudwatch: Any
    requests: Requests

    @property
    def schedules(self) -> Monitoring:
        return state(_backend())

    def version(self, number: int, *, baselines: bool = True) -> ModelVersion:
        """Register version ``number`` (optionally with drift baselines) and approve it."""
        run = f"s3://{ARTIFACTS}/pipelines/dev/run-{number}"
        extra: dict[str, Any] = {}
        if baselines:
            extra["DriftCheckBaselines"] = {
                "ModelDataQuality": {
                    "Statistics": {
                        "ContentType": "application/json",
                        "S3Uri": f"{run}/data-quality-baseline/statistics.json",
                    },
                    "Constraints": {
                        "ContentType": "application/json",
                        "S3Uri": f"{run}/data-quality-baseline/constraints.json",
                    },
                },
                "ModelQuality": {
                    "Constraints": {
                        "ContentType": "application/json",
                        "S3Uri": f"{run}/model-quality-baseline/constraints.json",
                    }
                },
            }
        arn = self.sagemaker.create_model_package(
            ModelPackageGroupName=PACKAGE_GROUP,
            InferenceSpecification={
                "Containers": [
                    {"Image": IMAGE, "ModelDataUrl": f"s3://{ARTIFACTS}/models/m.tar.gz"}
                ],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            ModelApprovalStatus="Approved",
            **extra,
        )["ModelPackageArn"]
        return describe_version(self.sagemaker, arn)

    def schedule(self, monitor: str) -> dict[str, Any]:
        return self.schedules.schedules[f"{ENDPOINT}-{'dq' if monitor == 'DataQuality' else 'mq'}"]

    def definitions(self) -> list[str]:
        backend = _backend()
        return sorted(
            [*backend.data_quality_job_definitions, *backend.model_quality_job_definitions]
        )


@pytest.fixture
def account() -> Iterator[Account]:
    with mock_aws():
        session = boto3.session.Session(region_name=REGION)
        sagemaker = session.client("sagemaker")
        s3 = session.client("s3")
        sagemaker.create_model_package_group(ModelPackageGroupName=PACKAGE_GROUP)
        # The endpoint exists (SageMaker checks it when a schedule is created).
        sagemaker.create_model(
            ModelName="m", PrimaryContainer={"Image": IMAGE}, ExecutionRoleArn=ROLE
        )
        sagemaker.create_endpoint_config(
            EndpointConfigName="c",
            ProductionVariants=[
                {"VariantName": "primary", "ModelName": "m", "InstanceType": "ml.m5.large",
                 "InitialInstanceCount": 1}
            ],
        )  # fmt: skip
        sagemaker.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="c")
        s3.create_bucket(Bucket=ARTIFACTS)
        with checked(sagemaker) as requests:
            yield Account(sagemaker, s3, session.client("cloudwatch"), requests)
