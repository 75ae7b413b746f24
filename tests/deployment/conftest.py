"""A moto account with a model package group, plus stand-ins for what moto lacks.

moto covers the registry, models, endpoint configs and CreateEndpoint (CreateModel refuses an
existing name here, as SageMaker does; moto would replace the model). It lacks UpdateEndpoint
and Service Quotas for SageMaker: ``update_endpoint`` is answered by a botocore ``before-call``
hook (the mechanism Stubber uses; botocore has validated the request against the real service
model before it fires) that records the request and switches moto's endpoint to the new
config, as a successful blue/green switch would, or (``Account.slow_updates``) leaves it
``Updating`` with the new config as ``PendingDeploymentSummary``, which an ``after-call``
hook adds to DescribeEndpoint (moto omits it) until ``finish_updates``; Service Quotas is a
botocore ``Stubber``. ``Account.lag_configs`` makes CreateEndpoint refuse a new config for a
few calls, as SageMaker's eventually consistent read may (botocore's CreateEndpoint doc).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.stub import Stubber
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.sagemaker.models import sagemaker_backends

from mlops.constants import model_package_group_name
from mlops.deployment.service import Clients
from mlops.deployment.settings import DeploySettings

REGION = "us-east-1"
GROUP = "fraud-detection"  # the logical group (config key)
ENVIRONMENT = "dev"
PACKAGE_GROUP = model_package_group_name(ENVIRONMENT, GROUP)  # SageMaker's name of it
QUOTA_NAME = "ml.m5.large for endpoint usage"
SUBNETS = ("subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002")
SECURITY_GROUP = "sg-0a1b2c3d4e5f60003"


def settings(**overrides: Any) -> DeploySettings:
    values: dict[str, Any] = {
        "environment": ENVIRONMENT,
        "groups": frozenset({GROUP}),
        "instance_type": "ml.m5.large",
        "instance_count": 1,
        "traffic_shift": "canary",
        "canary_percent": 10,
        "linear_step_percent": 10,
        "bake_minutes": 5,
        "data_capture_percent": 100,
        "data_capture_uri": "s3://artifacts/data-capture",
        "kms_key_arn": f"arn:aws:kms:{REGION}:{DEFAULT_ACCOUNT_ID}:key/1234",
        "execution_role_arn": f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/model",
        "keep_previous_versions": 1,
        "topic_arn": f"arn:aws:sns:{REGION}:{DEFAULT_ACCOUNT_ID}:notifications",
        "subnet_ids": SUBNETS,
        "security_group_ids": (SECURITY_GROUP,),
    }
    values.update(overrides)
    return DeploySettings(**values)


def drift_check_baselines(run: str) -> dict[str, Any]:
    """``DriftCheckBaselines`` as the training pipeline registers them, under ``run``."""

    def file(folder: str, name: str) -> dict[str, str]:
        return {"ContentType": "application/json", "S3Uri": f"{run}/{folder}/{name}"}

    return {
        "ModelDataQuality": {
            "Statistics": file("data-quality-baseline", "statistics.json"),
            "Constraints": file("data-quality-baseline", "constraints.json"),
        },
        "ModelQuality": {
            "Statistics": file("model-quality-baseline", "statistics.json"),
            "Constraints": file("model-quality-baseline", "constraints.json"),
        },
    }


# The deploy function's environment as the Deployment stack sets it (valid values).
DEPLOY_ENVIRONMENT = settings().to_environment()


@dataclass
class Account:
    """One fake AWS account: clients, the registry, the recorded endpoint updates."""

    clients: Clients
    quota_stub: Stubber
    updates: list[dict[str, Any]] = field(default_factory=list)
    topic_arn: str = ""
    queue_url: str = ""
    slow_updates: bool = False  # UpdateEndpoint leaves the endpoint Updating
    pending: dict[str, str] = field(default_factory=dict)  # endpoint -> config being deployed
    lag_configs: int = 0  # CreateEndpoint calls that do not see the new config yet

    @property
    def sagemaker(self) -> Any:
        return self.clients.sagemaker

    def register(self, group: str = PACKAGE_GROUP, *, baselines: str | None = None) -> str:
        """A new version of ``group``, pending approval; returns its ARN. ``baselines``: the
        run folder whose drift baselines it carries (``drift_check_baselines``)."""
        extra = {"DriftCheckBaselines": drift_check_baselines(baselines)} if baselines else {}
        response = self.sagemaker.create_model_package(
            ModelPackageGroupName=group,
            **extra,
            InferenceSpecification={
                "Containers": [
                    {
                        "Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/xgboost:1",
                        "ModelDataUrl": "s3://artifacts/models/model.tar.gz",
                    }
                ],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            ModelApprovalStatus="PendingManualApproval",
        )
        return str(response["ModelPackageArn"])

    def decide(self, arn: str, status: str) -> None:
        self.sagemaker.update_model_package(
            ModelPackageArn=arn, ModelApprovalStatus=status, ApprovalDescription="test"
        )

    def quota(self, value: float, *, times: int = 1) -> None:
        """The next ``times`` quota look-ups find the endpoint quota at ``value``."""
        for _ in range(times):
            self.quota_stub.add_response(
                "list_service_quotas",
                {
                    "Quotas": [
                        {
                            "ServiceCode": "sagemaker",
                            "QuotaCode": "L-ENDPOINT",
                            "QuotaName": QUOTA_NAME,
                            "Value": value,
                            "Adjustable": True,
                        }
                    ]
                },
                {"ServiceCode": "sagemaker"},
            )

    def default_quota(self, value: float) -> None:
        """The next quota look-up finds no applied endpoint quota, and its AWS default at
        ``value`` (a quota nobody raised is not listed among the applied ones)."""
        self.quota_stub.add_response(
            "list_service_quotas", {"Quotas": []}, {"ServiceCode": "sagemaker"}
        )
        self.quota_stub.add_response(
            "list_aws_default_service_quotas",
            {
                "Quotas": [
                    {
                        "ServiceCode": "sagemaker",
                        "QuotaCode": "L-ENDPOINT",
                        "QuotaName": QUOTA_NAME,
                        "Value": value,
                        "Adjustable": True,
                    }
                ]
            },
            {"ServiceCode": "sagemaker"},
        )

    def endpoint(self, name: str) -> dict[str, Any]:
        return dict(self.sagemaker.describe_endpoint(EndpointName=name))

    def served_version(self, name: str) -> int:
        """Version of the package the endpoint's current config serves."""
        config = self.sagemaker.describe_endpoint_config(
            EndpointConfigName=self.endpoint(name)["EndpointConfigName"]
        )
        model = self.sagemaker.describe_model(
            ModelName=config["ProductionVariants"][0]["ModelName"]
        )
        package = self.sagemaker.describe_model_package(
            ModelPackageName=model["PrimaryContainer"]["ModelPackageName"]
        )
        return int(package["ModelPackageVersion"])

    def set_endpoint_status(self, name: str, status: str, reason: str | None = None) -> None:
        endpoint: Any = sagemaker_backends[DEFAULT_ACCOUNT_ID][REGION].endpoints[name]
        endpoint.endpoint_status = status
        endpoint.failure_reason = reason

    def finish_updates(self) -> None:
        """Every update in progress succeeds: the endpoint serves its new config."""
        for name, config in self.pending.items():
            endpoint = sagemaker_backends[DEFAULT_ACCOUNT_ID][REGION].endpoints[name]
            endpoint.endpoint_config_name = config
            endpoint.endpoint_status = "InService"
        self.pending.clear()

    def messages(self) -> list[dict[str, Any]]:
        """SNS notifications, read back through an SQS subscription."""
        sqs = self.clients.sqs
        found = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
        return [json.loads(m["Body"]) for m in found.get("Messages", [])]


