"""What the deploy Lambda needs to know, read from its environment at invocation and validated."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from mlops.errors import InputError

if TYPE_CHECKING:
    from mypy_boto3_sagemaker.type_defs import VpcConfigTypeDef

TrafficShift = Literal["all_at_once", "canary", "linear"]
TRAFFIC_SHIFTS: tuple[TrafficShift, ...] = ("all_at_once", "canary", "linear")
_INSTANCE_TYPE = re.compile(r"ml\.[a-z][a-z0-9-]*\.[a-z0-9]+")
# CreateModel's VpcConfig takes 1-16 subnets and 1-5 security groups.
_SUBNET_ID = r"subnet-[0-9a-f]{8,17}"
_SECURITY_GROUP_ID = r"sg-[0-9a-f]{8,17}"
MAX_SUBNETS = 16
MAX_SECURITY_GROUPS = 5

# Environment variable names (the Deployment stack sets them).
ENV_ENVIRONMENT = "MLOPS_ENVIRONMENT"
ENV_GROUPS = "MODEL_PACKAGE_GROUPS"
ENV_INSTANCE_TYPE = "INSTANCE_TYPE"
ENV_INSTANCE_COUNT = "INSTANCE_COUNT"
ENV_TRAFFIC_SHIFT = "TRAFFIC_SHIFT"
ENV_CANARY_PERCENT = "CANARY_PERCENT"
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


@dataclass(frozen=True, kw_only=True)
class DeploySettings:
    environment: str
    groups: frozenset[str]
    instance_type: str
    instance_count: int
    traffic_shift: TrafficShift
    canary_percent: int
    bake_minutes: int
    data_capture_percent: int
    data_capture_uri: str
    kms_key_arn: str
    execution_role_arn: str
    keep_previous_versions: int
    topic_arn: str
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]

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

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> DeploySettings:
        """Validate the Lambda's environment; InputError names the first bad variable."""

        def text(name: str, pattern: str = r".+") -> str:
            value = environ.get(name, "")
            if not re.fullmatch(pattern, value):
                raise InputError(f"environment variable {name}={value!r} is missing or invalid")
            return value

        def number(name: str, low: int, high: int) -> int:
            value = text(name, r"[0-9]+")
            if not low <= int(value) <= high:
                raise InputError(f"environment variable {name}={value} not in {low}..{high}")
            return int(value)

        def ids(name: str, pattern: str, most: int) -> tuple[str, ...]:
            """Comma-separated resource ids, 1..``most`` of them, no duplicates."""
            value = environ.get(name, "")
            items = value.split(",")
            if (
                not value
                or len(items) > most
                or len(set(items)) != len(items)
                or not all(re.fullmatch(pattern, item) for item in items)
            ):
                raise InputError(
                    f"environment variable {name}={value!r} is missing or invalid "
                    f"(1 to {most} comma-separated ids like {pattern})"
                )
            return tuple(items)

        shift = text(ENV_TRAFFIC_SHIFT)
        if shift not in TRAFFIC_SHIFTS:
            raise InputError(f"environment variable {ENV_TRAFFIC_SHIFT}={shift!r} unknown")
        groups = frozenset(g for g in text(ENV_GROUPS).split(",") if g)
        return cls(
            environment=text(ENV_ENVIRONMENT, r"[a-z][a-z0-9]{0,9}"),
            groups=groups,
            instance_type=text(ENV_INSTANCE_TYPE, _INSTANCE_TYPE.pattern),
            instance_count=number(ENV_INSTANCE_COUNT, 1, 100),
            traffic_shift=shift,
            canary_percent=number(ENV_CANARY_PERCENT, 1, 100),
            bake_minutes=number(ENV_BAKE_MINUTES, 0, 60),
            data_capture_percent=number(ENV_DATA_CAPTURE_PERCENT, 0, 100),
            data_capture_uri=text(ENV_DATA_CAPTURE_URI, r"s3://.+"),
            kms_key_arn=text(ENV_KMS_KEY_ARN, r"arn:aws[a-z-]*:kms:.+"),
            execution_role_arn=text(ENV_EXECUTION_ROLE_ARN, r"arn:aws[a-z-]*:iam::.+"),
            keep_previous_versions=number(ENV_KEEP_PREVIOUS, 0, 20),
            topic_arn=text(ENV_TOPIC_ARN, r"arn:aws[a-z-]*:sns:.+"),
            subnet_ids=ids(ENV_SUBNET_IDS, _SUBNET_ID, MAX_SUBNETS),
            security_group_ids=ids(ENV_SECURITY_GROUP_IDS, _SECURITY_GROUP_ID, MAX_SECURITY_GROUPS),
        )
