"""The deploy Lambda's logic keeps each endpoint's monitoring on the version it serves.

Through ``process_batch`` (the handler's logic, an entry point of the least-privilege proof),
on moto with SageMaker's monitoring schedules (tests/shipped/sagemaker_monitoring.py).
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from botocore.awsrequest import AWSResponse, HTTPHeaders
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.sagemaker.models import sagemaker_backends

from mlops.deployment import names
from mlops.deployment.service import process_batch
from mlops.monitoring import names as monitoring_names
from stacks.constructs.monitoring import removal_statements
from tests.deployment.conftest import ENVIRONMENT, GROUP, REGION, Account, settings
from tests.deployment.events import batch, package_event, sqs_record
from tests.monitoring.conftest import settings as monitoring_settings
from tests.security.iam import Statement, call_resource, iam_action, resolve
from tests.service_model import checked
from tests.shipped.sagemaker_monitoring import state

ENDPOINT = names.endpoint_name(ENVIRONMENT, GROUP)
MONITORED = settings(monitoring=monitoring_settings())


def _backend() -> Any:
    return sagemaker_backends[DEFAULT_ACCOUNT_ID][REGION]


def _schedules() -> dict[str, dict[str, Any]]:
    return state(_backend()).schedules


def _baseline_of(schedule: str) -> str:
    """The data-quality constraints a schedule's job definition compares against."""
    config = _schedules()[schedule]["MonitoringScheduleConfig"]
    definition = config["MonitoringJobDefinitionName"]
    if config["MonitoringType"] == "DataQuality":
        baseline = _backend().data_quality_job_definitions[definition].data_quality_baseline_config
    else:
        baseline = (
            _backend().model_quality_job_definitions[definition].model_quality_baseline_config
        )
    return str(baseline["ConstraintsResource"]["S3Uri"])


def _definitions() -> set[str]:
    return {*_backend().data_quality_job_definitions, *_backend().model_quality_job_definitions}


def _deliver(account: Account, arn: str, *, receive_count: int = 1, **kw: Any) -> dict[str, Any]:
    record = sqs_record(package_event(arn, "Approved"), receive_count=receive_count)
    return process_batch(batch(record), kw.get("deploy_settings", MONITORED), account.clients)


def _approve(account: Account, run: str | None) -> tuple[str, dict[str, Any]]:
    """A new version (with the drift baselines of pipeline run ``run``, or none) approved and
    its event delivered: its ARN and the batch result."""
    arn = account.register(baselines=f"s3://artifacts/pipelines/dev/{run}" if run else None)
    account.decide(arn, "Approved")
    account.quota(4)
    return arn, _deliver(account, arn)


DQ = monitoring_names.schedule_name(ENVIRONMENT, GROUP, "DataQuality")
MQ = monitoring_names.schedule_name(ENVIRONMENT, GROUP, "ModelQuality")


def test_each_approval_binds_the_endpoints_schedules_to_that_versions_baselines(
    account: Account,
) -> None:
    _, result = _approve(account, "run-1")
    assert result == {"batchItemFailures": []}
    assert set(_schedules()) == {DQ, MQ}
    assert _baseline_of(DQ).startswith("s3://artifacts/pipelines/dev/run-1/data-quality")
    assert _baseline_of(MQ).startswith("s3://artifacts/pipelines/dev/run-1/model-quality")

    _, result = _approve(account, "run-2")
    assert result == {"batchItemFailures": []}
    assert account.served_version(ENDPOINT) == 2
    assert "run-2" in _baseline_of(DQ) and "run-2" in _baseline_of(MQ)
    assert all("-v2-" in name for name in _definitions())  # v1's pruned
    subjects = [m["Subject"] for m in account.messages()]
    assert subjects == [f"Deployment created: {GROUP}", f"Deployment updated: {GROUP}"]


def test_a_stopped_schedule_is_started_again_by_the_next_event(account: Account) -> None:
    v1, _ = _approve(account, "run-1")
    _schedules()[DQ]["MonitoringScheduleStatus"] = "Stopped"  # someone stopped it by hand
    assert _deliver(account, v1) == {"batchItemFailures": []}  # the endpoint is unchanged
    assert _schedules()[DQ]["MonitoringScheduleStatus"] == "Scheduled"


