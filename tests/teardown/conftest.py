"""An account on moto holding this environment's resources, another environment's, and
untagged ones with look-alike names."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.sagemaker.models import sagemaker_backends

from mlops.constants import MANAGED_BY_VALUE, TAG_ENVIRONMENT, TAG_MANAGED_BY, resource_prefix
from mlops.teardown import Clients, RetryPolicy

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient

REGION = "us-east-1"
ENV = "dev"
OTHER_ENV = "prod"
ROLE = "arn:aws:iam::123456789012:role/sagemaker-execution"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:latest"
NO_WAIT = RetryPolicy(max_attempts=4, base_delay=0.0, max_delay=0.0)
# No botocore-level retries in tests: the engine's own retries are what is tested.
NO_SDK_RETRY = Config(retries={"total_max_attempts": 1})


def tags(env: str | None) -> list[dict[str, str]]:
    if env is None:
        return [{"Key": "team", "Value": "someone-else"}]
    return [
        {"Key": TAG_ENVIRONMENT, "Value": env},
        {"Key": TAG_MANAGED_BY, "Value": MANAGED_BY_VALUE},
    ]


def make_clients(session: boto3.Session | None = None) -> Clients:
    session = session or boto3.Session(region_name=REGION)
    return Clients(
        sagemaker=session.client("sagemaker", config=NO_SDK_RETRY),
        tagging=session.client("resourcegroupstaggingapi", config=NO_SDK_RETRY),
        cloudwatch=session.client("cloudwatch", config=NO_SDK_RETRY),
        s3=session.client("s3", config=NO_SDK_RETRY),
        efs=session.client("efs", config=NO_SDK_RETRY),
        ec2=session.client("ec2", config=NO_SDK_RETRY),
    )


def create_serving_stack(sm: SageMakerClient, name: str, env: str | None) -> None:
    """A model, an endpoint config and an endpoint, as the deploy Lambda creates them."""
    sm.create_model(
        ModelName=name,
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": IMAGE},
        Tags=tags(env),  # type: ignore[arg-type]
    )
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": name,
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
        Tags=tags(env),  # type: ignore[arg-type]
    )
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name, Tags=tags(env))  # type: ignore[arg-type]
    # moto 5.2.5 stores an endpoint config's ARN as a 1-tuple, so its tagging API returns
    # "('arn:...',)". Real AWS returns the ARN: repair the fake's state, not our logic.
    config = moto_sagemaker().endpoint_configs[name]
    config.arn = config.endpoint_config_arn


def create_monitoring(sm: SageMakerClient, endpoint: str, env: str | None) -> None:
    """A data-quality job definition and a schedule watching ``endpoint``, tagged as the deploy
    Lambda tags them (``mlops.monitoring.schedules``); the endpoint must exist."""
    definition = f"{endpoint}-v1-dq-0123abcd"
    sm.create_data_quality_job_definition(
        JobDefinitionName=definition,
        DataQualityAppSpecification={"ImageUri": IMAGE},
        DataQualityJobInput={
            "EndpointInput": {"EndpointName": endpoint, "LocalPath": "/opt/ml/processing/input"}
        },
        DataQualityJobOutputConfig={
            "MonitoringOutputs": [
                {"S3Output": {"S3Uri": "s3://artifacts/monitoring", "LocalPath": "/opt/ml/out"}}
            ]
        },
        JobResources={
            "ClusterConfig": {
                "InstanceCount": 1,
                "InstanceType": "ml.m5.large",
                "VolumeSizeInGB": 20,
            }
        },
        RoleArn=ROLE,
        Tags=tags(env),  # type: ignore[arg-type]
    )
    sm.create_monitoring_schedule(
        MonitoringScheduleName=f"{endpoint}-dq",
        MonitoringScheduleConfig={
            "ScheduleConfig": {"ScheduleExpression": "cron(0 0 ? * * *)"},
            "MonitoringJobDefinitionName": definition,
            "MonitoringType": "DataQuality",
        },
        Tags=tags(env),  # type: ignore[arg-type]
    )


def monitoring_left(sm: SageMakerClient) -> set[str]:
    """Names of the schedules and job definitions that exist."""
    return {
        *(s["MonitoringScheduleName"]
          for s in sm.list_monitoring_schedules()["MonitoringScheduleSummaries"]),
        *(d["MonitoringJobDefinitionName"]
          for d in sm.list_data_quality_job_definitions()["JobDefinitionSummaries"]),
    }  # fmt: skip


def moto_sagemaker() -> Any:
    return sagemaker_backends[DEFAULT_ACCOUNT_ID][REGION]


def age_endpoint(name: str, *, since: datetime) -> None:
    """Make an endpoint's last change ``since`` (moto stamps it at creation)."""
    endpoint = moto_sagemaker().endpoints[name]
    endpoint.creation_time = endpoint.last_modified_time = since.astimezone(UTC).replace(
        tzinfo=None
    )


