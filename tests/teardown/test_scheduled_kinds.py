"""The scheduled clean-up (clean_idle, the teardown function's logic) on every kind it stops or
deletes: expired AutoML, training and transform jobs and pipeline runs, and idle Studio apps.

Stubber, strict in order (moto lacks StopTrainingJob, StopTransformJob, StopPipelineExecution
and Studio apps). One worker keeps the calls in plan order; a call the plan must not make
(young work, another environment's) finds no stubbed response and fails its action, which
``report.ok`` catches.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from mlops.constants import MANAGED_BY_VALUE, TAG_ENVIRONMENT, TAG_MANAGED_BY
from mlops.teardown import Clients, IdlePolicy, Kind, Status, clean_idle
from tests.teardown.conftest import ENV, NO_WAIT, OTHER_ENV, make_clients

POLICY = IdlePolicy(
    endpoint_idle=timedelta(hours=12), job_ttl=timedelta(hours=24), app_idle=timedelta(hours=6)
)
NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
OLD = NOW - timedelta(hours=30)  # past the 24 h job TTL
YOUNG = NOW - timedelta(hours=2)
ARN = "arn:aws:sagemaker:us-east-1:123456789012"
PAGE = {"MaxResults": 100}
RUNNING = {"StatusEquals": "InProgress", "MaxResults": 100}


def arn(kind: str, name: str) -> str:
    return f"{ARN}:{kind}/{name}"


@dataclass
class Fake:
    clients: Clients
    sagemaker: Stubber
    tagging: Stubber

    def tagged(self, arns_by_env: dict[str, list[str]]) -> None:
        self.tagging.add_response(
            "get_resources",
            {
                "ResourceTagMappingList": [
                    {
                        "ResourceARN": resource,
                        "Tags": [
                            {"Key": TAG_ENVIRONMENT, "Value": env},
                            {"Key": TAG_MANAGED_BY, "Value": MANAGED_BY_VALUE},
                        ],
                    }
                    for env, arns in arns_by_env.items()
                    for resource in arns
                ]
            },
        )

    def listed(self, operation: str, key: str, items: list[dict[str, Any]], **params: Any) -> None:
        self.sagemaker.add_response(operation, {key: items}, {**params, **PAGE})

    def no_work_running(self) -> None:
        """Discovery of every idle kind, in discovery's order, finding nothing running."""
        self.listed("list_monitoring_schedules", "MonitoringScheduleSummaries", [])
        self.listed("list_endpoints", "Endpoints", [])
        for operation, key in (
            ("list_auto_ml_jobs", "AutoMLJobSummaries"),
            ("list_training_jobs", "TrainingJobSummaries"),
            ("list_processing_jobs", "ProcessingJobSummaries"),
            ("list_transform_jobs", "TransformJobSummaries"),
        ):
            self.listed(operation, key, [], StatusEquals="InProgress")
        self.listed("list_pipelines", "PipelineSummaries", [])


@pytest.fixture
def fake() -> Iterator[Fake]:
    clients = make_clients()
    with Stubber(clients.sagemaker) as sagemaker, Stubber(clients.tagging) as tagging:
        yield Fake(clients, sagemaker, tagging)
        sagemaker.assert_no_pending_responses()
        tagging.assert_no_pending_responses()


def _run(fake: Fake) -> Any:
    return clean_idle(
        fake.clients, ENV, POLICY, dry_run=False, now=NOW, max_workers=1, retry=NO_WAIT
    )


def _job(prefix: str, kind: str, name: str, since: datetime, **extra: Any) -> dict[str, Any]:
    status = f"{prefix}Status"
    return {
        f"{prefix}Name": name,
        f"{prefix}Arn": arn(kind, name),
        "CreationTime": since,
        status: "InProgress",
        **extra,
    }


