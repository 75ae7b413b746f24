"""Service-assumed roles and resource policies against what AWS documents the service needs.

The least-privilege proof (test_least_privilege.py) covers the calls *our code* makes; the
roles AWS services assume (SageMaker for models, jobs and Studio; EventBridge Scheduler; the
Lambda service for a function's DLQ) and the resource policies services act through
(EventBridge -> the approval queue and its key) are exercised by AWS, not by our code. Here
each documented need is one row: who needs what, on which resource, with which request
context, and the AWS page that says so. Every row is evaluated against the synthesized
templates of dev and prod (tests/security/evaluate.py); a role or policy that lacks a
documented need fails, and so does one that lets the need through outside its scope.
docs/security.md ("What services need from the roles they assume") lists the same rows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from mlops.constants import resource_prefix
from mlops.studio import SAGEMAKER_OWNER_TAG
from tests.security.evaluate import Request, allowed, principal_is
from tests.security.functions import function_roles
from tests.shipped.assembly import Assembly, PhysicalValues
from tests.synth import CLI_DEFAULTS, ROOT, Synthesized

SAGEMAKER_ROLES = "https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html"
CREATE_MODEL = f"{SAGEMAKER_ROLES}#sagemaker-roles-createmodel-perms"
CREATE_DOMAIN = f"{SAGEMAKER_ROLES}#sagemaker-roles-createdomain-perms"
CREATE_JOB = f"{SAGEMAKER_ROLES}#sagemaker-roles-createtrainingjob-perms"
CREATE_PROCESSING_JOB = f"{SAGEMAKER_ROLES}#sagemaker-roles-createprocessingjob-perms"
MONITOR_METRICS = (
    "https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-interpreting-cloudwatch.html"
)
PASS_ROLE = f"{SAGEMAKER_ROLES}#sagemaker-roles-pass-role"
GUARDRAILS = (
    "https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-configuration.html"
)
S3_SSE_KMS = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html"
SQS_KMS = (
    "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/"
    "sqs-key-management.html"
)
SCHEDULER_ROLE = (
    "https://docs.aws.amazon.com/scheduler/latest/UserGuide/setting-up.html"
    "#setting-up-execution-role"
)
SCHEDULER_DLQ = (
    "https://docs.aws.amazon.com/scheduler/latest/UserGuide/configuring-schedule-dlq.html"
)
SCHEDULER_KMS = "https://docs.aws.amazon.com/scheduler/latest/UserGuide/encryption-rest.html"
LAMBDA_DLQ = (
    "https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html"
    "#invocation-dlq"
)
EVENTBRIDGE_SQS = (
    "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html"
    "#eb-sqs-permissions"
)
EVENTBRIDGE_DLQ = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html"
EFS_DELETE_MOUNT_TARGET = "https://docs.aws.amazon.com/efs/latest/ug/API_DeleteMountTarget.html"
EFS_DELETE_FILE_SYSTEM = "https://docs.aws.amazon.com/efs/latest/ug/API_DeleteFileSystem.html"
EC2_DELETE_SECURITY_GROUP = (
    "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteSecurityGroup.html"
)
AWS_OWNED_ECR_ACCOUNT = "683313688378"  # an AWS account that hosts SageMaker images
OTHER_VPC = "vpc-0ffffffffffffffff"


@dataclass(frozen=True)
class World:
    """Concrete values of one synthesized environment (intrinsics resolved)."""

    env: str
    account: str
    region: str
    key: str
    artifacts_bucket: str
    data_bucket: str
    vpc: str
    subnet: str
    workload_security_group: str
    studio_role: str
    teardown_function: str
    teardown_queue: str
    approval_queue: str
    approval_rule: str
    delivery_queue: str
    rollback_alarm: str

    def arn(self, service: str, resource: str, *, account: str | None = None) -> str:
        return f"arn:aws:{service}:{self.region}:{account or self.account}:{resource}"

    @property
    def vpc_arn(self) -> str:
        return self.arn("ec2", f"vpc/{self.vpc}")

    @property
    def prefix(self) -> str:
        return resource_prefix(self.env)


@dataclass(frozen=True)
class Grantee:
    """Whose policy decides: a role (identity policies) or a resource policy for a service."""

    part: str
    role: Callable[[Assembly, str], str] | None = None  # (assembly, part) -> role logical id
    resource_policy: str | None = None  # resource type of the policy, e.g. AWS::KMS::Key
    service: str | None = None  # the service principal acting through the resource policy
    policy_of: str | None = None  # logical-id prefix of the queue/key the policy is for


@dataclass(frozen=True)
class Need:
    who: str  # the service, and when it needs this
    grantee: Grantee
    requests: Callable[[World], list[Request]]
    source: str  # the AWS page that documents the need
    forbidden: Callable[[World], list[Request]] = field(default=lambda w: [])


def _assumed_by(service: str, logical_id_prefix: str = "") -> Callable[[Assembly, str], str]:
    def find(assembly: Assembly, part: str) -> str:
        (role,) = [
            logical_id
            for logical_id, resource in assembly.templates[part]["Resources"].items()
            if resource["Type"] == "AWS::IAM::Role"
            and logical_id.startswith(logical_id_prefix)
            and {"Service": service}
            in [
                s.get("Principal")
                for s in resource["Properties"]["AssumeRolePolicyDocument"]["Statement"]
            ]
        ]
        return str(role)

    return find


def _function_role(key: str) -> Callable[[Assembly, str], str]:
    return lambda assembly, part: function_roles(assembly.templates[part])[key]


MODEL_ROLE = Grantee(
    "deployment", role=_assumed_by("sagemaker.amazonaws.com", logical_id_prefix="ModelExecution")
)
STUDIO_ROLE = Grantee("studio", role=_assumed_by("sagemaker.amazonaws.com"))
MONITORING_ROLE = Grantee(
    "deployment", role=_assumed_by("sagemaker.amazonaws.com", logical_id_prefix="MonitoringRole")
)
SCHEDULE_ROLE = Grantee("teardown", role=_assumed_by("scheduler.amazonaws.com"))
TEARDOWN_FUNCTION = Grantee("teardown", role=_function_role("teardown"))
STORAGE_CLEANUP = Grantee("studio", role=_function_role("studio_cleanup.is_complete"))
EVENTS_ON_KEY = Grantee(
    "data", resource_policy="AWS::KMS::Key", service="events.amazonaws.com", policy_of="DataKey"
)
EVENTS_ON_APPROVAL_QUEUE = Grantee(
    "deployment",
    resource_policy="AWS::SQS::QueuePolicy",
    service="events.amazonaws.com",
    policy_of="ApprovalsQueue",
)
EVENTS_ON_DELIVERY_QUEUE = Grantee(
    "deployment",
    resource_policy="AWS::SQS::QueuePolicy",
    service="events.amazonaws.com",
    policy_of="ApprovalsDeliveryDeadLetterQueue",
)


def _vpc_interfaces(w: World) -> list[Request]:
    """SageMaker creates and removes the containers' network interfaces as the role."""
    in_vpc = {"ec2:Vpc": w.vpc_arn}
    interface = w.arn("ec2", "network-interface/eni-0123456789abcdef0")
    return [
        *(
            Request(action, "*")
            for action in (
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeVpcs",
                "ec2:DescribeDhcpOptions",
                "ec2:DescribeSubnets",
                "ec2:DescribeSecurityGroups",
            )
        ),
        # CreateNetworkInterface authorizes the new interface (no ec2:Vpc key on it, per the
        # SAR), the subnet and the security group (ec2:Vpc); both readings must pass.
        Request("ec2:CreateNetworkInterface", w.arn("ec2", "network-interface/*")),
        Request("ec2:CreateNetworkInterface", w.arn("ec2", "network-interface/*"), in_vpc),
        Request("ec2:CreateNetworkInterface", w.arn("ec2", f"subnet/{w.subnet}"), in_vpc),
        Request(
            "ec2:CreateNetworkInterface",
            w.arn("ec2", f"security-group/{w.workload_security_group}"),
            in_vpc,
        ),
        Request("ec2:CreateNetworkInterfacePermission", interface, in_vpc),
        Request("ec2:DeleteNetworkInterface", interface, in_vpc),
        Request("ec2:DeleteNetworkInterfacePermission", interface, in_vpc),
    ]


