"""Carry out a plan: phase by phase, with bounded parallelism inside a phase, retrying
throttling and "in use", treating "already gone" as done (so a re-run is a no-op)."""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from mlops.teardown import studio_bridge
from mlops.teardown.aws import Clients, error_code, error_message, is_not_found, is_retryable
from mlops.teardown.resources import Action, Kind, Outcome, Plan, Report, Resource, Status

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

LOG = logging.getLogger(__name__)

# A performer may return a detail for the report (e.g. what a Studio pass removed).
Perform = Callable[[Clients, Resource], str | None]
OnOutcome = Callable[[Outcome, int, int], None]


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    base_delay: float = 1.0
    max_delay: float = 30.0
    # Studio apps take minutes to delete: passes repeat while work is pending.
    pending_attempts: int = 60
    pending_delay: float = 15.0

    def delay(self, attempt: int) -> float:
        """Full-jitter exponential backoff before attempt ``attempt + 1``."""
        return random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


def execute(
    plan: Plan,
    clients: Clients,
    *,
    dry_run: bool,
    max_workers: int = 8,
    retry: RetryPolicy = RetryPolicy(),
    sleep: Callable[[float], None] = time.sleep,
    on_outcome: OnOutcome | None = None,
) -> Report:
    """Run ``plan``; never raises for one resource's failure: it is reported as FAILED."""
    outcomes: list[Outcome] = []
    total = len(plan.actions)

    def record(outcome: Outcome) -> None:
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome, len(outcomes), total)

    if dry_run:
        for action in plan.actions:
            record(Outcome(action, Status.PLANNED))
    else:
        with ThreadPoolExecutor(max_workers=max(1, max_workers)) as pool:
            for phase in plan.phases():
                # A phase must finish before the next starts (endpoints before their configs).
                for outcome in pool.map(lambda a: _run(a, clients, retry, sleep), phase):
                    record(outcome)
    return Report(
        environment=plan.environment,
        dry_run=dry_run,
        outcomes=tuple(outcomes),
        skipped=plan.skipped,
    )


def _run(
    action: Action, clients: Clients, retry: RetryPolicy, sleep: Callable[[float], None]
) -> Outcome:
    resource = action.resource
    perform = PERFORMERS[resource.kind]
    attempt = pending = 0
    while True:
        try:
            detail = perform(clients, resource)
        except studio_bridge.PendingError as error:
            pending += 1
            if pending < retry.pending_attempts:
                LOG.info("%s %s pending: %s", action.verb, resource.name, error)
                sleep(retry.pending_delay)
                continue
            return Outcome(action, Status.FAILED, f"still pending: {error}")
        except ClientError as error:
            if is_not_found(error) or _no_longer_running(resource, error):
                return Outcome(action, Status.GONE, f"already gone: {error_message(error)}")
            if is_retryable(error) and attempt + 1 < retry.max_attempts:
                LOG.info("retrying %s %s: %s", action.verb, resource.name, error_code(error))
                sleep(retry.delay(attempt))
                attempt += 1
                continue
            return Outcome(action, Status.FAILED, f"{error_code(error)}: {error_message(error)}")
        except Exception as error:
            LOG.exception("%s %s failed", action.verb, resource.name)
            return Outcome(action, Status.FAILED, f"{type(error).__name__}: {error}")
        LOG.info("%s %s %s", action.verb, resource.kind.label, resource.name)
        return Outcome(action, Status.DONE, detail or ("stopped" if action.verb == "stop" else ""))


def _no_longer_running(resource: Resource, error: ClientError) -> bool:
    """Stopping a job that has finished meanwhile: SageMaker says so with its status."""
    return (
        resource.kind.verb == "stop"
        and error_code(error) == "ValidationException"
        and "status" in error_message(error).lower()
        and "inprogress" not in error_message(error).lower().replace(" ", "")
    )


def _stop_pipeline_execution(clients: Clients, r: Resource) -> None:
    clients.sagemaker.stop_pipeline_execution(
        PipelineExecutionArn=r.params["PipelineExecutionArn"], ClientRequestToken=str(uuid.uuid4())
    )


def _stop_automl_job(clients: Clients, r: Resource) -> None:
    clients.sagemaker.stop_auto_ml_job(AutoMLJobName=r.params["AutoMLJobName"])