def test_a_version_without_baselines_loses_the_schedules_and_a_person_is_told(
    account: Account,
) -> None:
    _approve(account, "run-1")
    _, result = _approve(account, None)  # registered by hand, without baselines
    assert result == {"batchItemFailures": []}
    assert _schedules() == {} and _definitions() == set()
    subjects = [m["Subject"] for m in account.messages()]
    assert subjects[-1] == f"Monitoring incomplete: {GROUP}"


def test_a_pending_schedule_retries_the_record_after_the_deployment_is_announced(
    account: Account,
) -> None:
    _approve(account, "run-1")
    _schedules()[DQ]["MonitoringScheduleStatus"] = "Pending"

    v2, retried = _approve(account, "run-2")

    assert len(retried["batchItemFailures"]) == 1  # SQS delivers it again, with backoff
    assert account.served_version(ENDPOINT) == 2  # the deployment itself went ahead
    assert "run-1" in _baseline_of(DQ)
    _schedules()[DQ]["MonitoringScheduleStatus"] = "Scheduled"
    assert _deliver(account, v2, receive_count=2) == {"batchItemFailures": []}
    assert "run-2" in _baseline_of(DQ)
    subjects = [m["Subject"] for m in account.messages()]
    assert subjects.count(f"Deployment updated: {GROUP}") == 1  # announced once


def test_a_refusal_is_retried_while_the_endpoint_starts_then_notified_and_the_endpoint_stays(
    account: Account,
) -> None:
    """AWS does not say whether a schedule may be made for an endpoint still Creating; and an
    account new to Model Monitor may be refused (docs/monitoring.md): both readings."""
    refusal = {"Code": "ValidationException", "Message": "Model Monitor is not available"}

    def refuse(**_: Any) -> Any:
        return AWSResponse("", 400, HTTPHeaders(), None), {"Error": refusal}

    account.sagemaker.meta.events.register_first(
        "before-call.sagemaker.CreateDataQualityJobDefinition", refuse
    )
    v1, first = _approve(account, "run-1")  # the endpoint is being created: maybe too early
    assert len(first["batchItemFailures"]) == 1
    _backend().endpoints[ENDPOINT].endpoint_status = "InService"
    second = _deliver(account, v1, receive_count=2)  # now it serves: a real refusal

    assert second == {"batchItemFailures": []}
    assert account.endpoint(ENDPOINT)["EndpointStatus"] == "InService"
    messages = {m["Subject"]: m["Message"] for m in account.messages()}
    assert set(messages) == {f"Deployment created: {GROUP}", f"Monitoring not set up: {GROUP}"}
    assert "the endpoint deployment stands" in messages[f"Monitoring not set up: {GROUP}"]
    assert "Model Monitor is not available" in messages[f"Monitoring not set up: {GROUP}"]


def _removal_grants() -> list[Statement]:
    """What the Deployment stack grants the deploy role when monitoring is disabled, rendered
    in a bare stack (no synth of another configuration); account and region stay ``*``, as
    the least-privilege proof reads every role."""
    stack = cdk.Stack(cdk.App(), "Probe")
    rendered = [stack.resolve(s.to_statement_json()) for s in removal_statements(stack, "dev")]
    listed = [raw["Resource"] if isinstance(raw["Resource"], list) else [raw["Resource"]]
              for raw in rendered]  # fmt: skip
    return [
        Statement(raw["Sid"], tuple(raw["Action"]), tuple(resolve(r) for r in resources), False)
        for raw, resources in zip(rendered, listed, strict=True)
    ]


def test_disabling_monitoring_removes_what_an_earlier_configuration_made(
    account: Account,
) -> None:
    v1, _ = _approve(account, "run-1")
    assert _schedules() and _definitions()

    with checked(account.sagemaker) as requests:
        assert _deliver(account, v1, deploy_settings=settings()) == {"batchItemFailures": []}

    assert _schedules() == {} and _definitions() == set()
    assert account.served_version(ENDPOINT) == 1
    # The grants of a disabled configuration (synthesized nowhere else) are exactly its calls.
    removal = [(o, p) for o, p in requests.calls if "Monitoring" in o or "JobDefinition" in o
               or o == "ListTags"]  # fmt: skip
    grants = _removal_grants()
    for operation, params in removal:
        action = iam_action("sagemaker", operation)
        resource = call_resource("sagemaker", operation, params)
        assert any(g.allows(action, resource) for g in grants), (action, resource)
    assert {iam_action("sagemaker", o) for o, _ in removal} == {
        a for g in grants for a in g.actions
    }
