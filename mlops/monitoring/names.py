"""Names of what monitoring creates, shared by the CDK stack (alarms) and the runtime logic.

Schedules are named after the endpoint (one per monitor type, updated in place when a new
version is deployed); job definitions after the version and a hash of their settings (a job
definition cannot be updated, so a new version or new settings give a new definition the
schedule switches to). SageMaker's pattern for both is ``[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}``
(botocore: MonitoringScheduleName, MonitoringJobDefinitionName). All start with the group's
stem (``mlops.deployment.names.stem``), which leaves room for the longest tail.
"""

from __future__ import annotations

import re
from typing import Final, Literal

from mlops.deployment.names import endpoint_name, stem

__all__ = ["MONITOR_TYPES", "MonitorType"]

MonitorType = Literal["DataQuality", "ModelQuality"]
MONITOR_TYPES: Final[tuple[MonitorType, ...]] = ("DataQuality", "ModelQuality")
_SUFFIX: Final[dict[MonitorType, str]] = {"DataQuality": "dq", "ModelQuality": "mq"}
# botocore's MonitoringScheduleName / MonitoringJobDefinitionName pattern.
NAME_PATTERN: Final = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")


def suffix(monitor: MonitorType) -> str:
    return _SUFFIX[monitor]


def schedule_name(environment: str, group: str, monitor: MonitorType) -> str:
    """The endpoint's schedule of one monitor type, e.g. ``mlops-dev-fraud-detection-dq``."""
    return f"{stem(environment, group)}-{_SUFFIX[monitor]}"


def job_definition_name(
    environment: str, group: str, version: int, monitor: MonitorType, settings_hash: str
) -> str:
    """One version's job definition under one set of settings: ``...-v3-dq-1a2b3c4d``."""
    return f"{stem(environment, group)}-v{version}-{_SUFFIX[monitor]}-{settings_hash[:8]}"


def job_definition_pattern(environment: str, group: str, monitor: MonitorType) -> re.Pattern[str]:
    """What :func:`job_definition_name` gives for any version and settings (pruning)."""
    base = re.escape(stem(environment, group))
    return re.compile(rf"{base}-v[0-9]+-{_SUFFIX[monitor]}-[0-9a-f]{{8}}")


def definition_prefix(environment: str, group: str) -> str:
    """``NameContains`` filter for the group's job definitions (list calls)."""
    return f"{stem(environment, group)}-v"


# CloudWatch alarms (created by the Deployment stack at synth, read by `monitor status`).
def alarm_prefix(environment: str, group: str) -> str:
    return f"{endpoint_name(environment, group)}-monitoring-"


def data_drift_alarm_name(environment: str, group: str, feature: str) -> str:
    return f"{alarm_prefix(environment, group)}drift-{feature}"


def model_quality_alarm_name(environment: str, group: str) -> str:
    return f"{alarm_prefix(environment, group)}f1-below-floor"
