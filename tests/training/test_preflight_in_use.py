"""The preflight Lambda step counts what already runs: the same run passes in a quiet account,
falls back when running work fills a quota, and stops when fixed-type work no longer fits.

SageMaker is moto (jobs, endpoints and their configs); Service Quotas for SageMaker is a
Stubber (moto does not cover it), injected where the handler creates its clients.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.sagemaker.models import sagemaker_backends

from lambdas.quota_preflight import handler as preflight_handler

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_sagemaker.literals import (
        ProductionVariantInstanceTypeType,
        TrainingInstanceTypeType,
        TransformInstanceTypeType,
    )

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/sagemaker-execution"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:latest"
EVENT = {
    "processing_instance_type": "ml.m5.xlarge",
    "transform_instance_type": "ml.m5.large",
    "automl_processing_instance_type": "ml.m5.4xlarge",
    "automl_training_instance_type": "ml.m5.4xlarge",
    "automl_training_instances": 1,
    "endpoint_instance_type": "ml.m5.large",
    "endpoint_instance_count": 1,  # blue/green: one more fleet on top of the live one
}
FALLBACK = "ml.c5.xlarge"
TRAINING = "ml.m5.4xlarge for training job usage"
ENDPOINT = "ml.m5.large for endpoint usage"
QUOTAS = {
    "ml.m5.xlarge for processing job usage": ("L-PROC", 4),
    "ml.m5.4xlarge for processing job usage": ("L-PROC4", 2),
    TRAINING: ("L-TRAIN", 2),
    "ml.m5.large for transform job usage": ("L-TRANS", 2),
    f"{FALLBACK} for transform job usage": ("L-TRANSC5", 2),
    ENDPOINT: ("L-EP", 4),
}


class Account:
    """A moto SageMaker account and a stubbed Service Quotas client the handler is given."""

    def __init__(self) -> None:
        self.sagemaker: SageMakerClient = boto3.client("sagemaker", region_name=REGION)
        self.quotas = boto3.client("service-quotas", region_name=REGION)
        self.quotas_stub = Stubber(self.quotas)

    def quotas_listed(self) -> None:
        """One handler run lists the applied quotas once (one page)."""
        self.quotas_stub.add_response(
            "list_service_quotas",
            {
                "Quotas": [
                    {
                        "ServiceCode": "sagemaker",
                        "QuotaCode": code,
                        "QuotaName": name,
                        "Value": value,
                        "Adjustable": True,
                    }
                    for name, (code, value) in QUOTAS.items()
                ]
            },
            {"ServiceCode": "sagemaker"},
        )

    def no_pending_request(self, name: str) -> None:
        for status in ("PENDING", "CASE_OPENED"):
            self.quotas_stub.add_response(
                "list_requested_service_quota_change_history_by_quota",
                {"RequestedQuotas": []},
                {"ServiceCode": "sagemaker", "QuotaCode": QUOTAS[name][0], "Status": status},
            )

    def training_job(self, name: str, instance_type: str, count: int, *, running: bool) -> None:
        self.sagemaker.create_training_job(
            TrainingJobName=name,
            AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
            RoleArn=ROLE,
            OutputDataConfig={"S3OutputPath": "s3://artifacts/training"},
            ResourceConfig={
                "InstanceType": cast("TrainingInstanceTypeType", instance_type),
                "InstanceCount": count,
                "VolumeSizeInGB": 30,
            },
            StoppingCondition={"MaxRuntimeInSeconds": 3600},
        )
        if running:  # moto completes jobs at once; in AWS they run for a while
            _backend().training_jobs[name].training_job_status = "InProgress"

    def transform_job(self, name: str, instance_type: str, count: int, *, running: bool) -> None:
        self.sagemaker.create_transform_job(
            TransformJobName=name,
            ModelName="scoring-model",
            TransformInput={
                "DataSource": {
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://data/test/"}
                }
            },
            TransformOutput={"S3OutputPath": "s3://artifacts/scores/"},
            TransformResources={
                "InstanceType": cast("TransformInstanceTypeType", instance_type),
                "InstanceCount": count,
            },
        )
        if running:
            _backend().transform_jobs[name].transform_job_status = "InProgress"

    def endpoint(self, name: str, instance_type: str, count: int, *, status: str) -> None:
        self.sagemaker.create_model(
            ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE}
        )
        self.sagemaker.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": name,
                    "InitialInstanceCount": count,
                    "InstanceType": cast("ProductionVariantInstanceTypeType", instance_type),
                }
            ],
        )
        self.sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
        _backend().endpoints[name].endpoint_status = status


def _backend() -> Any:
    return sagemaker_backends[DEFAULT_ACCOUNT_ID][REGION]


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[Account]:
    monkeypatch.setenv("FALLBACK_INSTANCE_TYPE", FALLBACK)
    monkeypatch.setenv("REQUEST_QUOTA_INCREASE", "false")
    with mock_aws():
        fake = Account()
        real_client = boto3.client

        def client(service_name: str, **kwargs: Any) -> Any:
            if service_name == "service-quotas":
                return fake.quotas
            return real_client(service_name, **kwargs)  # type: ignore[call-overload]

        # The handler creates its clients with boto3.client: hand it the stubbed one.
        monkeypatch.setattr(preflight_handler, "boto3", SimpleNamespace(client=client))
        with fake.quotas_stub:
            yield fake
            fake.quotas_stub.assert_no_pending_responses()


def test_running_jobs_and_endpoints_change_the_verdict(account: Account) -> None:
    # Given a quiet account (only finished work, a failed endpoint and other instance types)
    account.training_job("finished-training", "ml.m5.4xlarge", 2, running=False)
    account.transform_job("finished-scoring", "ml.m5.large", 2, running=False)
    account.training_job("gpu-training", "ml.p3.2xlarge", 4, running=True)
    account.endpoint("broken", "ml.m5.large", 4, status="Failed")
    account.quotas_listed()
    # When the preflight runs, then every quota covers the run
    quiet = preflight_handler.handler(dict(EVENT), None)
    assert quiet["verdict"] == "proceed"
    assert quiet["message"] == "Proceeding: 5 quotas cover this run"
    assert quiet["transform_instance_type"] == "ml.m5.large"

    # Given another team's batch scoring holds both ml.m5.large transform instances
    account.transform_job("other-scoring", "ml.m5.large", 2, running=True)
    account.quotas_listed()
    busy = preflight_handler.handler(dict(EVENT), None)
    # Then the scoring step moves to the fallback type and the run proceeds
    assert busy["verdict"] == "fallback"
    assert busy["proceed"] is True
    assert busy["transform_instance_type"] == FALLBACK
    assert busy["message"] == (
        f"Proceeding with fallback: transform job on {FALLBACK} instead of ml.m5.large"
    )

    # Given, in addition, a training job and live endpoints that leave too little room for
    # Autopilot's training and for the blue/green deployment (their types are fixed)
    account.training_job("other-training", "ml.m5.4xlarge", 2, running=True)
    account.endpoint("other-live", "ml.m5.large", 2, status="InService")
    account.endpoint("other-scaling", "ml.m5.large", 2, status="Updating")
    account.quotas_listed()
    account.no_pending_request(TRAINING)
    account.no_pending_request(ENDPOINT)
    full = preflight_handler.handler(dict(EVENT), None)
    # Then the run stops before starting, naming each short quota and what holds it
    assert full["verdict"] == "stop"
    assert full["proceed"] is False
    assert full["message"] == (
        f"Stopped before starting: quota '{TRAINING}' is 2, 2 in use, 1 needed; "
        "request an increase in Service Quotas; "
        f"quota '{ENDPOINT}' is 4, 4 in use, 1 needed; request an increase in Service Quotas"
    )
