"""The AWS clients teardown uses, and which AWS errors it retries (``mlops.aws_errors`` says
which mean "already gone")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from mlops.aws_errors import error_code, error_message, is_not_found

__all__ = [
    "CLIENT_CONFIG",
    "RETRYABLE_CODES",
    "Clients",
    "error_code",
    "error_message",
    "is_not_found",
    "is_retryable",
]

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_efs import EFSClient
    from mypy_boto3_resourcegroupstaggingapi import ResourceGroupsTaggingAPIClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient

# botocore's own retries stay short; the executor retries throttling and "in use" itself,
# with a longer backoff, so one slow resource does not hold the whole run.
CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3})

RETRYABLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "SlowDown",
        "BucketNotEmpty",  # objects written while emptying (e.g. access logs): empty again
        "ResourceInUse",
        "ResourceInUseException",
        "ConflictException",
        "ServiceUnavailable",
        "InternalFailure",
    }
)


@dataclass(frozen=True)
class Clients:
    """Clients for one account and region. Tests pass moto- or Stubber-backed clients."""

    sagemaker: SageMakerClient
    tagging: ResourceGroupsTaggingAPIClient
    cloudwatch: CloudWatchClient
    s3: S3Client
    efs: EFSClient
    ec2: EC2Client

    @classmethod
    def from_session(cls, session: boto3.Session | None = None) -> Clients:
        session = session or boto3.Session()
        return cls(
            sagemaker=session.client("sagemaker", config=CLIENT_CONFIG),
            tagging=session.client("resourcegroupstaggingapi", config=CLIENT_CONFIG),
            cloudwatch=session.client("cloudwatch", config=CLIENT_CONFIG),
            s3=session.client("s3", config=CLIENT_CONFIG),
            efs=session.client("efs", config=CLIENT_CONFIG),
            ec2=session.client("ec2", config=CLIENT_CONFIG),
        )


def is_retryable(error: ClientError) -> bool:
    code = error_code(error)
    if code in RETRYABLE_CODES:
        return True
    # SageMaker: "Cannot delete ... while it is in use" / "... is being updated" /
    # "Monitoring schedule in status Pending" (it cannot be deleted until it settles).
    message = error_message(error).lower()
    return code == "ValidationException" and any(
        phrase in message for phrase in ("in use", "in progress", "status pending")
    )
