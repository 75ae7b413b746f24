"""One SQS batch of approval events -> deployments, with partial batch failure reporting.

Per record:

* malformed, wrong detail-type, unknown group -> logged at ERROR with the reason, reported
  failed and made visible again at once: SQS redelivers it right away, and after
  ``maxReceiveCount`` deliveries (seconds) it is in the dead-letter queue (alarmed), where it
  can be read; a retry cannot fix it, so it neither waits nor holds back the records after it;
* endpoint busy (``RetryableError``) -> reported failed, and its visibility is extended with
  exponential backoff, so SQS delivers it again later;
* quota short or any other error -> notified (first delivery only) and reported failed: SQS
  retries it and, after ``maxReceiveCount`` deliveries, moves it to the dead-letter queue
  (alarmed); redrive it once the cause is fixed;
* done -> notified when something changed or a person must act (deployment started, nothing
  left to serve, endpoint needs attention); a deployment already under way is done too.

Model monitoring follows every record whose endpoint serves, or is moving to, the wanted
version (created, updated, unchanged, in progress): the endpoint's schedules are bound to that
version's baselines (``mlops.monitoring.schedules.ensure_monitoring``; with monitoring
disabled, what an earlier configuration created is removed). It runs after the deployment's
notification, so a retry never loses it. A schedule that is busy (``RetryableError``) retries
the record with the same backoff, and the retry converges to the same endpoint. AWS does not
document whether a schedule can be created for an endpoint that is still ``Creating`` or
``Updating``: a validation error then is retried the same way (the retry finds the endpoint
serving, ``unchanged``, and a refusal then is a real one). Any other
monitoring failure is notified and the record is done: the endpoint deployment stands (AWS no
longer opens Model Monitor to new accounts, which may refuse it: docs/monitoring.md).

The queue is FIFO: once a deployment is retried, every later record of the batch is reported
failed too, so a group's events are never processed out of order.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from mlops.aws_errors import error_code, error_message
from mlops.deployment.deploy import Outcome, QuotaExceededError, converge
from mlops.deployment.events import parse_approval_event
from mlops.deployment.settings import DeploySettings
from mlops.errors import InputError, RetryableError
from mlops.monitoring.schedules import delete_monitoring, ensure_monitoring

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_service_quotas import ServiceQuotasClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient

logger = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 120
BACKOFF_MAX_SECONDS = 900
# Outcomes whose endpoint serves, or is moving to, the wanted version: monitoring follows it.
SERVING_ACTIONS = ("created", "updated", "unchanged", "in_progress")


@dataclass(frozen=True)
class Clients:
    sagemaker: SageMakerClient
    service_quotas: ServiceQuotasClient
    sns: SNSClient
    sqs: SQSClient

    @classmethod
    def from_session(cls, session: boto3.session.Session) -> Clients:
        return cls(
            sagemaker=session.client("sagemaker"),
            service_quotas=session.client("service-quotas"),
            sns=session.client("sns"),
            sqs=session.client("sqs"),
        )


def retry_delay_seconds(receive_count: int) -> int:
    """120 s, 240 s, 480 s, then 900 s (SQS's visibility limit is 12 h; updates take minutes)."""
    return int(min(BACKOFF_BASE_SECONDS * 2 ** max(receive_count - 1, 0), BACKOFF_MAX_SECONDS))


class Result(enum.Enum):
    DONE = "done"  # processed: SQS deletes it
    RETRY = "retry"  # try again later; later records of the batch wait behind it (FIFO)
    REFUSED = "refused"  # bad input: to the dead-letter queue, holding nothing back


def process_batch(
    event: Mapping[str, Any], settings: DeploySettings, clients: Clients
) -> dict[str, list[dict[str, str]]]:
    records = event.get("Records")
    if not isinstance(records, list):
        raise InputError("event has no Records list: not an SQS batch")
    failures: list[dict[str, str]] = []
    waiting = False
    for record in records:
        message_id = str(record.get("messageId", "")) if isinstance(record, dict) else ""
        result = Result.RETRY if waiting else process_record(record, settings, clients)
        if result is not Result.DONE:
            failures.append({"itemIdentifier": message_id})
        waiting = waiting or result is Result.RETRY
    return {"batchItemFailures": failures}


def process_record(record: Any, settings: DeploySettings, clients: Clients) -> Result:
    """Handle one record (see the module doc)."""
    if not isinstance(record, dict):
        logger.error("refused record: not an object")
        return Result.REFUSED
    message_id = str(record.get("messageId", ""))
    try:
        approval = parse_approval_event(record.get("body", ""), settings.package_groups)
    except InputError as error:
        logger.error(
            "refused message %s (dead-letter queue after the queue's maxReceiveCount "
            "deliveries): %s",
            message_id,
            error,
            extra={"reason": str(error)},
        )
        _delay(clients.sqs, record, 0)
        return Result.REFUSED
    context = {"group": approval.group, "package": approval.package_arn, "event": approval.event_id}
    receive_count = _receive_count(record)
    try:
        outcome = converge(clients.sagemaker, clients.service_quotas, settings, approval.group)
    except RetryableError as error:
        return _retry_later(clients, record, error, context)
    except QuotaExceededError as error:
        logger.error("%s", error, extra=context)
        if receive_count == 1:
            _notify(clients.sns, settings, f"Deployment blocked: {approval.group}", str(error))
        return Result.RETRY
    except Exception as error:
        logger.exception("deployment of %s failed", approval.group, extra=context)
        if receive_count == 1:
            _notify(
                clients.sns,
                settings,
                f"Deployment failed: {approval.group}",
                f"{approval.group}: {type(error).__name__}: {error}",
            )
        return Result.RETRY
    level = logging.WARNING if outcome.action == "needs_attention" else logging.INFO
    logger.log(
        level,
        "%s",
        outcome.message,
        extra={**context, "action": outcome.action, "pruned": list(outcome.pruned)},
    )
    if outcome.notify:
        _notify(clients.sns, settings, outcome.subject, outcome.message)
    if outcome.action not in SERVING_ACTIONS:
        return Result.DONE
    try:
        follow_monitoring(clients, settings, outcome)
    except RetryableError as error:
        return _retry_later(clients, record, error, context)
    except Exception as error:
        logger.exception("monitoring of %s not set up", approval.group, extra=context)
        _notify(
            clients.sns,
            settings,
            f"Monitoring not set up: {approval.group}",
            f"{approval.group}: the endpoint deployment stands, but its model monitoring "
            f"failed: {type(error).__name__}: {error} (docs/monitoring.md)",
        )
    return Result.DONE


def follow_monitoring(clients: Clients, settings: DeploySettings, outcome: Outcome) -> None:
    """Bind the endpoint's monitoring to the version it serves, or remove it when monitoring
    is disabled (see the module doc)."""
    if settings.monitoring is None:
        removed = delete_monitoring(clients.sagemaker, settings.environment, outcome.group)
        if removed:
            logger.info("monitoring disabled: removed %s", ", ".join(removed))
        return
    assert outcome.version is not None  # every serving outcome names its version
    try:
        followed = ensure_monitoring(
            clients.sagemaker, settings.monitoring, outcome.group, outcome.version
        )
    except ClientError as error:
        if outcome.action == "unchanged" or error_code(error) != "ValidationException":
            raise
        raise RetryableError(
            f"monitoring of {outcome.endpoint} refused while the endpoint is not serving yet "
            f"({error_message(error)}); retrying"
        ) from error
    incomplete = "no_baseline" in followed.actions.values()
    logger.log(
        logging.WARNING if incomplete else logging.INFO,
        "%s",
        followed.message,
        extra={"pruned": list(followed.pruned)},
    )
    if incomplete:
        _notify(clients.sns, settings, f"Monitoring incomplete: {outcome.group}", followed.message)


def _retry_later(
    clients: Clients, record: Mapping[str, Any], error: RetryableError, context: Mapping[str, str]
) -> Result:
    """Deliver the record again after the backoff of its receive count."""
    delay = retry_delay_seconds(_receive_count(record))
    logger.warning("retry in %ss: %s", delay, error, extra=context)
    _delay(clients.sqs, record, delay)
    return Result.RETRY


def _receive_count(record: Mapping[str, Any]) -> int:
    attributes = record.get("attributes") or {}
    try:
        return max(int(attributes.get("ApproximateReceiveCount", "1")), 1)
    except (TypeError, ValueError):
        return 1


def _delay(sqs: SQSClient, record: Mapping[str, Any], seconds: int) -> None:
    """Make the message visible again in ``seconds`` (0: at once). Best effort: without it,
    SQS redelivers after the queue's own visibility timeout."""
    try:
        arn_parts = str(record["eventSourceARN"]).split(":")
        url = sqs.get_queue_url(QueueName=arn_parts[5], QueueOwnerAWSAccountId=arn_parts[4])
        sqs.change_message_visibility(
            QueueUrl=url["QueueUrl"],
            ReceiptHandle=str(record["receiptHandle"]),
            VisibilityTimeout=seconds,
        )
    except Exception:
        logger.warning("could not extend the visibility of %s", record.get("messageId"))


def _notify(sns: SNSClient, settings: DeploySettings, subject: str, message: str) -> None:
    try:
        sns.publish(TopicArn=settings.topic_arn, Subject=subject[:100], Message=message)
    except Exception:
        logger.exception("could not publish the notification %r", subject)
