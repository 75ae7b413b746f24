"""A moto account for monitoring, plus a stand-in for the schedule APIs moto lacks.

moto 5.2.5 has the job definitions (Create/Describe/List/Delete{DataQuality,ModelQuality}
JobDefinition), tags, model packages, S3 and CloudWatch alarms. It has no monitoring schedules
or executions: Create/Describe/Update/Start/Delete/ListMonitoringSchedule(s) and
ListMonitoringExecutions are answered by :class:`Schedules`, a botocore ``before-call`` hook (the
mechanism Stubber uses). Every request of the SageMaker client is checked against the service
model first (``tests.service_model.checked``: patterns, enums, lengths), and every answer of the
stand-in against the operation's output shape. The stand-in keeps SageMaker's rules that the
logic depends on: a schedule names an existing job definition of its type and an existing
endpoint; names are unique; a Pending schedule can be neither updated nor deleted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.validate import ParamValidator
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.sagemaker.models import sagemaker_backends

from mlops.monitoring.settings import MonitoringSettings
from mlops.registry import ModelVersion, describe_version
from tests.service_model import Requests, checked

REGION = "us-east-1"
ENVIRONMENT = "dev"
GROUP = "fraud-detection"
ENDPOINT = "mlops-dev-fraud-detection"
ARTIFACTS = "mlops-dev-artifacts"
ROLE = f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/monitoring"
KEY = f"arn:aws:kms:{REGION}:{DEFAULT_ACCOUNT_ID}:key/1234"
IMAGE = "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"
SCHEDULE_OPERATIONS = (
    "CreateMonitoringSchedule",
    "DescribeMonitoringSchedule",
    "UpdateMonitoringSchedule",
    "StartMonitoringSchedule",
    "StopMonitoringSchedule",
    "DeleteMonitoringSchedule",
    "ListMonitoringSchedules",
    "ListMonitoringExecutions",
)


def settings(**overrides: Any) -> MonitoringSettings:
    values: dict[str, Any] = {
        "environment": ENVIRONMENT,
        "enabled": True,
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


class ServiceError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Schedules:
    """The monitoring-schedule half of SageMaker, as far as the logic relies on it."""

    schedules: dict[str, dict[str, Any]] = field(default_factory=dict)
    executions: list[dict[str, Any]] = field(default_factory=list)

    def _definition_exists(self, name: str, monitor: str) -> bool:
        store = (
            _backend().data_quality_job_definitions
            if monitor == "DataQuality"
            else _backend().model_quality_job_definitions
        )
        return name in store

    def _endpoint_of(self, definition: str, monitor: str) -> str:
        store = (
            _backend().data_quality_job_definitions
            if monitor == "DataQuality"
            else _backend().model_quality_job_definitions
        )
        job = store[definition]
        job_input = (
            job.data_quality_job_input if monitor == "DataQuality" else job.model_quality_job_input
        )
        return str(job_input["EndpointInput"]["EndpointName"])

    def _check_config(self, config: dict[str, Any]) -> str:
        name, monitor = config["MonitoringJobDefinitionName"], config["MonitoringType"]
        if not self._definition_exists(name, monitor):
            raise ServiceError("ValidationException", f"Job definition {name} does not exist")
        endpoint = self._endpoint_of(name, monitor)
        if endpoint not in _backend().endpoints:
            raise ServiceError("ValidationException", f"Could not find endpoint {endpoint}")
        return endpoint

    def _get(self, name: str) -> dict[str, Any]:
        if name not in self.schedules:
            raise ServiceError("ResourceNotFound", f"Monitoring schedule {name} not found")
        return self.schedules[name]

    def _editable(self, schedule: dict[str, Any]) -> None:
        if schedule["MonitoringScheduleStatus"] == "Pending":
            raise ServiceError("ValidationException", "Monitoring schedule in status Pending")

    def answer(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        now = datetime.now(UTC)
        if operation == "CreateMonitoringSchedule":
            name = request["MonitoringScheduleName"]
            if name in self.schedules:
                raise ServiceError("ResourceInUse", f"Monitoring schedule {name} exists")
            endpoint = self._check_config(request["MonitoringScheduleConfig"])
            arn = f"arn:aws:sagemaker:{REGION}:{DEFAULT_ACCOUNT_ID}:monitoring-schedule/{name}"
            self.schedules[name] = {
                "MonitoringScheduleArn": arn,
                "MonitoringScheduleName": name,
                "MonitoringScheduleStatus": "Scheduled",
                "MonitoringType": request["MonitoringScheduleConfig"]["MonitoringType"],
                "CreationTime": now,
                "LastModifiedTime": now,
                "MonitoringScheduleConfig": request["MonitoringScheduleConfig"],
                "EndpointName": endpoint,
                "Tags": request.get("Tags", []),
            }
            return {"MonitoringScheduleArn": arn}
        if operation == "DescribeMonitoringSchedule":
            schedule = self._get(request["MonitoringScheduleName"])
            return {k: v for k, v in schedule.items() if k != "Tags"}
        if operation == "UpdateMonitoringSchedule":
            schedule = self._get(request["MonitoringScheduleName"])
            self._editable(schedule)
            self._check_config(request["MonitoringScheduleConfig"])
            schedule["MonitoringScheduleConfig"] = request["MonitoringScheduleConfig"]
            schedule["LastModifiedTime"] = now
            return {"MonitoringScheduleArn": schedule["MonitoringScheduleArn"]}
        if operation in ("StartMonitoringSchedule", "StopMonitoringSchedule"):
            schedule = self._get(request["MonitoringScheduleName"])
            started = operation == "StartMonitoringSchedule"
            schedule["MonitoringScheduleStatus"] = "Scheduled" if started else "Stopped"
            return {}
        if operation == "DeleteMonitoringSchedule":
            schedule = self._get(request["MonitoringScheduleName"])
            self._editable(schedule)
            del self.schedules[request["MonitoringScheduleName"]]
            return {}
        if operation == "ListMonitoringSchedules":
            found = [
                s
                for s in self.schedules.values()
                if request.get("EndpointName") in (None, s["EndpointName"])
                and request.get("MonitoringJobDefinitionName")
                in (None, s["MonitoringScheduleConfig"]["MonitoringJobDefinitionName"])
            ]
            return {
                "MonitoringScheduleSummaries": [
                    {
                        "MonitoringScheduleName": s["MonitoringScheduleName"],
                        "MonitoringScheduleArn": s["MonitoringScheduleArn"],
                        "CreationTime": s["CreationTime"],
                        "LastModifiedTime": s["LastModifiedTime"],
                        "MonitoringScheduleStatus": s["MonitoringScheduleStatus"],
                        "EndpointName": s["EndpointName"],
                        "MonitoringJobDefinitionName": s["MonitoringScheduleConfig"][
                            "MonitoringJobDefinitionName"
                        ],
                        "MonitoringType": s["MonitoringType"],
                    }
                    for s in sorted(found, key=lambda s: s["MonitoringScheduleName"])
                ]
            }
        if operation == "ListMonitoringExecutions":
            runs = [
                run
                for run in self.executions
                if run["MonitoringScheduleName"] == request["MonitoringScheduleName"]
            ]
            runs.sort(key=lambda run: run["ScheduledTime"], reverse=True)
            return {"MonitoringExecutionSummaries": runs[: request.get("MaxResults", 10)]}
        raise AssertionError(f"unexpected {operation}")

    def hook(self, params: dict[str, Any], model: Any, **_: Any) -> Any:
        request = json.loads(params["body"]) if params.get("body") else {}
        try:
            response = self.answer(model.name, request)
        except ServiceError as error:
            parsed = {"Error": {"Code": error.code, "Message": str(error)}}
            return AWSResponse("", 400, HTTPHeaders(), None), parsed
        if model.output_shape is not None:
            report = ParamValidator().validate(response, model.output_shape)
            assert not report.has_errors(), report.generate_report()
        else:
            assert response == {}
        return AWSResponse("", 200, HTTPHeaders(), None), response

    def install(self, events: Any) -> None:
        """Answer the schedule operations of every client of a botocore session's events."""
        for operation in SCHEDULE_OPERATIONS:
            events.register(f"before-call.sagemaker.{operation}", self.hook)


@dataclass
class Account:
    sagemaker: Any
    s3: Any
    cloudwatch: Any
    schedules: Schedules
    requests: Requests

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
            ModelPackageGroupName=GROUP,
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
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[Account]:
    fake = Schedules()
    # Sessions the code under test creates (the CLI) get the stand-in too.
    original_init = botocore.session.Session.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        fake.install(self)

    monkeypatch.setattr(botocore.session.Session, "__init__", init)
    with mock_aws():
        session = boto3.session.Session(region_name=REGION)
        sagemaker = session.client("sagemaker")
        s3 = session.client("s3")
        sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
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
            yield Account(sagemaker, s3, session.client("cloudwatch"), fake, requests)
