"""The deploy Lambda's settings: one environment contract for its construct and its handler.

The Deployment stack builds :class:`DeploySettings` from the config (values may be CDK tokens)
and sets :meth:`DeploySettings.to_environment` on the function; the handler reads the same
variables back, validated, with :meth:`DeploySettings.from_environment`. The variable names
below are used by those two methods only (and by tests that break one on purpose).

Model monitoring: with ``monitoring.enabled`` the settings carry the schedules' settings
(:class:`mlops.monitoring.settings.MonitoringSettings`, their variables beside these), without
it only ``MONITORING_ENABLED=false``: the Lambda then removes what an earlier configuration
created.

Group names: the settings carry the *logical* group names of ``registry.model_package_groups``
(``fraud-detection``). The SageMaker Model Package Group of a logical group is
``mlops.constants.model_package_group_name(environment, group)`` (``mlops-dev-fraud-detection``,
see :attr:`DeploySettings.package_groups`); everything the Lambda names at run time (endpoint,
models, configs, alarms) derives from the environment and the logical group in
``mlops.deployment.names``.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from mlops.constants import model_package_group_name
from mlops.environment import (
    ENVIRONMENT_NAME_PATTERN,
    SECURITY_GROUP_ID_PATTERN,
    SUBNET_ID_PATTERN,
    Variables,
    flag,
)
from mlops.errors import InputError
from mlops.monitoring.settings import ENV_ENABLED as ENV_MONITORING_ENABLED
from mlops.monitoring.settings import MonitoringSettings

if TYPE_CHECKING:
    from mypy_boto3_sagemaker.type_defs import VpcConfigTypeDef

TrafficShift = Literal["all_at_once", "canary", "linear"]
TRAFFIC_SHIFTS: tuple[TrafficShift, ...] = ("all_at_once", "canary", "linear")
# SageMaker's name rule (botocore sagemaker EntityName: 1-63 characters).
GROUP_NAME_PATTERN = r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
MAX_GROUPS = 100
# CreateModel's VpcConfig takes 1-16 subnets and 1-5 security groups.
MAX_SUBNETS = 16
MAX_SECURITY_GROUPS = 5

# Blue/green limits of UpdateEndpoint (botocore sagemaker 2017-07-24 service-2.json):
# CapacitySize Value >= 1 and CanarySize "less than or equal to 50% of the variant's total
# instance count"; LinearStepSize "must be 10-50% of the variant's total instance count";
# WaitIntervalInSeconds and TerminationWaitInSeconds 0-3600; MaximumExecutionTimeoutInSeconds
# 600-28800 and "should be larger than the total waiting time specified in
# TerminationWaitInSeconds and WaitIntervalInSeconds".
CANARY_PERCENT_RANGE = (1, 50)
LINEAR_STEP_PERCENT_RANGE = (10, 50)
MIN_UPDATE_SECONDS = 600
MAX_UPDATE_SECONDS = 28_800
# Launching the new fleet and shifting traffic take time besides the configured waits; AWS
# gives no figure, so half an hour is allowed on top of them.
LAUNCH_ALLOWANCE_SECONDS = 1_800

ENV_ENVIRONMENT = "MLOPS_ENVIRONMENT"
ENV_GROUPS = "MODEL_PACKAGE_GROUPS"
ENV_INSTANCE_TYPE = "INSTANCE_TYPE"
ENV_INSTANCE_COUNT = "INSTANCE_COUNT"
ENV_TRAFFIC_SHIFT = "TRAFFIC_SHIFT"
ENV_CANARY_PERCENT = "CANARY_PERCENT"
ENV_LINEAR_STEP_PERCENT = "LINEAR_STEP_PERCENT"
ENV_BAKE_MINUTES = "BAKE_MINUTES"
ENV_DATA_CAPTURE_PERCENT = "DATA_CAPTURE_PERCENT"
ENV_DATA_CAPTURE_URI = "DATA_CAPTURE_S3_URI"
ENV_KMS_KEY_ARN = "KMS_KEY_ARN"
ENV_EXECUTION_ROLE_ARN = "MODEL_EXECUTION_ROLE_ARN"
ENV_KEEP_PREVIOUS = "KEEP_PREVIOUS_VERSIONS"
ENV_TOPIC_ARN = "NOTIFICATION_TOPIC_ARN"
# The Network stack's subnets and workload security group the models' containers run in.
ENV_SUBNET_IDS = "MODEL_SUBNET_IDS"
ENV_SECURITY_GROUP_IDS = "MODEL_SECURITY_GROUP_IDS"


def traffic_steps(shift: TrafficShift, step_percent: int) -> int:
    """How many times traffic moves: once, canary then the rest, or 100 % in equal steps."""
    if shift == "linear":
        return math.ceil(100 / step_percent)
    return 2 if shift == "canary" else 1


def update_timeout_seconds(shift: TrafficShift, step_percent: int, bake_minutes: int) -> int:
    """``MaximumExecutionTimeoutInSeconds`` for a blue/green update: longer than all its waits.

    AWS does not say whether the wait interval also follows the last step (or an all-at-once
    shift), so every step is counted with one wait, plus the termination wait (= the bake time
    here), plus :data:`LAUNCH_ALLOWANCE_SECONDS`; never below SageMaker's minimum. The caller
    checks the result against :data:`MAX_UPDATE_SECONDS`.
    """
    waits = (traffic_steps(shift, step_percent) + 1) * bake_minutes * 60
    return max(MIN_UPDATE_SECONDS, waits + LAUNCH_ALLOWANCE_SECONDS)


@dataclass(frozen=True, kw_only=True)
class DeploySettings:
    environment: str
    groups: frozenset[str]  # logical group names (see the module doc)
    instance_type: str
    instance_count: int
    traffic_shift: TrafficShift
    canary_percent: int
    linear_step_percent: int
    bake_minutes: int
    data_capture_percent: int
    data_capture_uri: str
    kms_key_arn: str
    execution_role_arn: str
    keep_previous_versions: int
    topic_arn: str
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]
    monitoring: MonitoringSettings | None = None  # None: monitoring disabled

    def __post_init__(self) -> None:
        if self.monitoring is not None and self.monitoring.environment != self.environment:
            raise InputError(
                f"monitoring settings of environment {self.monitoring.environment!r} given to "
                f"the deployment of {self.environment!r}"
            )

    @property
    def package_groups(self) -> dict[str, str]:
        """SageMaker Model Package Group name -> logical group, for every configured group."""
        return {model_package_group_name(self.environment, g): g for g in self.groups}

    @property
    def step_percent(self) -> int:
        """The traffic step of the configured shift (canary size or linear step)."""
        return self.linear_step_percent if self.traffic_shift == "linear" else self.canary_percent

    @property
    def update_timeout_seconds(self) -> int:
        return update_timeout_seconds(self.traffic_shift, self.step_percent, self.bake_minutes)

    @property
    def vpc_config(self) -> VpcConfigTypeDef:
        """CreateModel's ``VpcConfig``: the containers get network interfaces in these subnets."""
        return {
            "SecurityGroupIds": list(self.security_group_ids),
            "Subnets": list(self.subnet_ids),
        }

    @property
    def endpoint_settings_hash(self) -> str:
        """Hash of what an endpoint config holds besides the model (names a new config)."""
        relevant = {
            "instance_type": self.instance_type,
            "instance_count": self.instance_count,
            "data_capture_percent": self.data_capture_percent,
            "data_capture_uri": self.data_capture_uri,
            "kms_key_arn": self.kms_key_arn,
            # Models are named by version only: a new network gives a new config, whose
            # deployment re-creates the model in that network (see deploy._ensure_model).
            "subnet_ids": sorted(self.subnet_ids),
            "security_group_ids": sorted(self.security_group_ids),
        }
        return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()

    def to_environment(self) -> dict[str, str]:
        """The function's environment variables (values may be CDK tokens at synth)."""
        return {
            ENV_ENVIRONMENT: self.environment,
            ENV_GROUPS: ",".join(sorted(self.groups)),
            ENV_INSTANCE_TYPE: self.instance_type,
            ENV_INSTANCE_COUNT: str(self.instance_count),
            ENV_TRAFFIC_SHIFT: self.traffic_shift,
            ENV_CANARY_PERCENT: str(self.canary_percent),
            ENV_LINEAR_STEP_PERCENT: str(self.linear_step_percent),
            ENV_BAKE_MINUTES: str(self.bake_minutes),
            ENV_DATA_CAPTURE_PERCENT: str(self.data_capture_percent),
            ENV_DATA_CAPTURE_URI: self.data_capture_uri,
            ENV_KMS_KEY_ARN: self.kms_key_arn,
            ENV_EXECUTION_ROLE_ARN: self.execution_role_arn,
            ENV_KEEP_PREVIOUS: str(self.keep_previous_versions),
            ENV_TOPIC_ARN: self.topic_arn,
            ENV_SUBNET_IDS: ",".join(self.subnet_ids),
            ENV_SECURITY_GROUP_IDS: ",".join(self.security_group_ids),
            ENV_MONITORING_ENABLED: flag(self.monitoring is not None),
            **(self.monitoring.to_environment() if self.monitoring is not None else {}),
        }

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> DeploySettings:
        """Validate the Lambda's environment; InputError names the first bad variable."""
        read = Variables(environ)
        settings = cls(
            environment=read.text(
                ENV_ENVIRONMENT, ENVIRONMENT_NAME_PATTERN, allowed="1-10 lowercase letters, digits"
            ),
            groups=frozenset(read.ids(ENV_GROUPS, GROUP_NAME_PATTERN, most=MAX_GROUPS)),
            instance_type=read.instance_type(ENV_INSTANCE_TYPE),
            instance_count=read.number(ENV_INSTANCE_COUNT, 1, 100),
            traffic_shift=read.choice(ENV_TRAFFIC_SHIFT, TRAFFIC_SHIFTS),  # type: ignore[arg-type]
            canary_percent=read.number(ENV_CANARY_PERCENT, *CANARY_PERCENT_RANGE),
            linear_step_percent=read.number(ENV_LINEAR_STEP_PERCENT, *LINEAR_STEP_PERCENT_RANGE),
            bake_minutes=read.number(ENV_BAKE_MINUTES, 0, 60),
            data_capture_percent=read.number(ENV_DATA_CAPTURE_PERCENT, 0, 100),
            data_capture_uri=read.text(ENV_DATA_CAPTURE_URI, r"s3://.+", allowed="an s3:// URI"),
            kms_key_arn=read.arn(ENV_KMS_KEY_ARN, "kms"),
            execution_role_arn=read.arn(ENV_EXECUTION_ROLE_ARN, "iam"),
            keep_previous_versions=read.number(ENV_KEEP_PREVIOUS, 0, 20),
            topic_arn=read.arn(ENV_TOPIC_ARN, "sns"),
            subnet_ids=read.ids(ENV_SUBNET_IDS, SUBNET_ID_PATTERN, most=MAX_SUBNETS),
            security_group_ids=read.ids(
                ENV_SECURITY_GROUP_IDS, SECURITY_GROUP_ID_PATTERN, most=MAX_SECURITY_GROUPS
            ),
            monitoring=(
                MonitoringSettings.from_environment(environ)
                if read.flag(ENV_MONITORING_ENABLED)
                else None
            ),
        )
        if settings.update_timeout_seconds > MAX_UPDATE_SECONDS:
            raise InputError(
                f"environment variables {ENV_TRAFFIC_SHIFT}, {ENV_LINEAR_STEP_PERCENT} and "
                f"{ENV_BAKE_MINUTES} need a {settings.update_timeout_seconds} s blue/green update; "
                f"allowed: at most {MAX_UPDATE_SECONDS} s"
            )
        return settings
