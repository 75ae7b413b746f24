"""The platform's dead-letter queues: KMS-encrypted, TLS-only, kept 14 days."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
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
