"""The scheduled clean-up: settings from the Lambda's environment, run, post the report."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from mlops.environment import ENVIRONMENT_NAME_PATTERN, Variables, flag
from mlops.errors import InputError
from mlops.teardown import Clients, IdlePolicy, Report, clean_idle

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

# Environment variable names of the scheduled clean-up function (ScheduledSettings).
ENV_ENVIRONMENT = "MLOPS_ENVIRONMENT"
ENV_TOPIC_ARN = "REPORT_TOPIC_ARN"
ENV_DRY_RUN = "DRY_RUN"
ENV_ENDPOINT_IDLE_HOURS = "ENDPOINT_IDLE_HOURS"
ENV_JOB_TTL_HOURS = "JOB_TTL_HOURS"
ENV_APP_IDLE_HOURS = "APP_IDLE_HOURS"
MAX_HOURS = 720
SNS_MAX_BYTES = 200_000  # below SNS's 256 KB message limit
SNS_MAX_SUBJECT = 100


def _hours(value: timedelta) -> str:
    return str(int(value.total_seconds() // 3600))


@dataclass(frozen=True)
class ScheduledSettings:
    """Environment contract of ``lambdas/teardown``: the construct writes it with
    :meth:`to_environment`, the handler reads it with :meth:`from_environment`."""

    environment: str
    topic_arn: str
    dry_run: bool
    policy: IdlePolicy

    def to_environment(self) -> dict[str, str]:
        return {
            ENV_ENVIRONMENT: self.environment,
            ENV_TOPIC_ARN: self.topic_arn,
            ENV_DRY_RUN: flag(self.dry_run),
            ENV_ENDPOINT_IDLE_HOURS: _hours(self.policy.endpoint_idle),
            ENV_JOB_TTL_HOURS: _hours(self.policy.job_ttl),
            ENV_APP_IDLE_HOURS: _hours(self.policy.app_idle),
        }

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> ScheduledSettings:
        variables = Variables(environ)

        def hours(name: str) -> timedelta:
            return timedelta(hours=variables.number(name, 1, MAX_HOURS))

        return cls(
            environment=variables.text(
                ENV_ENVIRONMENT, ENVIRONMENT_NAME_PATTERN, allowed="an environment name like dev"
            ),
            topic_arn=variables.arn(ENV_TOPIC_ARN, "sns"),
            dry_run=variables.flag(ENV_DRY_RUN),
            policy=IdlePolicy(
                endpoint_idle=hours(ENV_ENDPOINT_IDLE_HOURS),
                job_ttl=hours(ENV_JOB_TTL_HOURS),
                app_idle=hours(ENV_APP_IDLE_HOURS),
            ),
        )


def dry_run_override(event: object) -> bool | None:
    """A manual invocation may pass ``{"dry_run": true}``; the schedule sends no override."""
    if event is None:
        return None
    if not isinstance(event, Mapping):
        raise InputError(f"event must be an object, got {type(event).__name__}")
    value = event.get("dry_run")
    if value is not None and not isinstance(value, bool):
        raise InputError(f"event.dry_run must be true or false, got {value!r}")
    return value


def run_scheduled(
    event: object,
    settings: ScheduledSettings,
    clients: Clients,
    sns: SNSClient,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    override = dry_run_override(event)
    dry_run = settings.dry_run if override is None else override
    report = clean_idle(clients, settings.environment, settings.policy, dry_run=dry_run, now=now)
    publish(sns, settings.topic_arn, report)
    return {"ok": report.ok, "summary": report.summary()}


def publish(sns: SNSClient, topic_arn: str, report: Report) -> None:
    """Post the report: a readable table, then the JSON (truncated to SNS's limit)."""
    status = "OK" if report.ok else "FAILURES"
    subject = f"[{status}] scheduled clean-up of {report.environment}"[:SNS_MAX_SUBJECT]
    text = f"{report.summary()}\n\n{report.table()}\n\n"
    text += json.dumps(report.as_dict(), indent=1, default=str)
    encoded = text.encode()
    if len(encoded) > SNS_MAX_BYTES:
        text = encoded[:SNS_MAX_BYTES].decode(errors="ignore") + "\n... (truncated; see logs)"
    sns.publish(TopicArn=topic_arn, Subject=subject, Message=text)
