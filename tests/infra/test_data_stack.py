"""Data stack: every bucket private, TLS-only, encrypted, logged, with lifecycle rules."""

from __future__ import annotations

from typing import Any

import pytest

from stacks.data_stack import BUCKET_ARN_OUTPUTS
from tests.synth import Synthesized

# Renaming these would make CloudFormation replace the bucket or key and lose data.
PINNED_LOGICAL_IDS = {
    "DataKey17AFBB84": "AWS::KMS::Key",
    "AccessLogsBucket83982689": "AWS::S3::Bucket",
    "DataBucketE3889A50": "AWS::S3::Bucket",
    "ArtifactsBucket2AAC5544": "AWS::S3::Bucket",
}
BUCKETS = ("AccessLogsBucket83982689", "DataBucketE3889A50", "ArtifactsBucket2AAC5544")
KMS_BUCKETS = BUCKETS[1:]


def _bucket(synth: Synthesized, logical_id: str) -> dict[str, Any]:
    resource: dict[str, Any] = synth.templates["data"]["Resources"][logical_id]
    return resource


def _policy_statements(synth: Synthesized, bucket_id: str) -> list[dict[str, Any]]:
    for policy in synth.resources("data", "AWS::S3::BucketPolicy").values():
        if policy["Properties"]["Bucket"] == {"Ref": bucket_id}:
            statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
            return statements
    return []


def test_stateful_logical_ids_are_pinned(dev: Synthesized, prod: Synthesized) -> None:
    for synth in (dev, prod):
        resources = synth.templates["data"]["Resources"]
        for logical_id, resource_type in PINNED_LOGICAL_IDS.items():
            assert resources[logical_id]["Type"] == resource_type


def test_key_rotates(dev: Synthesized) -> None:
    (key,) = dev.resources("data", "AWS::KMS::Key").values()
    assert key["Properties"]["EnableKeyRotation"] is True


@pytest.mark.parametrize("bucket_id", BUCKETS)
def test_bucket_blocks_public_access(dev: Synthesized, bucket_id: str) -> None:
    block = _bucket(dev, bucket_id)["Properties"]["PublicAccessBlockConfiguration"]
    assert block == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }


@pytest.mark.parametrize("bucket_id", BUCKETS)
def test_bucket_denies_plain_http_and_old_tls(dev: Synthesized, bucket_id: str) -> None:
    denies = [s for s in _policy_statements(dev, bucket_id) if s["Effect"] == "Deny"]
    conditions = [s["Condition"] for s in denies]
    assert {"Bool": {"aws:SecureTransport": "false"}} in conditions
    assert {"NumericLessThan": {"s3:TlsVersion": 1.2}} in conditions
    assert all(s["Principal"] == {"AWS": "*"} and s["Action"] == "s3:*" for s in denies)


@pytest.mark.parametrize("bucket_id", BUCKETS)
def test_bucket_is_versioned_with_lifecycle(dev: Synthesized, bucket_id: str) -> None:
    properties = _bucket(dev, bucket_id)["Properties"]
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    (rule,) = properties["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled"
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 7}  # dev: cdk.json


@pytest.mark.parametrize("bucket_id", KMS_BUCKETS)
def test_data_and_artifacts_use_the_customer_key(dev: Synthesized, bucket_id: str) -> None:
    properties = _bucket(dev, bucket_id)["Properties"]
    (encryption,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": {"Fn::GetAtt": ["DataKey17AFBB84", "Arn"]},
    }
    assert encryption["BucketKeyEnabled"] is True
    assert properties["LoggingConfiguration"]["DestinationBucketName"] == {
        "Ref": "AccessLogsBucket83982689"
    }


def test_access_log_bucket_uses_sse_s3_and_expires_logs(dev: Synthesized) -> None:
    properties = _bucket(dev, "AccessLogsBucket83982689")["Properties"]
    (encryption,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert properties["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 90


def test_buckets_have_generated_names(dev: Synthesized) -> None:
    for bucket in dev.resources("data", "AWS::S3::Bucket").values():
        assert "BucketName" not in bucket["Properties"]


def test_prod_retains_everything_and_never_auto_deletes(prod: Synthesized) -> None:
    for logical_id in PINNED_LOGICAL_IDS:
        resource = prod.templates["data"]["Resources"][logical_id]
        assert resource["DeletionPolicy"] == "Retain"
        assert resource["UpdateReplacePolicy"] == "Retain"
    assert not prod.resources("data", "Custom::S3AutoDeleteObjects")
    assert prod.termination_protection("data") is True


def test_ephemeral_dev_is_destroyed_with_its_objects(dev: Synthesized) -> None:
    for logical_id in PINNED_LOGICAL_IDS:
        assert dev.templates["data"]["Resources"][logical_id]["DeletionPolicy"] == "Delete"
    auto_delete = dev.resources("data", "Custom::S3AutoDeleteObjects")
    emptied = {r["Properties"]["BucketName"]["Ref"] for r in auto_delete.values()}
    assert emptied == set(BUCKETS)


def test_bucket_arn_outputs_named_in_acknowledgments_exist(dev: Synthesized) -> None:
    """Consumers' cdk-nag acknowledgments name these weak-reference outputs; if CDK renamed
    them, this says why synth would fail."""
    assert set(BUCKET_ARN_OUTPUTS.values()) <= set(dev.templates["data"]["Outputs"])