def _other_vpc_interfaces(w: World) -> list[Request]:
    other = {"ec2:Vpc": w.arn("ec2", f"vpc/{OTHER_VPC}")}
    return [
        Request(
            "ec2:CreateNetworkInterface", w.arn("ec2", "subnet/subnet-0fffffffffffffff0"), other
        ),
        Request("ec2:DeleteNetworkInterface", w.arn("ec2", "network-interface/eni-0fff"), other),
    ]


def _job_basics(w: World, kind: str) -> list[Request]:
    """The CreateTrainingJob/CreateProcessingJob minimum: metrics, logs, S3, ECR."""
    log_group = w.arn("logs", f"log-group:/aws/sagemaker/{kind}")
    return [
        Request(
            "cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": f"/aws/sagemaker/{kind}"}
        ),
        *(
            Request(action, log_group)
            for action in ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams")
        ),
        Request("logs:PutLogEvents", f"{log_group}:log-stream:{w.prefix}-job/algo-1"),
        Request("s3:ListBucket", f"arn:aws:s3:::{w.data_bucket}"),
        Request("s3:GetObject", f"arn:aws:s3:::{w.data_bucket}/splits/run-1/train.csv"),
        Request("s3:PutObject", f"arn:aws:s3:::{w.artifacts_bucket}/pipelines/{w.env}/x/out"),
        *_image_pulls(w, "sagemaker-scikit-learn"),
    ]


