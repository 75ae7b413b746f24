"""SQS batches: bad records are isolated, failures are reported per record, FIFO order kept."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.sqs.models import sqs_backends

from mlops.deployment import names
from mlops.deployment.service import process_batch, retry_delay_seconds
from mlops.errors import InputError
from tests.deployment.conftest import (
    ENVIRONMENT,
    GROUP,
    QUOTA_NAME,
    REGION,
    Account,
    settings,
)
from tests.deployment.events import batch, package_event, sqs_record

ENDPOINT = names.endpoint_name(ENVIRONMENT, GROUP)


BAD_BODIES = [
    "not json",
    "[1, 2]",
    {"source": "aws.sagemaker", "detail-type": "SageMaker Endpoint State Change"},
    {"source": "aws.sagemaker", "detail-type": "SageMaker Model Package State Change"},
    # Another environment's group (the unprefixed name is no group of this environment).
    package_event(
        "arn:aws:sagemaker:us-east-1:1:model-package/fraud-detection/1",
        "Approved",
        group="fraud-detection",
    ),
    # A version of another group than the event names.
    package_event("arn:aws:sagemaker:us-east-1:1:model-package/other/1", "Approved"),
    package_event(
        "arn:aws:sagemaker:us-east-1:1:model-package/mlops-prod-fraud-detection/1",
        "Approved",
        group="mlops-prod-fraud-detection",
    ),
]


@pytest.mark.parametrize("body", BAD_BODIES)
def test_bad_record_goes_to_the_dead_letter_queue_and_never_blocks_the_good_one(
    account: Account, body: Any, caplog: pytest.LogCaptureFixture
) -> None:
    v1 = account.register()
    account.decide(v1, "Approved")
    account.quota(4)
    bad = _delivered(account, body, receive_count=1)

    result = process_batch(
        batch(bad, sqs_record(package_event(v1, "Approved"))), settings(), account.clients
    )

    # Reported failed (SQS moves it to the DLQ after maxReceiveCount deliveries) ...
    assert result == {"batchItemFailures": [{"itemIdentifier": bad["messageId"]}]}
    (refusal,) = [r for r in caplog.records if r.levelname == "ERROR"]
    assert bad["messageId"] in refusal.getMessage()
    assert getattr(refusal, "reason", "")  # the one line saying what is wrong
    # ... made visible again at once, so it reaches the DLQ in seconds ...
    name = bad["eventSourceARN"].rsplit(":", 1)[-1]
    (message,) = sqs_backends[DEFAULT_ACCOUNT_ID][REGION].queues[name]._messages
    assert message.visible_at / 1000 <= time.time()
    # ... and the good record after it was deployed.
    assert account.served_version(ENDPOINT) == 1


def test_duplicate_delivery_deploys_once_and_notifies_once(account: Account) -> None:
    v1 = account.register()
    account.decide(v1, "Approved")
    account.quota(4)
    event = package_event(v1, "Approved")

    for _ in range(2):
        assert process_batch(batch(sqs_record(event)), settings(), account.clients) == {
            "batchItemFailures": []
        }

    assert len(account.sagemaker.list_endpoints()["Endpoints"]) == 1
    subjects = [m["Subject"] for m in account.messages()]
    assert subjects == [f"Deployment created: {GROUP}"]


def test_an_endpoint_needing_a_person_is_notified_once_per_event_and_never_retried(
    account: Account,
) -> None:
    v1, v2 = account.register(), account.register()
    account.decide(v1, "Approved")
    account.quota(4)
    process_batch(batch(sqs_record(package_event(v1, "Approved"))), settings(), account.clients)
    account.set_endpoint_status(ENDPOINT, "UpdateRollbackFailed")
    account.decide(v2, "Approved")

    result = process_batch(
        batch(sqs_record(package_event(v2, "Approved"))), settings(), account.clients
    )

    assert result == {"batchItemFailures": []}  # no retry, no dead-letter queue
    subjects = [m["Subject"] for m in account.messages()]
    assert subjects == [f"Deployment created: {GROUP}", f"Endpoint needs attention: {GROUP}"]
    assert account.updates == []


def test_busy_endpoint_fails_the_record_and_every_later_one(account: Account) -> None:
    v1, v2 = account.register(), account.register()
    account.decide(v1, "Approved")
    account.quota(4)
    process_batch(batch(sqs_record(package_event(v1, "Approved"))), settings(), account.clients)
    account.set_endpoint_status(ENDPOINT, "Updating")
    account.decide(v2, "Approved")
    first, second = sqs_record(package_event(v2, "Approved")), sqs_record("garbage")

    result = process_batch(batch(first, second), settings(), account.clients)

    assert result == {
        "batchItemFailures": [
            {"itemIdentifier": first["messageId"]},
            {"itemIdentifier": second["messageId"]},
        ]
    }


def test_quota_short_fails_the_record_and_notifies_on_first_delivery(account: Account) -> None:
    v1 = account.register()
    account.decide(v1, "Approved")
    account.quota(0, times=2)
    record = sqs_record(package_event(v1, "Approved"))
    retry = sqs_record(package_event(v1, "Approved"), receive_count=2)

    assert process_batch(batch(record), settings(), account.clients)["batchItemFailures"]
    assert process_batch(batch(retry), settings(), account.clients)["batchItemFailures"]

    (message,) = account.messages()
    assert message["Subject"] == f"Deployment blocked: {GROUP}"
    assert "ml.m5.large for endpoint usage" in message["Message"]
    assert account.sagemaker.list_models()["Models"] == []


def test_failed_endpoint_is_deleted_then_recreated_serving_the_wanted_version(
    account: Account,
) -> None:
    v1, v2 = account.register(), account.register()
    account.decide(v1, "Approved")
    account.quota(4, times=2)
    process_batch(batch(sqs_record(package_event(v1, "Approved"))), settings(), account.clients)
    account.set_endpoint_status(ENDPOINT, "Failed")  # e.g. a bad update left it Failed
    account.decide(v2, "Approved")
    event = package_event(v2, "Approved")

    first = process_batch(batch(sqs_record(event)), settings(), account.clients)

    assert first["batchItemFailures"]  # retried: the endpoint cannot be updated, only deleted
    assert account.sagemaker.list_endpoints()["Endpoints"] == []

    retry = process_batch(batch(sqs_record(event, receive_count=2)), settings(), account.clients)

    assert retry == {"batchItemFailures": []}
    assert account.endpoint(ENDPOINT)["EndpointStatus"] != "Failed"
    assert account.served_version(ENDPOINT) == 2
    assert account.updates == []  # created again, not updated
    subjects = [m["Subject"] for m in account.messages()]
    assert subjects.count(f"Deployment created: {GROUP}") == 2


def _delivered(account: Account, event: Any, *, receive_count: int) -> dict[str, Any]:
    """``event`` sent to a FIFO queue named like the record's source and received from it, so
    the record carries a receipt handle SQS knows (as the Lambda's poller hands it over)."""
    sqs = account.clients.sqs
    record = sqs_record(event, receive_count=receive_count)
    name = record["eventSourceARN"].rsplit(":", 1)[-1]
    url = sqs.create_queue(
        QueueName=name, Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    body = event if isinstance(event, str) else json.dumps(event)
    sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=GROUP)
    (message,) = sqs.receive_message(QueueUrl=url, VisibilityTimeout=30)["Messages"]
    return {**record, "receiptHandle": message["ReceiptHandle"]}


@pytest.mark.parametrize(("receive_count", "delay"), [(1, 120), (3, 480), (6, 900)])
def test_busy_endpoint_message_stays_invisible_for_the_backed_off_delay(
    account: Account, receive_count: int, delay: int
) -> None:
    v1, v2 = account.register(), account.register()
    account.decide(v1, "Approved")
    account.quota(4)
    process_batch(batch(sqs_record(package_event(v1, "Approved"))), settings(), account.clients)
    account.set_endpoint_status(ENDPOINT, "Updating")
    account.decide(v2, "Approved")
    record = _delivered(account, package_event(v2, "Approved"), receive_count=receive_count)

    before = time.time()
    result = process_batch(batch(record), settings(), account.clients)
    after = time.time()

    assert result == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    name = record["eventSourceARN"].rsplit(":", 1)[-1]
    (message,) = sqs_backends[DEFAULT_ACCOUNT_ID][REGION].queues[name]._messages
    # Visible again `delay` seconds after the handler ran, not after the 30 s it was received
    # with (nor the queue's 12-minute visibility timeout).
    assert before + delay <= message.visible_at / 1000 <= after + delay
    assert account.served_version(ENDPOINT) == 1


@pytest.mark.parametrize(("default", "deployed"), [(2, True), (0, False)])
def test_without_an_applied_quota_the_aws_default_decides(
    account: Account, default: float, deployed: bool
) -> None:
    v1 = account.register()
    account.decide(v1, "Approved")
    account.default_quota(default)  # nobody raised it: only the AWS default is listed

    result = process_batch(
        batch(sqs_record(package_event(v1, "Approved"))), settings(), account.clients
    )

    (message,) = account.messages()
    if deployed:
        assert result == {"batchItemFailures": []}
        assert account.served_version(ENDPOINT) == 1
        assert message["Subject"] == f"Deployment created: {GROUP}"
    else:
        assert result["batchItemFailures"]
        assert account.sagemaker.list_endpoints()["Endpoints"] == []
        assert message["Subject"] == f"Deployment blocked: {GROUP}"
        assert f"'{QUOTA_NAME}' is 0, 0 in use, 1 more needed" in message["Message"]


def test_retry_delay_backs_off_exponentially_up_to_a_cap() -> None:
    assert [retry_delay_seconds(n) for n in (1, 2, 3, 4, 5, 9)] == [120, 240, 480, 900, 900, 900]


def test_event_without_records_is_refused(account: Account) -> None:
    with pytest.raises(InputError, match="not an SQS batch"):
        process_batch({"detail": {}}, settings(), account.clients)
