"""Real-shaped EventBridge events and SQS records (as the deploy Lambda receives them)."""

from __future__ import annotations

import json
import uuid
from typing import Any

ACCOUNT = "123456789012"


def package_event(
    arn: str, status: str, *, group: str = "mlops-dev-fraud-detection", version: int | None = None
) -> dict[str, Any]:
    """A ``SageMaker Model Package State Change`` event, shaped like the ones SageMaker sends
    (``group``: the SageMaker group name, by default dev's group of ``fraud-detection``)."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "SageMaker Model Package State Change",
        "source": "aws.sagemaker",
        "account": ACCOUNT,
        "time": "2025-01-01T10:00:00Z",
        "region": "us-east-1",
        "resources": [arn],
        "detail": {
            "ModelPackageGroupName": group,
            "ModelPackageVersion": version or int(arn.rsplit("/", 1)[-1]),
            "ModelPackageArn": arn,
            "CreationTime": 1735725600000,
            "InferenceSpecification": {
                "Containers": [{"Image": "xgboost:1", "ModelDataUrl": "s3://a/models/m.tar.gz"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            "ModelPackageStatus": "Completed",
            "ModelApprovalStatus": status,
            "ApprovalDescription": "reviewed",
            "LastModifiedTime": 1735725660000,
        },
    }


def sqs_record(body: str | dict[str, Any], *, receive_count: int = 1) -> dict[str, Any]:
    return {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": "handle",
        "body": body if isinstance(body, str) else json.dumps(body),
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "MessageGroupId": "fraud-detection",
        },
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:us-east-1:{ACCOUNT}:deploy.fifo",
        "awsRegion": "us-east-1",
    }


def batch(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}
