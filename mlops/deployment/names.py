"""Deterministic names of what a deployment creates, shared by the CDK stack and the Lambda.

The stack names the CloudWatch alarms at synth; the deploy Lambda names the endpoint, models
and endpoint configs at run time and passes the same alarm names to ``UpdateEndpoint``. Both
call these functions, so they always agree. ``group`` is always the logical group name of
the config (``fraud-detection``); the environment prefix makes every name unique per account
and region across environments.

SageMaker names allow 63 characters. Every run-time name of a group is its :func:`stem` plus a
tail (``-v3``, ``-v3-1a2b3c4d``, ``-dq``, ...). A stem too long to leave room for the longest
tail is cut and suffixed with a hash of the full stem, so it stays unique and is the same for
every name of the group: listing by prefix and reading a version back from a name work alike
for short and long group names.
"""

from __future__ import annotations

import hashlib

from mlops.constants import model_package_group_name

MAX_NAME_LENGTH = 63
# Room left after the stem: the longest tail, a monitoring job definition's
# "-v<version up to 8 digits>-dq-<8 hex>" (mlops.monitoring.names).
LONGEST_TAIL = 22
# One production variant per endpoint; blue/green keeps the name across configs.
VARIANT_NAME = "primary"


def stem(environment: str, group: str) -> str:
    """What every run-time name of ``group`` starts with: ``mlops-<env>-<group>``, or, when
    that leaves no room for the longest tail, its start and a hash of it."""
    full = model_package_group_name(environment, group)
    room = MAX_NAME_LENGTH - LONGEST_TAIL
    if len(full) <= room:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:8]
    return f"{full[: room - 9].rstrip('-')}-{digest}"


def endpoint_name(environment: str, group: str) -> str:
    """The one real-time endpoint serving the logical ``group`` in ``environment``: named
    after the environment's Model Package Group it serves (``mlops-dev-fraud-detection``,
    at most 63 characters: the config refuses longer group names)."""
    return model_package_group_name(environment, group)


def model_name(environment: str, group: str, version: int) -> str:
    """The SageMaker Model built from version ``version`` of ``group``."""
    return f"{stem(environment, group)}-v{version}"


def endpoint_config_name(environment: str, group: str, version: int, settings_hash: str) -> str:
    """The endpoint config of one version under one set of endpoint settings.

    ``settings_hash`` changes when the instance type, count or data capture change, so a new
    config (and a blue/green update) follows a settings change; the same settings give the
    same name, which makes re-deliveries of one event no-ops.
    """
    return f"{model_name(environment, group, version)}-{settings_hash[:8]}"


def name_prefix(environment: str, group: str) -> str:
    """Prefix shared by the models and configs of ``group`` (for listing and pruning)."""
    return f"{stem(environment, group)}-v"


def error_alarm_name(environment: str, group: str) -> str:
    """Alarm on the endpoint's 5XX invocation errors (auto-rollback trigger)."""
    return f"{endpoint_name(environment, group)}-invocation-5xx"


def latency_alarm_name(environment: str, group: str) -> str:
    """Alarm on the endpoint's model latency (auto-rollback trigger)."""
    return f"{endpoint_name(environment, group)}-model-latency"


def rollback_alarm_names(environment: str, group: str) -> tuple[str, str]:
    return (error_alarm_name(environment, group), latency_alarm_name(environment, group))
