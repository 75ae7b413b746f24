"""The platform's dead-letter queues: KMS-encrypted, TLS-only, kept 14 days, alarmed."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.nag import acknowledge


def dead_letter_queue(
    scope: Construct, construct_id: str, *, key: kms.IKey, holds: str, fifo: bool = False
) -> sqs.Queue:
    """A queue that *is* a dead-letter queue (so it needs none itself); ``holds`` says what
    lands in it, for the cdk-nag acknowledgment and the reader."""
    queue = sqs.Queue(
        scope,
        construct_id,
        fifo=fifo or None,
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        enforce_ssl=True,
        retention_period=cdk.Duration.days(14),
    )
    for rule in ("AwsSolutions-SQS3", "Serverless-SQSRedrivePolicy"):
        acknowledge(queue, rule, f"This is itself a dead-letter queue: it holds {holds}.")
    return queue


def alarm_on_dead_letters(
    scope: Construct,
    construct_id: str,
    queue: sqs.IQueue,
    *,
    alarm_name: str,
    description: str,
    notify: sns.ITopic,
) -> cloudwatch.Alarm:
    """Alarm (and notify) as soon as one message lands in a dead-letter queue: nothing that
    failed may sit there unnoticed."""
    alarm = cloudwatch.Alarm(
        scope,
        construct_id,
        alarm_name=alarm_name,
        alarm_description=description,
        metric=queue.metric_approximate_number_of_messages_visible(
            period=cdk.Duration.minutes(5), statistic="Maximum"
        ),
        threshold=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluation_periods=1,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    alarm.add_alarm_action(actions.SnsAction(notify))
    return alarm
