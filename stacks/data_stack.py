"""Data stack (stateful): the KMS key and the buckets every other stack writes to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from stacks.config import EnvironmentConfig
from stacks.constructs.secure_bucket import secure_bucket
from stacks.nag import acknowledge, weak_reference_in_finding

# The outputs CDK generates when another stack reads a bucket's ARN (weak references). They
# derive from the pinned logical IDs; tests/infra/test_data_stack.py checks they still exist.
BUCKET_ARN_OUTPUTS = {
    "data": "PublishOutputFnGetAttDataBucketE3889A50Arn0E8BC76C",
    "artifacts": "PublishOutputFnGetAttArtifactsBucket2AAC5544ArnE18AB387",
}


@dataclass(frozen=True)
class DataResources:
    """What other stacks receive from the Data stack (typed props, not string exports)."""

    key: kms.IKey
    data_bucket: s3.IBucket
    artifacts_bucket: s3.IBucket
    notifications: sns.ITopic

    def volume_key_grant(self, sid: str) -> iam.PolicyStatement:
        """``kms:CreateGrant`` on the key for AWS resources only: a SageMaker job, endpoint or
        app given the key for its storage volumes (``VolumeKmsKeyId``, ``KmsKeyId``) creates a
        grant for them as the role it runs with (AWS, "How to use SageMaker AI execution
        roles"). ``kms:GrantIsForAWSResource`` exists on CreateGrant only (Service
        Authorization Reference), so the statement holds that one action."""
        return iam.PolicyStatement(
            sid=sid,
            actions=["kms:CreateGrant"],
            resources=[self.key.key_arn],
            conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
        )

    def bucket_arn_in_finding(self, bucket: Literal["data", "artifacts"]) -> str:
        """The bucket's ARN as cdk-nag prints it in a finding of a consuming stack."""
        return weak_reference_in_finding(cdk.Stack.of(self.key), BUCKET_ARN_OUTPUTS[bucket])


class DataStack(cdk.Stack):
    """KMS key, data bucket (raw/, splits/), artifacts bucket, access-log bucket, and the
    environment's notification topic (deployments, pipeline runs, teardown reports).

    Logical IDs here are pinned by tests: renaming a construct would replace a bucket.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, **kwargs: object
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        removal = cdk.RemovalPolicy.DESTROY if config.ephemeral else cdk.RemovalPolicy.RETAIN
        days = config.data.noncurrent_version_expiration_days

        self.key = kms.Key(
            self,
            "DataKey",
            description=f"Encrypts the {config.name} fraud MLOps data, artifacts and logs",
            enable_key_rotation=True,
            removal_policy=removal,
            pending_window=cdk.Duration.days(7 if config.ephemeral else 30),
        )
        # Function log groups of this environment are encrypted with the same key.
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogsOfThisAccount",
                principals=[iam.ServicePrincipal(f"logs.{self.region}.amazonaws.com")],
                actions=[
                    "kms:Encrypt*",
                    "kms:Decrypt*",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:Describe*",
                ],
                resources=["*"],  # in a key policy, "*" means this key
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": (
                            f"arn:{self.partition}:logs:{self.region}:{self.account}:log-group:*"
                        )
                    }
                },
            )
        )
        self.access_logs_bucket = secure_bucket(
            self,
            "AccessLogsBucket",
            encryption_key=None,
            access_logs_bucket=None,
            noncurrent_version_expiration_days=days,
            expiration_days=config.data.access_log_expiration_days,
            ephemeral=config.ephemeral,
        )
        no_self_logging = "This is the access-log destination; logging it into itself would loop."
        acknowledge(self.access_logs_bucket, "AwsSolutions-S1", no_self_logging)
        # checkov reads skips from the resource's metadata: this one bucket only.
        self.access_logs_bucket.node.default_child.add_metadata(  # type: ignore[union-attr]
            "checkov", {"skip": [{"id": "CKV_AWS_18", "comment": no_self_logging}]}
        )
        self.data_bucket = secure_bucket(
            self,
            "DataBucket",
            encryption_key=self.key,
            access_logs_bucket=self.access_logs_bucket,
            noncurrent_version_expiration_days=days,
            ephemeral=config.ephemeral,
        )
        self.artifacts_bucket = secure_bucket(
            self,
            "ArtifactsBucket",
            encryption_key=self.key,
            access_logs_bucket=self.access_logs_bucket,
            noncurrent_version_expiration_days=days,
            ephemeral=config.ephemeral,
        )
        acknowledge(
            self.access_logs_bucket,
            "NIST.800.53.R5-S3DefaultEncryptionKMS",
            "S3 server access log delivery supports SSE-S3 only (a KMS-encrypted target bucket "
            "receives no logs); the bucket holds request logs, no data.",
        )
        for bucket in (self.access_logs_bucket, self.data_bucket, self.artifacts_bucket):
            acknowledge(
                bucket,
                "NIST.800.53.R5-S3BucketReplicationEnabled",
                "Single-region platform: objects are versioned and KMS-encrypted, and the data "
                "and models are reproducible (generator seed, pipeline runs); cross-region "
                "replication needs a second region, key and bucket, which is a DR decision "
                "left to the adopting organisation (docs/security.md).",
            )
        self.notifications = sns.Topic(
            self,
            "NotificationsTopic",
            display_name=f"Fraud MLOps {config.name} notifications",
            master_key=self.key,
            enforce_ssl=True,
        )
        for address in config.deployment.notification_emails:
            self.notifications.add_subscription(subscriptions.EmailSubscription(address))
        # EventBridge and CloudWatch alarms publish to the encrypted topic.
        self.key.grant_encrypt_decrypt(iam.ServicePrincipal("events.amazonaws.com"))
        self.key.grant_encrypt_decrypt(iam.ServicePrincipal("cloudwatch.amazonaws.com"))

        for name, bucket in (
            ("DataBucketName", self.data_bucket),
            ("ArtifactsBucketName", self.artifacts_bucket),
        ):
            cdk.CfnOutput(self, name, value=bucket.bucket_name)
        cdk.CfnOutput(self, "DataKeyArn", value=self.key.key_arn)
        cdk.CfnOutput(self, "NotificationsTopicArn", value=self.notifications.topic_arn)

    @property
    def resources(self) -> DataResources:
        return DataResources(
            key=self.key,
            data_bucket=self.data_bucket,
            artifacts_bucket=self.artifacts_bucket,
            notifications=self.notifications,
        )