def _stop_training_job(clients: Clients, r: Resource) -> None:
    clients.sagemaker.stop_training_job(TrainingJobName=r.params["TrainingJobName"])


def _stop_processing_job(clients: Clients, r: Resource) -> None:
    clients.sagemaker.stop_processing_job(ProcessingJobName=r.params["ProcessingJobName"])


def _stop_transform_job(clients: Clients, r: Resource) -> None:
    clients.sagemaker.stop_transform_job(TransformJobName=r.params["TransformJobName"])


def _delete_app(clients: Clients, r: Resource) -> None:
    clients.sagemaker.delete_app(**r.params)  # type: ignore[arg-type]


def _delete_monitoring_schedule(clients: Clients, r: Resource) -> None:
    # "Also stops the schedule" (DeleteMonitoringSchedule); a Pending one is retried.
    clients.sagemaker.delete_monitoring_schedule(
        MonitoringScheduleName=r.params["MonitoringScheduleName"]
    )


def _delete_data_quality_job_definition(clients: Clients, r: Resource) -> None:
    clients.sagemaker.delete_data_quality_job_definition(
        JobDefinitionName=r.params["JobDefinitionName"]
    )


def _delete_model_quality_job_definition(clients: Clients, r: Resource) -> None:
    clients.sagemaker.delete_model_quality_job_definition(
        JobDefinitionName=r.params["JobDefinitionName"]
    )


def _delete_endpoint(clients: Clients, r: Resource) -> None:
    clients.sagemaker.delete_endpoint(EndpointName=r.params["EndpointName"])


def _delete_endpoint_config(clients: Clients, r: Resource) -> None:
    clients.sagemaker.delete_endpoint_config(EndpointConfigName=r.params["EndpointConfigName"])


def _delete_model(clients: Clients, r: Resource) -> None:
    clients.sagemaker.delete_model(ModelName=r.params["ModelName"])


def _delete_model_package_group(clients: Clients, r: Resource) -> None:
    """A group can only be deleted once empty: its versions go first."""
    group = r.params["ModelPackageGroupName"]
    paginator = clients.sagemaker.get_paginator("list_model_packages")
    for page in paginator.paginate(ModelPackageGroupName=group):
        for package in page.get("ModelPackageSummaryList", []):
            _ignore_gone(
                partial(
                    clients.sagemaker.delete_model_package,
                    ModelPackageName=package["ModelPackageArn"],
                )
            )
    clients.sagemaker.delete_model_package_group(ModelPackageGroupName=group)


def _delete_bucket(clients: Clients, r: Resource) -> None:
    """Empty the (versioned) bucket, 1000 versions per call, then delete it."""
    bucket = r.params["Bucket"]
    paginator = clients.s3.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket):
        keys: list[ObjectIdentifierTypeDef] = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
        ]
        for start in range(0, len(keys), 1000):
            clients.s3.delete_objects(
                Bucket=bucket, Delete={"Objects": keys[start : start + 1000], "Quiet": True}
            )
    clients.s3.delete_bucket(Bucket=bucket)


def _ignore_gone(call: Callable[[], object]) -> None:
    try:
        call()
    except ClientError as error:
        if not is_not_found(error):
            raise


PERFORMERS: dict[Kind, Perform] = {
    Kind.PIPELINE_EXECUTION: _stop_pipeline_execution,
    Kind.AUTOML_JOB: _stop_automl_job,
    Kind.TRAINING_JOB: _stop_training_job,
    Kind.PROCESSING_JOB: _stop_processing_job,
    Kind.TRANSFORM_JOB: _stop_transform_job,
    Kind.STUDIO_APP: _delete_app,
    Kind.STUDIO_DOMAIN_CONTENT: studio_bridge.delete_domain_content,
    Kind.MONITORING_SCHEDULE: _delete_monitoring_schedule,
    Kind.ENDPOINT: _delete_endpoint,
    Kind.ENDPOINT_CONFIG: _delete_endpoint_config,
    Kind.DATA_QUALITY_JOB_DEFINITION: _delete_data_quality_job_definition,
    Kind.MODEL_QUALITY_JOB_DEFINITION: _delete_model_quality_job_definition,
    Kind.MODEL: _delete_model,
    Kind.MODEL_PACKAGE_GROUP: _delete_model_package_group,
    Kind.BUCKET: _delete_bucket,
    Kind.STUDIO_LEFTOVERS: studio_bridge.delete_domain_leftovers,
}
