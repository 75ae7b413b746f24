"""The deploy Lambda as it ships: its staged code and layer, the template's environment, AWS.

Each test runs the handler of the synthesized ``dev`` assembly in a subprocess
(``tests.shipped.lambdas.invoke``) against the moto server. What the test creates in moto
(the notification topic) is pinned into the template's environment; the group, endpoint and
alarm names come from that environment, read with the same contract the handler uses. moto
lacks UpdateEndpoint and Service Quotas for SageMaker: both are ``Stub``s, validated against
the service model; its monitoring schedules are added to moto for every test
(tests/shipped/sagemaker_monitoring.py). Every call goes into the least-privilege proof
(``"deploy"``, and ``"endpoint_cleanup"`` for the destroy hook of the monitoring scenario).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from mlops.deployment import names
from mlops.deployment.settings import ENV_TRAFFIC_SHIFT, DeploySettings
from mlops.monitoring import names as monitoring_names
from tests.deployment.conftest import drift_check_baselines
from tests.deployment.events import batch, package_event, sqs_record
from tests.shipped.assembly import Assembly, PhysicalValues, ShippedFunction
from tests.shipped.fixtures import MotoServer, ResponseUrl
from tests.shipped.lambdas import Invocation, Stub, invoke, lambda_environment
from tests.synth import Synthesized
from tests.teardown.test_shipped_endpoint_cleanup import request as cleanup_request

MODEL_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/xgboost:1"


@dataclass
class Shipped:
    """The shipped deploy function, its environment as the template sets it, and moto."""

    assembly: Assembly
    function: ShippedFunction
    moto: MotoServer
    values: PhysicalValues
    settings: DeploySettings  # what the handler will read from the template's environment
    inbox_url: str  # an SQS queue subscribed to the notification topic

    @property
    def group(self) -> str:
        (group,) = self.settings.groups
        return group

    @property
    def package_group(self) -> str:
        (name,) = self.settings.package_groups
        return name

    @property
    def endpoint(self) -> str:
        return names.endpoint_name(self.settings.environment, self.group)

    def register(self, status: str, *, run: str | None = None) -> str:
        """A version decided ``status``; it carries the drift baselines of pipeline run
        ``run`` (default: one run per version), as the training pipeline registers them."""
        sagemaker = self.moto.client("sagemaker")
        versions = sagemaker.list_model_packages(ModelPackageGroupName=self.package_group)
        run = run or f"run-{len(versions['ModelPackageSummaryList']) + 1}"
        arn = sagemaker.create_model_package(
            ModelPackageGroupName=self.package_group,
            DriftCheckBaselines=drift_check_baselines(f"s3://artifacts/pipelines/dev/{run}"),
            InferenceSpecification={
                "Containers": [{"Image": MODEL_IMAGE, "ModelDataUrl": "s3://a/models/m.tar.gz"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            ModelApprovalStatus="PendingManualApproval",
        )["ModelPackageArn"]
        sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus=status)
        return str(arn)

    def quota(self, value: float) -> Stub:
        """Service Quotas' answer: the endpoint quota of the configured instance type."""
        quota = {
            "ServiceCode": "sagemaker",
            "QuotaCode": "L-ENDPOINT",
            "QuotaName": f"{self.settings.instance_type} for endpoint usage",
            "Value": value,
            "Adjustable": True,
        }
        return Stub("service-quotas", "ListServiceQuotas", {"Quotas": [quota]})

    def run(self, event: Any, *stubs: Stub, **overrides: str | None) -> Invocation:
        return invoke(
            self.assembly,
            self.function,
            event,
            endpoint_url=self.moto.endpoint_url,
            values=self.values,
            environment_overrides=overrides,
            stubs=stubs,
            least_privilege_key="deploy",
        )

    def notifications(self) -> list[str]:
        sqs = self.moto.client("sqs")
        received = sqs.receive_message(QueueUrl=self.inbox_url, MaxNumberOfMessages=10)
        return [json.loads(m["Body"])["Subject"] for m in received.get("Messages", [])]


@pytest.fixture
def shipped(dev: Synthesized, moto_server: MotoServer) -> Shipped:
    assembly = dev.assembly
    function = assembly.function("deployment", "ApprovalsDeploy")
    sns, sqs = moto_server.client("sns"), moto_server.client("sqs")
    topic = sns.create_topic(Name="notifications")["TopicArn"]
    inbox = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn["Attributes"]["QueueArn"])
    values = PhysicalValues(pinned={f"data.{assembly.only('data', 'AWS::SNS::Topic')}": topic})
    settings = DeploySettings.from_environment(
        lambda_environment(assembly, function, values=values)
    )
    created = Shipped(assembly, function, moto_server, values, settings, inbox)
    moto_server.client("sagemaker").create_model_package_group(
        ModelPackageGroupName=created.package_group
    )
    return created


