"""The scheduled clean-up as it ships: the teardown function runs from the synthesized assembly
with the template's environment on what EventBridge Scheduler sends it (an empty object)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.shipped.assembly import Assembly, PhysicalValues, ShippedFunction
from tests.shipped.fixtures import MotoServer
from tests.shipped.lambdas import invoke
from tests.synth import Synthesized
from tests.teardown.conftest import (
    OTHER_ENV,
    age_endpoint,
    create_monitoring,
    create_serving_stack,
    monitoring_left,
)


@pytest.fixture
def assembly(dev: Synthesized) -> Assembly:
    return dev.assembly


@pytest.fixture
def function(assembly: Assembly) -> ShippedFunction:
    return assembly.function("teardown", "ScheduledCleanup")


def _topic(assembly: Assembly, moto_server: MotoServer) -> tuple[PhysicalValues, str, str]:
    """The Data stack's topic is a moto topic with an SQS inbox subscribed to it."""
    sns, sqs = moto_server.client("sns"), moto_server.client("sqs")
    topic = sns.create_topic(Name="notifications")["TopicArn"]
    inbox = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn["Attributes"]["QueueArn"])
    resources = assembly.templates["data"]["Resources"]
    (logical_id,) = [k for k, r in resources.items() if r["Type"] == "AWS::SNS::Topic"]
    return PhysicalValues(pinned={f"data.{logical_id}": topic}), topic, inbox


def test_schedule_run_deletes_idle_endpoints_of_its_environment_and_reports(
    assembly: Assembly, function: ShippedFunction, moto_server: MotoServer
) -> None:
    values, topic, inbox = _topic(assembly, moto_server)
    sm = moto_server.client("sagemaker")
    for name, env in (("mlops-dev-fraud-detection", "dev"), ("mlops-prod-fraud", OTHER_ENV)):
        create_serving_stack(sm, name, env)
        create_monitoring(sm, name, env)  # schedules watch both
        age_endpoint(name, since=datetime.now(UTC) - timedelta(days=3))

    invocation = invoke(
        assembly,
        function,
        {},
        endpoint_url=moto_server.endpoint_url,
        values=values,
        least_privilege_key="teardown",
    )

    result = invocation.returned()
    assert result["ok"] is True
    assert result["summary"].startswith("teardown of dev: 2 done")
    assert invocation.environment["REPORT_TOPIC_ARN"] == topic
    assert [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]] == ["mlops-prod-fraud"]
    # The idle endpoint's schedule went first (the stand-in refuses the endpoint otherwise);
    # its job definition stays, like its config and model (they cost nothing).
    deletes = [op for op in invocation.operations if ":Delete" in op]
    assert deletes == ["sagemaker:DeleteMonitoringSchedule", "sagemaker:DeleteEndpoint"]
    assert monitoring_left(sm) == {
        "mlops-prod-fraud-dq",
        "mlops-prod-fraud-v1-dq-0123abcd",
        "mlops-dev-fraud-detection-v1-dq-0123abcd",
    }
    (message,) = moto_server.client("sqs").receive_message(QueueUrl=inbox)["Messages"]
    assert json.loads(message["Body"])["Subject"] == "[OK] scheduled clean-up of dev"


def test_a_bad_manual_event_is_one_line_and_changes_nothing(
    assembly: Assembly, function: ShippedFunction, moto_server: MotoServer
) -> None:
    values, _, _ = _topic(assembly, moto_server)
    invocation = invoke(
        assembly,
        function,
        {"dry_run": "yes"},
        endpoint_url=moto_server.endpoint_url,
        values=values,
        least_privilege_key="teardown",
    )
    assert invocation.raised() == "InputError: event.dry_run must be true or false, got 'yes'"
    assert not any(op.split(":")[1].startswith(("Delete", "Stop")) for op in invocation.operations)


def test_a_variable_the_construct_did_not_set_is_named(
    assembly: Assembly, function: ShippedFunction, moto_server: MotoServer
) -> None:
    invocation = invoke(
        assembly,
        function,
        {},
        endpoint_url=moto_server.endpoint_url,
        environment_overrides={"JOB_TTL_HOURS": None},
    )
    assert invocation.raised() == "InputError: environment variable JOB_TTL_HOURS is not set"
    assert invocation.calls == []