@pytest.fixture
def account() -> Iterator[Account]:
    with mock_aws():
        session = boto3.session.Session(region_name=REGION)
        clients = Clients(
            sagemaker=session.client("sagemaker"),
            service_quotas=session.client("service-quotas"),
            sns=session.client("sns"),
            sqs=session.client("sqs"),
        )
        clients.sagemaker.create_model_package_group(ModelPackageGroupName=PACKAGE_GROUP)
        topic_arn = clients.sns.create_topic(Name="notifications")["TopicArn"]
        queue_url = clients.sqs.create_queue(QueueName="inbox")["QueueUrl"]
        queue_arn = clients.sqs.get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        clients.sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
        stub = Stubber(clients.service_quotas)
        created = Account(
            clients=clients, quota_stub=stub, topic_arn=topic_arn, queue_url=queue_url
        )

        def fake_update_endpoint(params: dict[str, Any], **kwargs: Any) -> Any:
            # botocore validated the request against the service model before this event.
            request = json.loads(params["body"])
            created.updates.append(request)
            backend = sagemaker_backends[DEFAULT_ACCOUNT_ID][REGION]
            endpoint = backend.endpoints[request["EndpointName"]]
            created.pending[endpoint.endpoint_name] = request["EndpointConfigName"]
            endpoint.endpoint_status = "Updating"
            if not created.slow_updates:
                created.finish_updates()
            return (AWSResponse("", 200, HTTPHeaders(), None), {"EndpointArn": endpoint.arn})

        def add_pending_deployment(parsed: dict[str, Any], **kwargs: Any) -> None:
            pending = created.pending.get(parsed.get("EndpointName", ""))
            if pending is not None:
                parsed["PendingDeploymentSummary"] = {"EndpointConfigName": pending}

        def lag_new_config(params: dict[str, Any], **kwargs: Any) -> Any:
            if created.lag_configs <= 0:
                return None
            created.lag_configs -= 1
            name = json.loads(params["body"])["EndpointConfigName"]
            error = {
                "Code": "ValidationException",
                "Message": f'Could not find endpoint configuration "arn:aws:sagemaker:{REGION}:'
                f'{DEFAULT_ACCOUNT_ID}:endpoint-config/{name}".',
            }
            return (AWSResponse("", 400, HTTPHeaders(), None), {"Error": error})

        def refuse_existing_model(params: dict[str, Any], **kwargs: Any) -> Any:
            # SageMaker refuses to create a model whose name exists; moto would replace it.
            name = json.loads(params["body"])["ModelName"]
            if name not in sagemaker_backends[DEFAULT_ACCOUNT_ID][REGION]._models:
                return None
            error = {
                "Code": "ValidationException",
                "Message": f"Cannot create already "
                f'existing model "arn:aws:sagemaker:{REGION}:{DEFAULT_ACCOUNT_ID}:model/{name}"',
            }
            return (AWSResponse("", 400, HTTPHeaders(), None), {"Error": error})

        clients.sagemaker.meta.events.register_first(
            "before-call.sagemaker.UpdateEndpoint", fake_update_endpoint
        )
        clients.sagemaker.meta.events.register_first(
            "before-call.sagemaker.CreateModel", refuse_existing_model
        )
        clients.sagemaker.meta.events.register_first(
            "before-call.sagemaker.CreateEndpoint", lag_new_config
        )
        clients.sagemaker.meta.events.register(
            "after-call.sagemaker.DescribeEndpoint", add_pending_deployment
        )
        with stub:
            yield created
