"""Compare what each function's code called (recorded) with what its role grants (synthesized).

(a) Every recorded call is allowed: its IAM action by a statement whose resources match the
    ARN the call named (when it named one).
(b) Every granted action was recorded, or is implied by a recorded one, or is on the allow-list
    below with the reason the tests cannot reach it.

Both lists below are the only hand-written part; each entry says why.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tests.security.iam import Statement, iam_action

# Granted on every function's role and used by the Lambda service on its behalf, not by code.
SERVICE_USE = {
    "logs:CreateLogStream": "Lambda writes the function's logs to its log group.",
    "logs:PutLogEvents": "Lambda writes the function's logs to its log group.",
    "xray:PutTraceSegments": "Active tracing: Lambda sends the function's trace segments.",
    "xray:PutTelemetryRecords": "Active tracing: Lambda sends the X-Ray daemon's telemetry.",
}

# Permissions a recorded call needs beyond its own action (checked by AWS on the caller).
IMPLIED: dict[str, dict[str, str]] = {
    "s3:GetObject": {
        "kms:Decrypt": "The artifacts bucket is SSE-KMS encrypted: S3 decrypts as the caller.",
    },
    "sns:Publish": {
        "kms:Decrypt": "The topic is KMS-encrypted: publishing needs the data key.",
        "kms:GenerateDataKey*": "The topic is KMS-encrypted: publishing needs data keys.",
    },
    "sagemaker:CreateModel": {
        "iam:PassRole": "CreateModel passes the model execution role to SageMaker.",
        "sagemaker:AddTags": "Tags given at creation need AddTags on the new resource.",
    },
    "elasticfilesystem:DeleteMountTarget": {
        "ec2:DeleteNetworkInterface": "EFS deletes the mount target's network interface as the "
        "caller (botocore's EFS DeleteMountTarget documentation).",
    },
    "sagemaker:CreateEndpoint": {
        "sagemaker:AddTags": "Tags given at creation need AddTags on the new resource.",
    },
    "sagemaker:UpdateEndpoint": {
        "cloudwatch:DescribeAlarms": "Blue/green auto-rollback: the caller must be able to "
        "describe the rollback alarms it names (SageMaker deployment guardrails).",
    },
    # The Service Authorization Reference lists iam:PassRole and sagemaker:AddTags as dependent
    # actions of these (the job definition names the monitoring role; tags at creation).
    "sagemaker:CreateDataQualityJobDefinition": {
        "iam:PassRole": "The job definition names the monitoring role (RoleArn): it is passed.",
        "sagemaker:AddTags": "Tags given at creation need AddTags on the new resource.",
    },
    "sagemaker:CreateModelQualityJobDefinition": {
        "iam:PassRole": "The job definition names the monitoring role (RoleArn): it is passed.",
        "sagemaker:AddTags": "Tags given at creation need AddTags on the new resource.",
    },
    "sagemaker:CreateMonitoringSchedule": {
        "sagemaker:AddTags": "Tags given at creation need AddTags on the new resource.",
    },
    "sagemaker:CreateEndpointConfig": {
        "sagemaker:AddTags": "Tags given at creation need AddTags on the new resource.",
        "kms:CreateGrant": "A KmsKeyId config: SageMaker creates a grant for the volumes "
        "as the caller (kms:GrantIsForAWSResource).",
        "kms:DescribeKey": "A KmsKeyId config: SageMaker describes the key as the caller.",
    },
}

# Per function: granted actions no test reaches, and why. Keep it short: a new entry needs a
# reason a reviewer accepts, and a test that reaches the call is always better.
UNREACHED: dict[str, dict[str, str]] = {
    "deploy": {
        # Used by the Lambda service for the function, not by its code.
        "sqs:ReceiveMessage": "The SQS event source mapping (Lambda's poller) receives as it.",
        "sqs:DeleteMessage": "The event source mapping deletes processed messages as the role.",
        "sqs:GetQueueAttributes": "The event source mapping reads the queue as the role.",
    },
    "teardown": {
        "sqs:SendMessage": "Lambda sends failed asynchronous invocations to the function's "
        "DLQ as the role.",
    },
    "experiment_logger": {
        "sqs:SendMessage": "Lambda sends failed asynchronous invocations (status events) to the "
        "function's DLQ as the role.",
    },
}


@dataclass
class FunctionResult:
    granted: set[str]
    used: set[str]  # IAM actions of recorded calls
    unauthorized: list[str] = field(default_factory=list)  # (a) violations
    unused: list[str] = field(default_factory=list)  # (b) violations
    allowed_unused: dict[str, str] = field(default_factory=dict)  # with their reason

    @property
    def violations(self) -> list[str]:
        return [*self.unauthorized, *self.unused]


@dataclass
class Result:
    functions: dict[str, FunctionResult]

    @property
    def violations(self) -> list[str]:
        return [
            f"{name}: {violation}"
            for name, function in sorted(self.functions.items())
            for violation in function.violations
        ]

    def as_dict(self) -> dict[str, Any]:
        return {
            name: {
                "granted": sorted(function.granted),
                "used": sorted(function.used),
                "allowed_unused": function.allowed_unused,
                "violations": function.violations,
            }
            for name, function in sorted(self.functions.items())
        }


def statements_from(grants: dict[str, Any]) -> dict[str, list[Statement]]:
    """The plugin hands statements over as JSON (between pytest-xdist processes)."""
    return {
        name: [
            Statement(
                sid=s["sid"],
                actions=tuple(s["actions"]),
                resources=tuple(s["resources"]),
                conditioned=s["conditioned"],
            )
            for s in statements
        ]
        for name, statements in grants.items()
    }


def statements_to(statements: dict[str, list[Statement]]) -> dict[str, Any]:
    return {
        name: [
            {
                "sid": s.sid,
                "actions": list(s.actions),
                "resources": list(s.resources),
                "conditioned": s.conditioned,
            }
            for s in items
        ]
        for name, items in statements.items()
    }


def compare(grants: dict[str, Any], calls: Iterable[tuple[str, str, str, str]]) -> Result:
    roles = statements_from(grants)
    recorded: dict[str, set[tuple[str, str]]] = {name: set() for name in roles}
    for function, service, operation, resource in calls:
        if function not in roles:
            raise AssertionError(f"calls recorded for {function!r}, which has no role")
        recorded[function].add((iam_action(service, operation), resource))

    results: dict[str, FunctionResult] = {}
    for name, statements in sorted(roles.items()):
        granted = {action for s in statements for action in s.actions}
        used = {action for action, _ in recorded[name]}
        result = FunctionResult(granted=granted, used=used)
        for action, resource in sorted(recorded[name]):
            if not any(s.allows(action, resource or None) for s in statements):
                where = f" on {resource}" if resource else ""
                result.unauthorized.append(f"calls {action}{where}, which its role does not allow")
        implied = {
            need: reason for action in used for need, reason in IMPLIED.get(action, {}).items()
        }
        explained = {**SERVICE_USE, **UNREACHED.get(name, {}), **implied}
        for action in sorted(granted):
            if any(_covers(action, call) for call in used):
                continue
            if action in explained:
                result.allowed_unused[action] = explained[action]
                continue
            result.unused.append(f"is granted {action}, which its code never called")
        results[name] = result
    return Result(functions=results)


def _covers(granted: str, used: str) -> bool:
    statement = Statement(sid="", actions=(granted,), resources=("*",), conditioned=False)
    return statement.allows(used, None)


def format_report(result: Result) -> list[str]:
    lines = [
        f"{'function':<28} {'granted':>7} {'used':>5} {'service/implied/unreached':>26}",
    ]
    for name, function in sorted(result.functions.items()):
        lines.append(
            f"{name:<28} {len(function.granted):>7} {len(function.used):>5} "
            f"{len(function.allowed_unused):>26}"
        )
    if result.violations:
        lines.append("LEAST PRIVILEGE VIOLATIONS (fix the role or the code, see docs/security.md):")
        lines.extend(f"  {violation}" for violation in result.violations)
    else:
        lines.append("least privilege: every call allowed, every grant used or explained")
    return lines