def _image_pulls(w: World, repository: str) -> list[Request]:
    """Pulling an (AWS-owned) SageMaker image as the role."""
    image = w.arn("ecr", f"repository/{repository}", account=AWS_OWNED_ECR_ACCOUNT)
    return [
        Request("ecr:GetAuthorizationToken", "*"),
        *(
            Request(action, image)
            for action in (
                "ecr:BatchCheckLayerAvailability",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchGetImage",
            )
        ),
    ]


def _endpoint_logs(w: World) -> list[Request]:
    group = w.arn("logs", f"log-group:/aws/sagemaker/Endpoints/{w.prefix}-fraud-detection")
    return [
        Request(
            "cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": "/aws/sagemaker/Endpoints"}
        ),
        *(
            Request(action, group)
            for action in ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams")
        ),
        Request("logs:PutLogEvents", f"{group}:log-stream:primary/i-0123456789abcdef0"),
    ]


def _monitoring_data(w: World) -> list[Request]:
    """An execution reads captured traffic, the version's baselines and the labels (SSE-KMS),
    and writes its report (S3 encrypts and decrypts as the caller)."""
    bucket = f"arn:aws:s3:::{w.artifacts_bucket}"
    endpoint = f"{w.prefix}-fraud-detection"
    return [
        Request("s3:GetObject", f"{bucket}/data-capture/{endpoint}/primary/2026/11/30/00/a.jsonl"),
        Request("s3:GetObject", f"{bucket}/pipelines/{w.env}/run-1/data-quality-baseline/x.json"),
        Request("s3:GetObject", f"{bucket}/ground-truth/{endpoint}/2026/11/30/00/labels.jsonl"),
        Request("s3:ListBucket", bucket, {"s3:prefix": f"data-capture/{endpoint}/"}),
        Request("s3:PutObject", f"{bucket}/monitoring/{endpoint}/dq/constraint_violations.json"),
        Request("kms:Decrypt", w.key),
        Request("kms:GenerateDataKey", w.key),
    ]


def _monitoring_metrics_and_logs(w: World) -> list[Request]:
    group = w.arn("logs", "log-group:/aws/sagemaker/ProcessingJobs")
    return [
        *(
            Request(
                "cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": f"aws/sagemaker/{ns}"}
            )
            for ns in ("Endpoints/data-metrics", "Endpoints/model-metrics")
        ),
        *(Request(a, group) for a in ("logs:CreateLogGroup", "logs:CreateLogStream")),
        Request("logs:PutLogEvents", f"{group}:log-stream:model-monitoring-1/algo-1"),
    ]


def _domain_storage_context(w: World) -> dict[str, str]:
    return {
        f"aws:ResourceTag/{SAGEMAKER_OWNER_TAG}": w.arn("sagemaker", "domain/d-0123456789ab"),
        "ec2:Vpc": w.vpc_arn,
    }