def _queued(shipped: Shipped, body: str) -> dict[str, Any]:
    """``body`` put on a FIFO queue and received from it, as Lambda's poller hands it over."""
    sqs = shipped.moto.client("sqs")
    url = sqs.create_queue(
        QueueName="deploy.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=shipped.group)
    (message,) = sqs.receive_message(QueueUrl=url, VisibilityTimeout=300)["Messages"]
    record = sqs_record(body)  # its eventSourceARN names deploy.fifo of this account
    return {**record, "messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"]}


def test_approval_creates_the_endpoint_then_a_new_approval_switches_it(
    shipped: Shipped,
) -> None:
    v1 = shipped.register("Approved")

    created = shipped.run(batch(sqs_record(package_event(v1, "Approved"))), shipped.quota(4))

    assert created.returned() == {"batchItemFailures": []}
    sagemaker = shipped.moto.client("sagemaker")
    endpoint = sagemaker.describe_endpoint(EndpointName=shipped.endpoint)
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    assert model["PrimaryContainer"]["ModelPackageName"] == v1
    assert model["VpcConfig"] == shipped.settings.vpc_config
    operations = created.operations  # announced as soon as the endpoint is being created
    assert operations.index("sns:Publish") == operations.index("sagemaker:CreateEndpoint") + 1

    v2 = shipped.register("Approved")
    arn = f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{shipped.endpoint}"
    update = Stub(
        "sagemaker",
        "UpdateEndpoint",
        {"EndpointArn": arn},
        expected_params={
            "EndpointName": shipped.endpoint,
            "DeploymentConfig": {
                "BlueGreenUpdatePolicy": {
                    "TrafficRoutingConfiguration": {
                        "Type": "ALL_AT_ONCE",  # dev's traffic_shift
                        "WaitIntervalInSeconds": 600,
                    },
                    "TerminationWaitInSeconds": 600,
                    "MaximumExecutionTimeoutInSeconds": 2 * 600 + 1800,
                },
                "AutoRollbackConfiguration": {
                    "Alarms": [
                        {"AlarmName": name}
                        for name in names.rollback_alarm_names("dev", shipped.group)
                    ]
                },
            },
        },
    )

    switched = shipped.run(
        batch(sqs_record(package_event(v2, "Approved"))), shipped.quota(4), update
    )

    assert switched.returned() == {"batchItemFailures": []}
    assert "sagemaker:UpdateEndpoint" in switched.operations
    assert shipped.notifications() == [
        f"Deployment created: {shipped.group}",
        f"Deployment updated: {shipped.group}",
    ]


def test_a_malformed_record_is_reported_failed_with_its_reason_and_blocks_nothing(
    shipped: Shipped,
) -> None:
    v1 = shipped.register("Approved")
    malformed = _queued(shipped, "{not json")

    invocation = shipped.run(
        batch(malformed, sqs_record(package_event(v1, "Approved"))), shipped.quota(4)
    )

    assert invocation.returned() == {
        "batchItemFailures": [{"itemIdentifier": malformed["messageId"]}]
    }
    assert f"refused message {malformed['messageId']}" in invocation.stderr
    assert "message body is not JSON" in invocation.stderr
    # Visible again at once: SQS redelivers it until maxReceiveCount moves it to the DLQ.
    sqs = shipped.moto.client("sqs")
    url = sqs.get_queue_url(QueueName="deploy.fifo")["QueueUrl"]
    assert len(sqs.receive_message(QueueUrl=url).get("Messages", [])) == 1
    # The approval after it was deployed.
    assert shipped.notifications() == [f"Deployment created: {shipped.group}"]


def test_a_bad_environment_fails_the_invocation_naming_the_variable(shipped: Shipped) -> None:
    invocation = shipped.run(batch(), **{ENV_TRAFFIC_SHIFT: "sideways"})

    assert invocation.raised() == (
        f"InputError: environment variable {ENV_TRAFFIC_SHIFT}='sideways' is invalid; "
        "allowed: all_at_once, canary, linear"
    )


def _update(shipped: Shipped) -> Stub:
    arn = f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{shipped.endpoint}"
    return Stub("sagemaker", "UpdateEndpoint", {"EndpointArn": arn})


