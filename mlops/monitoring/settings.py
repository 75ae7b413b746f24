"""What the monitoring logic needs to know, as the deploy Lambda's environment carries it.

:class:`MonitoringSettings` is one contract with two halves (``mlops.environment``): the CDK
construct writes ``to_environment()`` onto the function, the handler reads
``from_environment(os.environ)`` at invocation; both through ``DeploySettings``, which also
carries :data:`ENV_ENABLED` (settings only when monitoring is enabled). The value rules
(schedule expressions, the ground-truth window) live here once and are also applied to
``cdk.json`` at synth (``stacks.config.MonitoringConfig``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Final

from mlops.environment import (
    ENVIRONMENT_NAME_PATTERN,
    SECURITY_GROUP_ID_PATTERN,
    SUBNET_ID_PATTERN,
    Variables,
)
from mlops.errors import InputError
from mlops.training.names import INFERENCE_OUTPUT

# The expressions CreateMonitoringSchedule's ScheduleConfig accepts for a recurring schedule
# (API ScheduleConfig; docs "The cron expression for monitoring schedule"): hourly
# `cron(0 * ? * * *)`, daily at an hour `cron(0 H ? * * *)`, every N hours from an hour
# `cron(0 H/N ? * * *)`. Minutes are always 0; `NOW` (one-off) is not a schedule.
SCHEDULE_PATTERN: Final = r"cron\(0 (\*|([01]?[0-9]|2[0-3])(/([1-9]|1[0-9]|2[0-4]))?) \? \* \* \*\)"
SCHEDULE_ALLOWED: Final = (
    "a Model Monitor schedule: cron(0 * ? * * *) hourly, cron(0 H ? * * *) daily at hour H, "
    "or cron(0 H/N ? * * *) every N hours (UTC, minutes 0)"
)
# MonitoringStoppingCondition.MaxRuntimeInSeconds is 1..86400 (botocore). A model-quality
# execution runs a merge job and the analysis within it; for an hourly schedule AWS advises
# at most 1800 s ("Schedule model quality monitoring jobs").
MAX_RUNTIME_SECONDS: Final = 86_400
HOURLY_MODEL_QUALITY_MAX_RUNTIME: Final = 1_800
# MonitoringTimeOffsetString is at most 15 characters: "-PT<hours>H" keeps far below.
MAX_OFFSET_HOURS: Final = 24 * 366
PROBLEM_TYPE: Final = "BinaryClassification"
# The endpoint answers `predicted_label,probability` per CSV line (INFERENCE_OUTPUT); for CSV,
# Model Monitor's attributes are column indexes, so the predicted label is column "0". The
# probability Autopilot returns is that of the *predicted* label, not of the positive class,
# so it is not given as ProbabilityAttribute (the monitor would read it as a positive-class
# score): F1, precision, recall and accuracy come from the labels. docs/monitoring.md.
INFERENCE_ATTRIBUTE: Final = str(INFERENCE_OUTPUT.index("predicted_label"))
VOLUME_SIZE_GB: Final = 20

ENV_ENVIRONMENT = "MLOPS_ENVIRONMENT"
ENV_ENABLED = "MONITORING_ENABLED"
ENV_ROLE_ARN = "MONITORING_ROLE_ARN"
ENV_KMS_KEY_ARN = "MONITORING_KMS_KEY_ARN"
ENV_IMAGE_URI = "MONITORING_IMAGE_URI"
ENV_OUTPUT_URI = "MONITORING_OUTPUT_S3_URI"
ENV_GROUND_TRUTH_URI = "MONITORING_GROUND_TRUTH_S3_URI"
ENV_SUBNET_IDS = "MONITORING_SUBNET_IDS"
ENV_SECURITY_GROUP_IDS = "MONITORING_SECURITY_GROUP_IDS"
ENV_INSTANCE_TYPE = "MONITORING_INSTANCE_TYPE"
ENV_MAX_RUNTIME = "MONITORING_MAX_RUNTIME_SECONDS"
ENV_DATA_QUALITY_SCHEDULE = "MONITORING_DATA_QUALITY_SCHEDULE"
ENV_MODEL_QUALITY_SCHEDULE = "MONITORING_MODEL_QUALITY_SCHEDULE"
ENV_WINDOW_START_HOURS = "MONITORING_GROUND_TRUTH_WINDOW_START_HOURS"
ENV_WINDOW_END_HOURS = "MONITORING_GROUND_TRUTH_WINDOW_END_HOURS"

# <account>.dkr.ecr.<region>.<domain>/<repository>[:tag]: amazonaws.com, amazonaws.com.cn and
# the ISO partitions' domains (the SDK's image table has all of them).
IMAGE_URI_PATTERN: Final = r"[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.[a-z0-9.-]+/[a-z0-9._/-]+(:[\w.-]+)?"
_S3_URI = r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^\s]*)?"


def is_hourly(schedule: str) -> bool:
    return schedule == "cron(0 * ? * * *)" or bool(re.fullmatch(r"cron\(0 [0-9]+/1 .*", schedule))


def window_problem(start_hours: int, end_hours: int) -> str | None:
    """Why a ground-truth window is invalid, or None. Hours are before each execution."""
    if not 0 <= end_hours < start_hours <= MAX_OFFSET_HOURS:
        return (
            f"the window must start before it ends: 0 <= end ({end_hours} h) < start "
            f"({start_hours} h) <= {MAX_OFFSET_HOURS} h before each execution"
        )
    return None


def offset(hours: int) -> str:
    """ISO 8601 offset for EndpointInput Start/EndTimeOffset: ``-PT840H`` (``-P#D`` and
    ``-PT#H`` are the documented forms)."""
    return f"-PT{hours}H"


@dataclass(frozen=True, kw_only=True)
class MonitoringSettings:
    environment: str
    role_arn: str
    kms_key_arn: str
    image_uri: str
    output_uri: str  # executions write under <output_uri>/<endpoint>/...
    ground_truth_uri: str  # labels live under <ground_truth_uri>/<endpoint>/yyyy/mm/dd/hh/
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]
    instance_type: str
    max_runtime_seconds: int
    data_quality_schedule: str
    model_quality_schedule: str
    window_start_hours: int
    window_end_hours: int

    def __post_init__(self) -> None:
        problem = window_problem(self.window_start_hours, self.window_end_hours)
        if problem:
            raise InputError(f"ground-truth window: {problem}")

    @property
    def definition_hash(self) -> str:
        """Hash of everything a job definition holds besides the version's baselines: a
        change gives new definitions (they cannot be updated) and the schedules move to them."""
        relevant = asdict(self)
        for key in ("data_quality_schedule", "model_quality_schedule"):
            relevant.pop(key)  # schedule fields, updated in place
        relevant["subnet_ids"] = sorted(self.subnet_ids)
        relevant["security_group_ids"] = sorted(self.security_group_ids)
        return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()

    def to_environment(self) -> dict[str, str]:
        return {
            ENV_ENVIRONMENT: self.environment,
            ENV_ROLE_ARN: self.role_arn,
            ENV_KMS_KEY_ARN: self.kms_key_arn,
            ENV_IMAGE_URI: self.image_uri,
            ENV_OUTPUT_URI: self.output_uri,
            ENV_GROUND_TRUTH_URI: self.ground_truth_uri,
            ENV_SUBNET_IDS: ",".join(self.subnet_ids),
            ENV_SECURITY_GROUP_IDS: ",".join(self.security_group_ids),
            ENV_INSTANCE_TYPE: self.instance_type,
            ENV_MAX_RUNTIME: str(self.max_runtime_seconds),
            ENV_DATA_QUALITY_SCHEDULE: self.data_quality_schedule,
            ENV_MODEL_QUALITY_SCHEDULE: self.model_quality_schedule,
            ENV_WINDOW_START_HOURS: str(self.window_start_hours),
            ENV_WINDOW_END_HOURS: str(self.window_end_hours),
        }

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> MonitoringSettings:
        read = Variables(environ)
        return cls(
            environment=read.text(ENV_ENVIRONMENT, ENVIRONMENT_NAME_PATTERN),
            role_arn=read.arn(ENV_ROLE_ARN, "iam"),
            kms_key_arn=read.arn(ENV_KMS_KEY_ARN, "kms"),
            image_uri=read.text(
                ENV_IMAGE_URI,
                IMAGE_URI_PATTERN,
                allowed="an ECR image URI (the region's sagemaker-model-monitor-analyzer)",
            ),
            output_uri=read.text(ENV_OUTPUT_URI, _S3_URI, allowed="an s3:// URI"),
            ground_truth_uri=read.text(ENV_GROUND_TRUTH_URI, _S3_URI, allowed="an s3:// URI"),
            # MonitoringNetworkConfig.VpcConfig: 1-16 subnets, 1-5 security groups.
            subnet_ids=read.ids(ENV_SUBNET_IDS, SUBNET_ID_PATTERN, most=16),
            security_group_ids=read.ids(ENV_SECURITY_GROUP_IDS, SECURITY_GROUP_ID_PATTERN, most=5),
            instance_type=read.instance_type(ENV_INSTANCE_TYPE),
            max_runtime_seconds=read.number(ENV_MAX_RUNTIME, 1, MAX_RUNTIME_SECONDS),
            data_quality_schedule=read.text(
                ENV_DATA_QUALITY_SCHEDULE, SCHEDULE_PATTERN, allowed=SCHEDULE_ALLOWED
            ),
            model_quality_schedule=read.text(
                ENV_MODEL_QUALITY_SCHEDULE, SCHEDULE_PATTERN, allowed=SCHEDULE_ALLOWED
            ),
            window_start_hours=read.number(ENV_WINDOW_START_HOURS, 1, MAX_OFFSET_HOURS),
            window_end_hours=read.number(ENV_WINDOW_END_HOURS, 0, MAX_OFFSET_HOURS - 1),
        )