NEEDS: tuple[Need, ...] = (
    # --- SageMaker: the model role (CreateModel with VpcConfig; KMS-encrypted bucket) ----------
    Need(
        "SageMaker hosting: metrics and the endpoint's logs",
        MODEL_ROLE,
        _endpoint_logs,
        CREATE_MODEL,
    ),
    Need(
        "SageMaker hosting: model artifacts (SSE-KMS) and inference images",
        MODEL_ROLE,
        lambda w: [
            Request("s3:GetObject", f"arn:aws:s3:::{w.artifacts_bucket}/models/fraud/model.tar.gz"),
            Request("kms:Decrypt", w.key),
            *_image_pulls(w, "sagemaker-xgboost"),
        ],
        CREATE_MODEL,
        forbidden=lambda w: [
            Request("s3:GetObject", f"arn:aws:s3:::{w.data_bucket}/raw/transactions.csv")
        ],
    ),
    Need(
        "SageMaker hosting: data capture to the SSE-KMS artifacts bucket",
        MODEL_ROLE,
        lambda w: [
            Request("s3:PutObject", f"arn:aws:s3:::{w.artifacts_bucket}/data-capture/x.jsonl"),
            Request("kms:GenerateDataKey", w.key),
        ],
        S3_SSE_KMS,
    ),
    Need(
        "SageMaker hosting: the model's containers in the VPC",
        MODEL_ROLE,
        _vpc_interfaces,
        CREATE_MODEL,
        forbidden=_other_vpc_interfaces,
    ),
    Need(
        "SageMaker deployment guardrails: auto-rollback alarms",
        MODEL_ROLE,
        lambda w: [Request("cloudwatch:DescribeAlarms", w.rollback_alarm)],
        GUARDRAILS,
    ),
    # --- SageMaker: the Studio execution role --------------------------------------------
    Need(
        "SageMaker Studio: the domain's KMS key (enforced at CreateApp)",
        STUDIO_ROLE,
        lambda w: [
            Request("kms:CreateGrant", w.key, {"kms:GrantIsForAWSResource": "true"}),
            Request("kms:DescribeKey", w.key),
        ],
        CREATE_DOMAIN,
        forbidden=lambda w: [
            Request("kms:CreateGrant", w.key, {"kms:GrantIsForAWSResource": "false"})
        ],
    ),
    Need(
        "SageMaker Studio: passing the execution role to the jobs users start",
        STUDIO_ROLE,
        lambda w: [
            Request(
                "iam:PassRole", w.studio_role, {"iam:PassedToService": "sagemaker.amazonaws.com"}
            )
        ],
        PASS_ROLE,
    ),
    Need(
        "SageMaker processing/training jobs run with the Studio role",
        STUDIO_ROLE,
        lambda w: [*_job_basics(w, "ProcessingJobs"), Request("kms:Decrypt", w.key)],
        CREATE_JOB,
    ),
    Need(
        "SageMaker Studio apps and jobs in the VPC",
        STUDIO_ROLE,
        _vpc_interfaces,
        CREATE_JOB,
        forbidden=_other_vpc_interfaces,
    ),
    # --- SageMaker: the monitoring role (Model Monitor executions are processing jobs) -------
    Need(
        "Model Monitor executions: captured traffic, baselines and labels in, reports out",
        MONITORING_ROLE,
        _monitoring_data,
        CREATE_PROCESSING_JOB,
        forbidden=lambda w: [
            Request("s3:PutObject", f"arn:aws:s3:::{w.artifacts_bucket}/data-capture/x.jsonl"),
            Request("s3:PutObject", f"arn:aws:s3:::{w.artifacts_bucket}/pipelines/x.json"),
            Request("s3:GetObject", f"arn:aws:s3:::{w.data_bucket}/raw/transactions.csv"),
        ],
    ),
    Need(
        "Model Monitor executions: drift and quality metrics, processing-job logs",
        MONITORING_ROLE,
        _monitoring_metrics_and_logs,
        MONITOR_METRICS,
        forbidden=lambda w: [
            Request("cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": "AWS/SageMaker"})
        ],
    ),
    Need(
        "Model Monitor executions: the analyzer image",
        MONITORING_ROLE,
        lambda w: _image_pulls(w, "sagemaker-model-monitor-analyzer"),
        CREATE_PROCESSING_JOB,
        forbidden=lambda w: _image_pulls(w, "sagemaker-scikit-learn")[1:],
    ),
    Need(
        "Model Monitor executions: KMS-encrypted volumes (VolumeKmsKeyId)",
        MONITORING_ROLE,
        lambda w: [Request("kms:CreateGrant", w.key, {"kms:GrantIsForAWSResource": "true"})],
        CREATE_PROCESSING_JOB,
        forbidden=lambda w: [
            Request("kms:CreateGrant", w.key, {"kms:GrantIsForAWSResource": "false"})
        ],
    ),
    Need(
        "Model Monitor executions in the VPC",
        MONITORING_ROLE,
        _vpc_interfaces,
        CREATE_PROCESSING_JOB,
        forbidden=_other_vpc_interfaces,
    ),
    # --- EventBridge Scheduler -> the clean-up function, and its KMS-encrypted DLQ ------------
    Need(
        "EventBridge Scheduler: invoke the target",
        SCHEDULE_ROLE,
        lambda w: [Request("lambda:InvokeFunction", w.teardown_function)],
        SCHEDULER_ROLE,
    ),
    Need(
        "EventBridge Scheduler: failed deliveries to the DLQ",
        SCHEDULE_ROLE,
        lambda w: [Request("sqs:SendMessage", w.teardown_queue)],
        SCHEDULER_DLQ,
    ),
    Need(
        "EventBridge Scheduler: SendMessage to the SSE-KMS DLQ",
        SCHEDULE_ROLE,
        lambda w: [Request("kms:GenerateDataKey", w.key), Request("kms:Decrypt", w.key)],
        SQS_KMS,
    ),
    Need(
        "EventBridge Scheduler: the schedule's customer managed key",
        SCHEDULE_ROLE,
        lambda w: [Request("kms:Decrypt", w.key)],
        SCHEDULER_KMS,
    ),
    # --- Lambda -> the clean-up function's own DLQ (asynchronous invocations) ---------------
    Need(
        "Lambda: failed asynchronous invocations to the SSE-KMS DLQ",
        TEARDOWN_FUNCTION,
        lambda w: [
            Request("sqs:SendMessage", w.teardown_queue),
            Request("kms:GenerateDataKey", w.key),
            Request("kms:Decrypt", w.key),
        ],
        LAMBDA_DLQ,
    ),
    # --- EventBridge -> the approval FIFO queue (resource policies) ------------------------
    Need(
        "EventBridge: the approval rule puts events on the FIFO queue",
        EVENTS_ON_APPROVAL_QUEUE,
        lambda w: [
            Request(
                "sqs:SendMessage",
                w.approval_queue,
                {
                    "aws:SourceAccount": w.account,
                    "aws:SourceArn": w.approval_rule,
                    "aws:SecureTransport": "true",
                },
            )
        ],
        EVENTBRIDGE_SQS,
        forbidden=lambda w: [
            Request(
                "sqs:SendMessage",
                w.approval_queue,
                {"aws:SourceAccount": "210987654321", "aws:SecureTransport": "true"},
            )
        ],
    ),
    Need(
        "EventBridge: undeliverable events to the rule's DLQ",
        EVENTS_ON_DELIVERY_QUEUE,
        lambda w: [
            Request(
                "sqs:SendMessage",
                w.delivery_queue,
                {
                    "aws:SourceAccount": w.account,
                    "aws:SourceArn": w.approval_rule,
                    "aws:SecureTransport": "true",
                },
            )
        ],
        EVENTBRIDGE_DLQ,
    ),
    Need(
        "EventBridge: SendMessage to the SSE-KMS queues (key policy)",
        EVENTS_ON_KEY,
        lambda w: [
            Request(
                action, w.key, {"aws:SourceAccount": w.account, "aws:SourceArn": w.approval_rule}
            )
            for action in ("kms:GenerateDataKey", "kms:Decrypt")
        ],
        SQS_KMS,
    ),
    # --- The Studio storage clean-up (EFS and EC2 deletes) -----------------------------------
    Need(
        "EFS DeleteMountTarget (also deletes the target's network interface as the caller)",
        STORAGE_CLEANUP,
        lambda w: [
            Request(
                "elasticfilesystem:DeleteMountTarget",
                w.arn("elasticfilesystem", "file-system/fs-0123456789abcdef0"),
                _domain_storage_context(w),
            ),
            Request(
                "ec2:DeleteNetworkInterface",
                w.arn("ec2", "network-interface/eni-0123456789abcdef0"),
                {"ec2:Vpc": w.vpc_arn},
            ),
        ],
        EFS_DELETE_MOUNT_TARGET,
        forbidden=lambda w: [
            Request(
                "ec2:DeleteNetworkInterface",
                w.arn("ec2", "network-interface/eni-0123456789abcdef0"),
                {"ec2:Vpc": w.arn("ec2", f"vpc/{OTHER_VPC}")},
            )
        ],
    ),
    Need(
        "EFS DeleteFileSystem of a domain's home file system",
        STORAGE_CLEANUP,
        lambda w: [
            Request(
                "elasticfilesystem:DeleteFileSystem",
                w.arn("elasticfilesystem", "file-system/fs-0123456789abcdef0"),
                _domain_storage_context(w),
            )
        ],
        EFS_DELETE_FILE_SYSTEM,
    ),
    Need(
        "EC2 DeleteSecurityGroup of a domain's NFS groups (rules revoked first)",
        STORAGE_CLEANUP,
        lambda w: [
            Request(
                action,
                w.arn("ec2", "security-group/sg-0123456789abcdef0"),
                _domain_storage_context(w),
            )
            for action in (
                "ec2:RevokeSecurityGroupIngress",
                "ec2:RevokeSecurityGroupEgress",
                "ec2:DeleteSecurityGroup",
            )
        ],
        EC2_DELETE_SECURITY_GROUP,
        forbidden=lambda w: [
            Request(
                "ec2:DeleteSecurityGroup",
                w.arn("ec2", "security-group/sg-0123456789abcdef0"),
                {**_domain_storage_context(w), "ec2:Vpc": w.arn("ec2", f"vpc/{OTHER_VPC}")},
            ),
            Request(
                "ec2:DeleteSecurityGroup",
                w.arn("ec2", f"security-group/{w.workload_security_group}"),
                {"ec2:Vpc": w.vpc_arn},
            ),
        ],
    ),
)