def _bound_to(shipped: Shipped) -> dict[str, dict[str, Any]]:
    """Each schedule's job definition, as SageMaker describes it."""
    sagemaker = shipped.moto.client("sagemaker")
    found: dict[str, dict[str, Any]] = {}
    for monitor in monitoring_names.MONITOR_TYPES:
        name = monitoring_names.schedule_name("dev", shipped.group, monitor)
        schedule = sagemaker.describe_monitoring_schedule(MonitoringScheduleName=name)
        definition = schedule["MonitoringScheduleConfig"]["MonitoringJobDefinitionName"]
        describe = (
            sagemaker.describe_data_quality_job_definition
            if monitor == "DataQuality"
            else sagemaker.describe_model_quality_job_definition
        )
        found[monitor] = dict(describe(JobDefinitionName=definition))
    return found


def test_monitoring_follows_each_approval_and_goes_first_when_the_stack_is_destroyed(
    shipped: Shipped, dev: Synthesized, response_url: ResponseUrl
) -> None:
    """Issue 14: approve v1 -> schedules bound to v1's baselines; approve v2 -> they switch to
    v2's; the destroy hook removes the schedules before the endpoint (the stand-in refuses an
    endpoint that schedules still watch), then the job definitions."""
    v1 = shipped.register("Approved")
    assert shipped.run(
        batch(sqs_record(package_event(v1, "Approved"))), shipped.quota(4)
    ).returned() == {"batchItemFailures": []}
    bound = _bound_to(shipped)
    assert "/run-1/data-quality-baseline/" in json.dumps(bound["DataQuality"], default=str)
    assert "/run-1/model-quality-baseline/" in json.dumps(bound["ModelQuality"], default=str)
    # What the template gave the function: the monitoring role, the region's image, the key.
    assembly, values = shipped.assembly, shipped.values
    template = assembly.templates["deployment"]["Resources"]
    (role,) = [k for k, r in template.items()
               if k.startswith("MonitoringRole") and r["Type"] == "AWS::IAM::Role"]  # fmt: skip
    role_arn = assembly.resolve("deployment", {"Fn::GetAtt": [role, "Arn"]}, values)
    for definition in bound.values():
        assert definition["RoleArn"] == role_arn
        assert definition["JobResources"]["ClusterConfig"]["VolumeKmsKeyId"] == (
            shipped.settings.kms_key_arn
        )
        assert definition["NetworkConfig"]["VpcConfig"]["Subnets"] == list(
            shipped.settings.subnet_ids
        )
    app = bound["DataQuality"]["DataQualityAppSpecification"]
    assert app["ImageUri"].startswith("156813124566.dkr.ecr.us-east-1.amazonaws.com/")
    assert (
        bound["ModelQuality"]["ModelQualityJobInput"]["EndpointInput"]["InferenceAttribute"] == "0"
    )

    v2 = shipped.register("Approved")
    switched = shipped.run(
        batch(sqs_record(package_event(v2, "Approved"))), shipped.quota(4), _update(shipped)
    )
    assert switched.returned() == {"batchItemFailures": []}
    bound = _bound_to(shipped)
    assert "/run-2/" in json.dumps(bound["DataQuality"], default=str)
    assert "/run-2/" in json.dumps(bound["ModelQuality"], default=str)
    sagemaker = shipped.moto.client("sagemaker")
    definitions = [
        d["MonitoringJobDefinitionName"]
        for listing in (
            sagemaker.list_data_quality_job_definitions(),
            sagemaker.list_model_quality_job_definitions(),
        )
        for d in listing["JobDefinitionSummaries"]
    ]
    assert sorted(d.split("-")[-3] for d in definitions) == ["v2", "v2"]  # v1's pruned

    cleanup = assembly.function("deployment", "EndpointCleanup")
    destroyed = invoke(
        assembly,
        cleanup,
        cleanup_request(assembly, response_url, "Delete"),
        endpoint_url=shipped.moto.endpoint_url,
        trusted_ca_file=response_url.ca_file,
        least_privilege_key="endpoint_cleanup",
    )
    assert destroyed.returned() is None
    assert response_url.answer()["Status"] == "SUCCESS", response_url.answer()["Reason"]
    deletes = [op for op in destroyed.operations if ":Delete" in op]
    assert deletes.index("sagemaker:DeleteEndpoint") > max(
        i for i, op in enumerate(deletes) if op == "sagemaker:DeleteMonitoringSchedule"
    )
    assert sagemaker.list_monitoring_schedules()["MonitoringScheduleSummaries"] == []
    assert sagemaker.list_data_quality_job_definitions()["JobDefinitionSummaries"] == []
    assert sagemaker.list_model_quality_job_definitions()["JobDefinitionSummaries"] == []
    assert sagemaker.list_endpoints()["Endpoints"] == []
