"""The scheduled clean-up: settings from the Lambda's environment, run, post the report."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from mlops.errors import InputError
from mlops.teardown import Clients, IdlePolicy, Report, clean_idle

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

# Environment variable names, shared with the construct that sets them.
ENV_ENVIRONMENT = "MLOPS_ENVIRONMENT"
ENV_TOPIC_ARN = "REPORT_TOPIC_ARN"
ENV_DRY_RUN = "DRY_RUN"
ENV_ENDPOINT_IDLE_HOURS = "ENDPOINT_IDLE_HOURS"
ENV_JOB_TTL_HOURS = "JOB_TTL_HOURS"
ENV_APP_IDLE_HOURS = "APP_IDLE_HOURS"
SNS_MAX_BYTES = 200_000  # below SNS's 256 KB message limit
SNS_MAX_SUBJECT = 100


@dataclass(frozen=True)
class ScheduledSettings:
    environment: str
    topic_arn: str
    dry_run: bool
    policy: IdlePolicy

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ScheduledSettings:
        def required(name: str) -> str:
            value = environ.get(name, "").strip()
            if not value:
                raise InputError(f"environment variable {name} is not set")
            return value

        def hours(name: str) -> timedelta:
            value = required(name)
            if not value.isdigit() or not 1 <= int(value) <= 720:
                raise InputError(f"{name} must be whole hours from 1 to 720, got {value!r}")
            return timedelta(hours=int(value))

        dry_run = required(ENV_DRY_RUN).lower()
        if dry_run not in ("true", "false"):
            raise InputError(f"{ENV_DRY_RUN} must be true or false, got {dry_run!r}")
        topic_arn = required(ENV_TOPIC_ARN)
        if not topic_arn.startswith("arn:") or ":sns:" not in topic_arn:
            raise InputError(f"{ENV_TOPIC_ARN} must be an SNS topic ARN, got {topic_arn!r}")
        return cls(
            environment=required(ENV_ENVIRONMENT),
            topic_arn=topic_arn,
            dry_run=dry_run == "true",
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
