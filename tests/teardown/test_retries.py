"""Retries and error handling, on botocore's Stubber (it validates request shapes against the
service model): throttling and ResourceInUse are retried, "not found" counts as done, a
persistent error is reported as failed, and APIs moto lacks are exercised."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from botocore.stub import Stubber

from mlops.teardown import Action, Clients, Kind, Plan, Resource, Status, execute
from mlops.teardown.discovery import discover
from tests.teardown.conftest import NO_WAIT, make_clients

ENDPOINT = Resource(
    kind=Kind.ENDPOINT,
    name="mlops-dev-fraud",
    arn="arn:aws:sagemaker:us-east-1:123456789012:endpoint/mlops-dev-fraud",
    params={"EndpointName": "mlops-dev-fraud"},
)


def _plan(*resources: Resource) -> Plan:
    return Plan(environment="dev", actions=tuple(Action(r, "test") for r in resources))


@pytest.fixture
def stubbed() -> Iterator[tuple[Clients, Stubber, Stubber]]:
    clients = make_clients()
    with Stubber(clients.sagemaker) as sagemaker, Stubber(clients.tagging) as tagging:
        yield clients, sagemaker, tagging
        sagemaker.assert_no_pending_responses()
        tagging.assert_no_pending_responses()


def test_throttling_and_resource_in_use_are_retried(
    stubbed: tuple[Clients, Stubber, Stubber],
) -> None:
    clients, sagemaker, _ = stubbed
    request = {"EndpointName": "mlops-dev-fraud"}
    sagemaker.add_client_error(
        "delete_endpoint", "ThrottlingException", "Rate exceeded", 400, expected_params=request
    )
    sagemaker.add_client_error(
        "delete_endpoint", "ResourceInUse", "in use", 400, expected_params=request
    )
    sagemaker.add_response("delete_endpoint", {}, request)
    delays: list[float] = []

    report = execute(_plan(ENDPOINT), clients, dry_run=False, retry=NO_WAIT, sleep=delays.append)

    assert [o.status for o in report.outcomes] == [Status.DONE]
    assert len(delays) == 2


def test_persistent_throttling_fails_after_the_attempts(
    stubbed: tuple[Clients, Stubber, Stubber],
) -> None:
    clients, sagemaker, _ = stubbed
    for _ in range(NO_WAIT.max_attempts):
        sagemaker.add_client_error("delete_endpoint", "ThrottlingException", "Rate exceeded")

    report = execute(_plan(ENDPOINT), clients, dry_run=False, retry=NO_WAIT, sleep=lambda _: None)

    (outcome,) = report.outcomes
    assert outcome.status is Status.FAILED
    assert outcome.detail == "ThrottlingException: Rate exceeded"
    assert not report.ok


def test_not_found_is_already_gone(stubbed: tuple[Clients, Stubber, Stubber]) -> None:
    clients, sagemaker, _ = stubbed
    sagemaker.add_client_error(
        "delete_endpoint", "ValidationException", "Could not find endpoint mlops-dev-fraud."
    )
    report = execute(_plan(ENDPOINT), clients, dry_run=False, retry=NO_WAIT)
    assert [o.status for o in report.outcomes] == [Status.GONE]
    assert report.ok


def test_access_denied_is_a_failure_not_a_retry(stubbed: tuple[Clients, Stubber, Stubber]) -> None:
    clients, sagemaker, _ = stubbed
    sagemaker.add_client_error("delete_endpoint", "AccessDeniedException", "not allowed")
    report = execute(_plan(ENDPOINT), clients, dry_run=False, retry=NO_WAIT)
    assert [o.status for o in report.outcomes] == [Status.FAILED]


def test_model_package_group_is_emptied_then_deleted(
    stubbed: tuple[Clients, Stubber, Stubber],
) -> None:
    """moto lacks DeleteModelPackageGroup: the call sequence is checked on the Stubber."""
    clients, sagemaker, _ = stubbed
    group = "dev-fraud-detection"
    arns = [f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{group}/{v}" for v in (1, 2)]
    sagemaker.add_response(
        "list_model_packages",
        {
            "ModelPackageSummaryList": [
                {
                    "ModelPackageArn": arn,
                    "ModelPackageGroupName": group,
                    "ModelPackageVersion": i + 1,
                    "CreationTime": datetime(2025, 1, 1, tzinfo=UTC),
                    "ModelPackageStatus": "Completed",
                }
                for i, arn in enumerate(arns)
            ]
        },
        {"ModelPackageGroupName": group},
    )
    sagemaker.add_response("delete_model_package", {}, {"ModelPackageName": arns[0]})
    sagemaker.add_client_error(  # deleted meanwhile: fine
        "delete_model_package",
        "ValidationException",
        "Model package does not exist",
        expected_params={"ModelPackageName": arns[1]},
    )
    sagemaker.add_response("delete_model_package_group", {}, {"ModelPackageGroupName": group})
    resource = Resource(Kind.MODEL_PACKAGE_GROUP, group, "", {"ModelPackageGroupName": group})

    report = execute(_plan(resource), clients, dry_run=False, retry=NO_WAIT)

    assert [o.status for o in report.outcomes] == [Status.DONE]


def _tagged(tagging: Stubber, arns: list[str]) -> None:
    tagging.add_response(
        "get_resources",
        {
            "ResourceTagMappingList": [
                {
                    "ResourceARN": arn,
                    "Tags": [
                        {"Key": "mlops:environment", "Value": "dev"},
                        {"Key": "mlops:managed-by", "Value": "fraud-mlops-platform"},
                    ],
                }
                for arn in arns
            ]
        },
    )


def test_running_pipeline_executions_of_our_pipelines_are_stopped(
    stubbed: tuple[Clients, Stubber, Stubber],
) -> None:
    """Executions have no tags: they are ours when their pipeline is (moto lacks Stop)."""
    clients, sagemaker, tagging = stubbed
    ours = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/mlops-dev-training"
    theirs = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/mlops-prod-training"
    _tagged(tagging, [ours])
    started = datetime(2025, 1, 1, tzinfo=UTC)
    sagemaker.add_response(
        "list_pipelines",
        {
            "PipelineSummaries": [
                {"PipelineArn": ours, "PipelineName": "mlops-dev-training"},
                {"PipelineArn": theirs, "PipelineName": "mlops-prod-training"},
            ]
        },
    )
    sagemaker.add_response(
        "list_pipeline_executions",
        {
            "PipelineExecutionSummaries": [
                {
                    "PipelineExecutionArn": f"{ours}/execution/run1",
                    "PipelineExecutionStatus": "Executing",
                    "StartTime": started,
                },
                {
                    "PipelineExecutionArn": f"{ours}/execution/run0",
                    "PipelineExecutionStatus": "Succeeded",
                    "StartTime": started - timedelta(days=1),
                },
            ]
        },
        {"PipelineName": "mlops-dev-training", "MaxResults": 100},
    )
    inventory = discover(clients, "dev", {Kind.PIPELINE_EXECUTION})
    (execution,) = inventory.resources
    assert execution.name == "mlops-dev-training/run1"
    assert execution.since == started

    sagemaker.add_response(
        "stop_pipeline_execution",
        {"PipelineExecutionArn": f"{ours}/execution/run1"},
    )
    report = execute(_plan(execution), clients, dry_run=False, retry=NO_WAIT)
    assert [o.status for o in report.outcomes] == [Status.DONE]


def test_a_job_that_finished_meanwhile_is_already_gone(
    stubbed: tuple[Clients, Stubber, Stubber],
) -> None:
    clients, sagemaker, _ = stubbed
    sagemaker.add_client_error(
        "stop_training_job",
        "ValidationException",
        "The request was rejected because the training job is in status Completed.",
    )
    job = Resource(Kind.TRAINING_JOB, "train-1", "", {"TrainingJobName": "train-1"})
    report = execute(_plan(job), clients, dry_run=False, retry=NO_WAIT)
    assert [o.status for o in report.outcomes] == [Status.GONE]