# --- reading the templates -------------------------------------------------------------------


def _one(assembly: Assembly, part: str, resource_type: str, prefix: str = "") -> str:
    found = [
        logical_id
        for logical_id, resource in assembly.templates[part]["Resources"].items()
        if resource["Type"] == resource_type and logical_id.startswith(prefix)
    ]
    if len(found) != 1:
        raise AssertionError(f"{len(found)} {resource_type} in {part} start with {prefix!r}")
    return str(found[0])


def world(synthesized: Synthesized) -> tuple[Assembly, PhysicalValues, World]:
    env = synthesized.config.name
    account, region = CLI_DEFAULTS[env]
    values = (
        PhysicalValues(account=account, region=region) if account and region else PhysicalValues()
    )
    assembly = synthesized.assembly

    def value(part: str, resource_type: str, prefix: str = "", attribute: str | None = None) -> str:
        logical_id = _one(assembly, part, resource_type, prefix)
        node = {"Fn::GetAtt": [logical_id, attribute]} if attribute else {"Ref": logical_id}
        return str(assembly.resolve(part, node, values))

    return (
        assembly,
        values,
        World(
            env=env,
            account=values.account,
            region=values.region,
            key=value("data", "AWS::KMS::Key", "DataKey", "Arn"),
            artifacts_bucket=value("data", "AWS::S3::Bucket", "ArtifactsBucket"),
            data_bucket=value("data", "AWS::S3::Bucket", "DataBucket"),
            vpc=value("network", "AWS::EC2::VPC"),
            subnet=value("network", "AWS::EC2::Subnet", "NetworkVpcworkloadsSubnet1"),
            workload_security_group=value(
                "network", "AWS::EC2::SecurityGroup", "NetworkWorkloadSecurityGroup", "GroupId"
            ),
            studio_role=value("studio", "AWS::IAM::Role", "StudioExecutionRole", "Arn"),
            teardown_function=value("teardown", "AWS::Lambda::Function", "", "Arn"),
            teardown_queue=value("teardown", "AWS::SQS::Queue", "", "Arn"),
            approval_queue=value("deployment", "AWS::SQS::Queue", "ApprovalsQueue", "Arn"),
            approval_rule=value("deployment", "AWS::Events::Rule", "ApprovalsApprovals", "Arn"),
            delivery_queue=value(
                "deployment", "AWS::SQS::Queue", "ApprovalsDeliveryDeadLetterQueue", "Arn"
            ),
            rollback_alarm=_rollback_alarm(assembly, values),
        ),
    )