def test_expired_work_of_every_kind_is_stopped_and_the_rest_kept(fake: Fake) -> None:
    pipeline = "mlops-dev-training"
    execution = f"{ARN}:pipeline/{pipeline}/execution"
    # Given this environment's running work, old and young, and another environment's
    fake.tagged(
        {
            ENV: [
                arn("automl-job", "dev-automl"),
                arn("training-job", "dev-train-old"),
                arn("training-job", "dev-train-finished"),
                arn("training-job", "dev-train-young"),
                arn("transform-job", "dev-score"),
                arn("pipeline", pipeline),
            ],
            OTHER_ENV: [arn("training-job", "prod-train"), arn("pipeline", "mlops-prod-training")],
        }
    )
    fake.listed("list_monitoring_schedules", "MonitoringScheduleSummaries", [])
    fake.listed("list_endpoints", "Endpoints", [])
    fake.listed(
        "list_auto_ml_jobs",
        "AutoMLJobSummaries",
        [
            _job(
                "AutoMLJob",
                "automl-job",
                "dev-automl",
                OLD,
                AutoMLJobSecondaryStatus="Training",
                LastModifiedTime=OLD,
            )
        ],
        StatusEquals="InProgress",
    )
    fake.listed(
        "list_training_jobs",
        "TrainingJobSummaries",
        [
            _job("TrainingJob", "training-job", "dev-train-old", OLD),
            _job("TrainingJob", "training-job", "dev-train-finished", OLD),
            _job("TrainingJob", "training-job", "dev-train-young", YOUNG),
            _job("TrainingJob", "training-job", "prod-train", OLD),  # not ours
            _job("TrainingJob", "training-job", "untagged-train", OLD),
        ],
        StatusEquals="InProgress",
    )
    fake.listed("list_processing_jobs", "ProcessingJobSummaries", [], StatusEquals="InProgress")
    fake.listed(
        "list_transform_jobs",
        "TransformJobSummaries",
        [_job("TransformJob", "transform-job", "dev-score", OLD)],
        StatusEquals="InProgress",
    )
    fake.listed(
        "list_pipelines",
        "PipelineSummaries",
        [
            {"PipelineName": name, "PipelineArn": arn("pipeline", name)}
            for name in (pipeline, "mlops-prod-training")
        ],
    )
    # Only our pipeline's executions are listed; only "Executing" ones are work.
    fake.listed(
        "list_pipeline_executions",
        "PipelineExecutionSummaries",
        [
            {
                "PipelineExecutionArn": f"{execution}/{run}",
                "StartTime": since,
                "PipelineExecutionStatus": status,
            }
            for run, since, status in (
                ("old1", OLD, "Executing"),
                ("new1", YOUNG, "Executing"),
                ("done1", OLD - timedelta(days=3), "Succeeded"),
            )
        ],
        PipelineName=pipeline,
    )
    # Then, in dependency order: the run first, then the jobs (by kind, then name)
    fake.sagemaker.add_response(
        "stop_pipeline_execution",
        {"PipelineExecutionArn": f"{execution}/old1"},
        {"PipelineExecutionArn": f"{execution}/old1", "ClientRequestToken": ANY},
    )
    fake.sagemaker.add_response("stop_auto_ml_job", {}, {"AutoMLJobName": "dev-automl"})
    # A job that finished between discovery and its stop is already where the stop leads.
    fake.sagemaker.add_client_error(
        "stop_training_job",
        "ValidationException",
        "The request was rejected because the training job is in status Completed.",
        expected_params={"TrainingJobName": "dev-train-finished"},
    )
    fake.sagemaker.add_response("stop_training_job", {}, {"TrainingJobName": "dev-train-old"})
    fake.sagemaker.add_response("stop_transform_job", {}, {"TransformJobName": "dev-score"})

    # When the scheduled clean-up runs
    report = _run(fake)

    # Then what ran past the TTL is stopped, and nothing else is touched
    assert report.ok, report.table()
    assert [
        (o.action.resource.kind, o.action.resource.name, o.status) for o in report.outcomes
    ] == [
        (Kind.PIPELINE_EXECUTION, f"{pipeline}/old1", Status.DONE),
        (Kind.AUTOML_JOB, "dev-automl", Status.DONE),
        (Kind.TRAINING_JOB, "dev-train-finished", Status.GONE),
        (Kind.TRAINING_JOB, "dev-train-old", Status.DONE),
        (Kind.TRANSFORM_JOB, "dev-score", Status.DONE),
    ]
    assert {o.action.reason for o in report.outcomes} == {"running for 30h > 24h"}
    assert {s.resource.name: s.reason for s in report.skipped} == {
        f"{pipeline}/new1": "running for less than 24h",
        "dev-train-young": "running for less than 24h",
    }
    assert (
        report.summary() == "teardown of dev: 4 done, 0 planned, 1 already gone, 2 kept, 0 failed"
    )


