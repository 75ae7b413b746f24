"""The two Lambda entry points: the stack-delete custom resource and the scheduled run."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders

from lambdas.endpoint_cleanup import handler as endpoint_cleanup
from lambdas.teardown import handler as scheduled
from mlops.errors import InputError
from mlops.teardown import custom_resource, endpoints_still_deleting
from mlops.teardown.custom_resource import EndpointCleanupSettings
from mlops.teardown.scheduled import ScheduledSettings, run_scheduled
from tests.teardown.conftest import ENV, Account, age_endpoint, count_serving

EVENT = {
    "RequestType": "Delete",
    "ResponseURL": "https://cloudformation-custom-resource-response.s3.amazonaws.com/x",
    "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/fraud-mlops-dev-deployment/1",
    "RequestId": "req-1",
    "LogicalResourceId": "EndpointCleanupF68DA01E",
    "PhysicalResourceId": "endpoint-cleanup-dev",
    "ResourceType": "Custom::EndpointCleanup",
}
SETTINGS = {
    "MLOPS_ENVIRONMENT": ENV,
    "REPORT_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:notifications",
    "DRY_RUN": "false",
    "ENDPOINT_IDLE_HOURS": "12",
    "JOB_TTL_HOURS": "24",
    "APP_IDLE_HOURS": "6",
}


def ours() -> EndpointCleanupSettings:
    return EndpointCleanupSettings(ENV)


class Responses:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, url: str, body: bytes) -> None:
        self.sent.append((url, json.loads(body)))


def test_delete_removes_our_endpoints_and_answers_success(account: Account) -> None:
    responses = Responses()
    report = custom_resource.handle(
        EVENT, settings=ours, clients=lambda: account.clients, log_stream="s", send=responses
    )
    assert report is not None and report.ok
    assert count_serving(account.clients, account.ours) == 0
    assert count_serving(account.clients, account.theirs) == 6
    ((url, body),) = responses.sent
    assert url == EVENT["ResponseURL"]
    assert body["Status"] == "SUCCESS"
    assert body["PhysicalResourceId"] == "endpoint-cleanup-dev"
    assert (body["RequestId"], body["LogicalResourceId"]) == ("req-1", "EndpointCleanupF68DA01E")


@pytest.mark.parametrize("request_type", ["Create", "Update"])
def test_create_and_update_change_nothing(account: Account, request_type: str) -> None:
    responses = Responses()
    event = {**EVENT, "RequestType": request_type}
    custom_resource.handle(
        event, settings=ours, clients=lambda: account.clients, log_stream="s", send=responses
    )
    assert count_serving(account.clients, account.ours) == 6
    assert responses.sent[0][1]["Status"] == "SUCCESS"


def test_a_crash_still_answers_cloudformation_failed() -> None:
    def broken() -> Any:
        raise RuntimeError("no credentials")

    responses = Responses()
    custom_resource.handle(EVENT, settings=ours, clients=broken, log_stream="s", send=responses)
    body = responses.sent[0][1]
    assert body["Status"] == "FAILED"
    assert body["Reason"].startswith("RuntimeError: no credentials")


def test_missing_environment_answers_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    responses = Responses()
    monkeypatch.delenv("MLOPS_ENVIRONMENT", raising=False)
    monkeypatch.setattr(custom_resource, "_put", responses)
    endpoint_cleanup.handler(EVENT, object())
    assert responses.sent[0][1]["Status"] == "FAILED"
    assert "MLOPS_ENVIRONMENT is not set" in responses.sent[0][1]["Reason"]


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ([], "custom resource event must be an object, got list"),
        ({"RequestType": "Delete"}, "custom resource event lacks ResponseURL, StackId"),
        ({**EVENT, "RequestType": "Drop"}, "RequestType must be one of Create, Update, Delete"),
    ],
)
def test_malformed_custom_resource_event(event: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        endpoint_cleanup.handler(event, object())


def test_only_https_response_urls_are_used() -> None:
    with pytest.raises(InputError, match="ResponseURL must be https"):
        custom_resource._put("http://example.com/x", b"{}")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DRY_RUN", "maybe", "DRY_RUN='maybe' is invalid; allowed: true or false"),
        (
            "JOB_TTL_HOURS",
            "0",
            "JOB_TTL_HOURS='0' is invalid; allowed: a whole number from 1 to 720",
        ),
        (
            "REPORT_TOPIC_ARN",
            "topic",
            "REPORT_TOPIC_ARN='topic' is invalid; allowed: an ARN of sns",
        ),
        ("MLOPS_ENVIRONMENT", "", "environment variable MLOPS_ENVIRONMENT is not set"),
        (
            "MLOPS_ENVIRONMENT",
            "Dev-2",
            "MLOPS_ENVIRONMENT='Dev-2' is invalid; allowed: an environment",
        ),
    ],
)
def test_scheduled_settings_are_validated(name: str, value: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        ScheduledSettings.from_environment({**SETTINGS, name: value})


def test_scheduled_handler_validates_before_any_call(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {**SETTINGS, "DRY_RUN": "yes"}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(InputError, match="DRY_RUN"):
        scheduled.handler({}, object())


def test_scheduled_run_posts_its_report_to_the_topic(account: Account) -> None:
    import boto3

    sns = boto3.client("sns", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    topic = sns.create_topic(Name="notifications")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"])
    now = datetime.now(UTC)
    for name in account.ours:
        age_endpoint(name, since=now - timedelta(days=2))
    settings = ScheduledSettings.from_environment({**SETTINGS, "REPORT_TOPIC_ARN": topic})

    result = run_scheduled({"dry_run": True}, settings, account.clients, sns, now=now)

    assert result["ok"] is True
    assert result["summary"].startswith("dry run of dev: 0 done, 3 planned")
    assert count_serving(account.clients, account.ours) == 6  # the override made it a dry run
    (message,) = sqs.receive_message(QueueUrl=queue_url)["Messages"]
    body = json.loads(message["Body"])
    assert body["Subject"] == "[OK] scheduled clean-up of dev"
    assert "mlops-dev-fraud-v2" in body["Message"]


def test_scheduled_event_override_must_be_boolean(account: Account) -> None:
    settings = ScheduledSettings.from_environment(SETTINGS)
    with pytest.raises(InputError, match=r"event\.dry_run must be true or false"):
        run_scheduled({"dry_run": "yes"}, settings, account.clients, None)  # type: ignore[arg-type]


class LingeringEndpoints:
    """SageMaker deletes endpoints asynchronously; moto deletes them at once. This answers
    DescribeEndpoint with `Deleting` for the first ``polls`` calls per endpoint, as AWS would."""

    def __init__(self, polls: int) -> None:
        self.polls = polls
        self.seen: dict[str, int] = {}

    def __call__(self, params: dict[str, Any], **kwargs: Any) -> Any:
        name = json.loads(params["body"])["EndpointName"]
        self.seen[name] = self.seen.get(name, 0) + 1
        if self.seen[name] > self.polls:
            return None  # moto answers: the endpoint is gone
        body = {"EndpointName": name, "EndpointStatus": "Deleting"}
        return (AWSResponse("", 200, HTTPHeaders(), None), body)


def test_delete_waits_until_deleted_endpoints_are_gone(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    lingering = LingeringEndpoints(polls=2)
    account.clients.sagemaker.meta.events.register_first(
        "before-call.sagemaker.DescribeEndpoint", lingering
    )
    naps: list[float] = []
    monkeypatch.setattr(time, "sleep", naps.append)
    responses = Responses()
    custom_resource.handle(
        EVENT,
        settings=ours,
        clients=lambda: account.clients,
        log_stream="s",
        wait_seconds=300,
        send=responses,
    )
    assert responses.sent[0][1]["Status"] == "SUCCESS"
    assert set(lingering.seen) == set(account.ours)  # only ours are waited for
    assert all(count == 3 for count in lingering.seen.values())  # 2x Deleting, then gone
    assert naps == [15, 15]


def test_delete_answers_failed_when_endpoints_outlast_the_wait(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    account.clients.sagemaker.meta.events.register_first(
        "before-call.sagemaker.DescribeEndpoint", LingeringEndpoints(polls=1000)
    )
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    responses = Responses()
    custom_resource.handle(
        EVENT,
        settings=ours,
        clients=lambda: account.clients,
        log_stream="s",
        wait_seconds=0,
        send=responses,
    )
    body = responses.sent[0][1]
    assert body["Status"] == "FAILED"
    assert "still deleting after 0 s: " in body["Reason"]
    assert all(name in body["Reason"] for name in account.ours)
    assert "run cdk destroy again" in body["Reason"]
    assert count_serving(account.clients, account.ours) == 0  # the deletes did happen


def test_handler_waits_for_the_time_the_function_has_left(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Context:
        log_stream_name = "stream"

        def get_remaining_time_in_millis(self) -> int:
            return 10 * 60 * 1000

    waited: list[float] = []

    def spy(clients: Any, names: Any, *, timeout_seconds: float) -> list[str]:
        waited.append(timeout_seconds)
        return endpoints_still_deleting(clients, names, timeout_seconds=timeout_seconds)

    monkeypatch.setenv("MLOPS_ENVIRONMENT", ENV)
    monkeypatch.setattr(custom_resource, "endpoints_still_deleting", spy)
    monkeypatch.setattr(custom_resource, "_put", lambda url, body: None)
    endpoint_cleanup.handler(EVENT, Context())
    assert waited == [600 - endpoint_cleanup.ANSWER_MARGIN_SECONDS]
    assert count_serving(account.clients, account.ours) == 0