def _rollback_alarm(assembly: Assembly, values: PhysicalValues) -> str:
    resources = assembly.templates["deployment"]["Resources"]
    (logical_id,) = [
        logical_id
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
        and str(resource["Properties"].get("AlarmName", "")).endswith("-invocation-5xx")
    ]
    return str(assembly.resolve("deployment", {"Fn::GetAtt": [logical_id, "Arn"]}, values))


def statements_of(
    assembly: Assembly, values: PhysicalValues, grantee: Grantee
) -> list[Mapping[str, Any]]:
    """The statements that decide for the grantee, intrinsics resolved."""
    resources = assembly.templates[grantee.part]["Resources"]
    documents: list[Any] = []
    if grantee.role is not None:
        role = grantee.role(assembly, grantee.part)
        documents += [
            p["PolicyDocument"] for p in resources[role]["Properties"].get("Policies", [])
        ]
        documents += [
            r["Properties"]["PolicyDocument"]
            for r in resources.values()
            if r["Type"] == "AWS::IAM::Policy" and {"Ref": role} in r["Properties"]["Roles"]
        ]
    else:
        for logical_id, resource in resources.items():
            if resource["Type"] != grantee.resource_policy:
                continue
            if resource["Type"] == "AWS::KMS::Key":
                if logical_id.startswith(str(grantee.policy_of)):
                    documents.append(resource["Properties"]["KeyPolicy"])
            elif any(
                re.fullmatch(f"{grantee.policy_of}[0-9A-F]{{8}}", q.get("Ref", ""))
                for q in resource["Properties"]["Queues"]
            ):
                documents.append(resource["Properties"]["PolicyDocument"])
    statements = [
        s
        for document in documents
        for s in _listed(assembly.resolve(grantee.part, document, values)["Statement"])
    ]
    if grantee.service is not None:
        statements = [s for s in statements if principal_is(s, grantee.service)]
    return statements


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _unmet(statements: Iterable[Mapping[str, Any]], requests: Iterable[Request]) -> list[str]:
    statements = list(statements)
    return [
        f"{r.action} on {r.resource} {dict(r.context)}"
        for r in requests
        if not allowed(statements, r)
    ]