def set_running(name: str, *, since: datetime) -> None:
    """moto completes processing jobs at once; make one run (as in AWS) since ``since``."""
    job = moto_sagemaker().processing_jobs[name]
    job.processing_job_status = "InProgress"
    job.creation_time = since.astimezone(UTC).replace(tzinfo=None)  # moto keeps naive UTC


def create_processing_job(sm: SageMakerClient, name: str, env: str | None) -> None:
    sm.create_processing_job(
        ProcessingJobName=name,
        RoleArn=ROLE,
        AppSpecification={"ImageUri": IMAGE},
        ProcessingResources={
            "ClusterConfig": {
                "InstanceCount": 1,
                "InstanceType": "ml.m5.large",
                "VolumeSizeInGB": 10,
            }
        },
        Tags=tags(env),  # type: ignore[arg-type]
    )


def create_group(sm: SageMakerClient, name: str, env: str | None) -> None:
    sm.create_model_package_group(ModelPackageGroupName=name, Tags=tags(env))  # type: ignore[arg-type]


@dataclass(frozen=True)
class Account:
    clients: Clients
    ours: frozenset[str]  # names of this environment's endpoints (also configs and models)
    theirs: frozenset[str]  # another environment's and untagged look-alikes


def count_serving(clients: Clients, names: frozenset[str]) -> int:
    sm = clients.sagemaker
    endpoints = {e["EndpointName"] for e in sm.list_endpoints(MaxResults=100)["Endpoints"]}
    configs = {
        c["EndpointConfigName"] for c in sm.list_endpoint_configs(MaxResults=100)["EndpointConfigs"]
    }
    models = {m["ModelName"] for m in sm.list_models(MaxResults=100)["Models"]}
    return sum(len(names & found) for found in (endpoints, configs, models))


@pytest.fixture
def account() -> Iterator[Account]:
    with mock_aws():
        clients = make_clients()
        sm = clients.sagemaker
        ours = {f"{resource_prefix(ENV)}-fraud", f"{resource_prefix(ENV)}-fraud-v2"}
        # Names that look like ours but are not tagged as ours must survive.
        theirs = {f"{resource_prefix(OTHER_ENV)}-fraud", f"{resource_prefix(ENV)}-untagged"}
        for name in ours:
            create_serving_stack(sm, name, ENV)
        create_serving_stack(sm, f"{resource_prefix(OTHER_ENV)}-fraud", OTHER_ENV)
        create_serving_stack(sm, f"{resource_prefix(ENV)}-untagged", None)
        for job, env in (("dev-partition", ENV), ("prod-partition", OTHER_ENV), ("dev-x", None)):
            create_processing_job(sm, job, env)
            set_running(job, since=datetime.now(UTC) - timedelta(hours=30))
        create_group(sm, "dev-fraud-detection", ENV)
        create_group(sm, "prod-fraud-detection", OTHER_ENV)
        yield Account(clients=clients, ours=frozenset(ours), theirs=frozenset(theirs))