def test_idle_studio_apps_are_deleted_and_active_ones_kept(fake: Fake) -> None:
    # Given two domains tagged as ours: one live with apps, one already deleted
    fake.tagged({ENV: [arn("domain", "d-ours"), arn("domain", "d-gone")]})
    fake.no_work_running()
    fake.sagemaker.add_client_error(
        "describe_domain",
        "ResourceNotFound",
        "Domain d-gone not found",
        expected_params={"DomainId": "d-gone"},
    )
    fake.sagemaker.add_response("describe_domain", {"DomainId": "d-ours"}, {"DomainId": "d-ours"})
    # (owner params, app type, last user activity); the Deleted app is not listed as work
    apps = [
        ({"SpaceName": "space-stale"}, "JupyterLab", NOW - timedelta(hours=9)),
        ({"SpaceName": "space-active"}, "JupyterLab", NOW - timedelta(minutes=5)),
        ({"UserProfileName": "data-scientist-1"}, "JupyterServer", NOW - timedelta(hours=7)),
    ]
    fake.listed(
        "list_apps",
        "Apps",
        [
            {
                "DomainId": "d-ours",
                **owner,
                "AppType": app_type,
                "AppName": "default",
                "Status": "InService",
                "CreationTime": NOW - timedelta(days=2),
            }
            for owner, app_type, _ in apps
        ]
        + [
            {
                "DomainId": "d-ours",
                "SpaceName": "space-old",
                "AppType": "CodeEditor",
                "AppName": "default",
                "Status": "Deleted",
            }
        ],
        DomainIdEquals="d-ours",
    )
    for owner, app_type, last_activity in apps:
        params = {"DomainId": "d-ours", **owner, "AppType": app_type, "AppName": "default"}
        described = {
            **params,
            "AppArn": f"{ARN}:app/d-ours/x/{app_type}/default",
            "Status": "InService",
            "LastUserActivityTimestamp": last_activity,
        }
        fake.sagemaker.add_response("describe_app", described, params)
    # Then the two apps idle past 6 h are deleted (names in order), with their owner's key
    for owner, app_type in (
        ({"UserProfileName": "data-scientist-1"}, "JupyterServer"),
        ({"SpaceName": "space-stale"}, "JupyterLab"),
    ):
        fake.sagemaker.add_response(
            "delete_app",
            {},
            {"DomainId": "d-ours", **owner, "AppType": app_type, "AppName": "default"},
        )

    report = _run(fake)

    assert report.ok, report.table()
    assert [(o.action.resource.name, o.status, o.action.reason) for o in report.outcomes] == [
        ("d-ours/data-scientist-1/JupyterServer/default", Status.DONE, "no user activity for 7h"),
        ("d-ours/space-stale/JupyterLab/default", Status.DONE, "no user activity for 9h"),
    ]
    assert [(s.resource.name, s.reason) for s in report.skipped] == [
        ("d-ours/space-active/JupyterLab/default", "user activity within 6h")
    ]