@pytest.mark.parametrize("env", ["dev", "prod"])
@pytest.mark.parametrize("need", NEEDS, ids=lambda n: n.who)
def test_each_documented_need_is_granted_and_only_in_scope(
    env: str, need: Need, request: pytest.FixtureRequest
) -> None:
    assembly, values, w = world(request.getfixturevalue(env))
    statements = statements_of(assembly, values, need.grantee)
    assert statements, f"no policy found for {need.grantee}"
    assert _unmet(statements, need.requests(w)) == [], f"{need.who} ({need.source})"
    leaks = [r for r in need.forbidden(w) if allowed(statements, r)]
    assert leaks == [], f"{need.who}: allowed outside its scope"


def test_a_role_without_a_documented_need_fails(dev: Synthesized) -> None:
    """The check can fail: drop the statement that grants ec2:DeleteNetworkInterface from the
    storage clean-up role (defect 3 of issue 12) and the EFS row is unmet."""
    assembly, values, w = world(dev)
    (need,) = [n for n in NEEDS if n.source == EFS_DELETE_MOUNT_TARGET]
    statements = [
        s
        for s in statements_of(assembly, values, need.grantee)
        if "ec2:DeleteNetworkInterface" not in _listed(s["Action"])
    ]
    assert _unmet(statements, need.requests(w)) == [
        f"ec2:DeleteNetworkInterface on {w.arn('ec2', 'network-interface/eni-0123456789abcdef0')} "
        f"{{'ec2:Vpc': '{w.vpc_arn}'}}"
    ]


def test_every_row_is_in_the_security_doc() -> None:
    doc = (ROOT / "docs" / "security.md").read_text()
    missing = sorted({need.source for need in NEEDS if need.source not in doc})
    assert missing == []
