"""The Deployment stack's destroy hook as it ships: the endpoint clean-up function runs from
the synthesized assembly on CloudFormation's request and answers on its response URL (HTTPS),
against moto holding this environment's endpoints and another environment's."""

from __future__ import annotations

from typing import Any

import pytest

from tests.shipped.assembly import Assembly, ShippedFunction
from tests.shipped.fixtures import MotoServer, ResponseUrl
from tests.shipped.lambdas import Invocation, invoke
from tests.synth import Synthesized
from tests.teardown.conftest import (
    OTHER_ENV,
    create_monitoring,
    create_serving_stack,
    monitoring_left,
)

ENV = "dev"


@pytest.fixture
def assembly(dev: Synthesized) -> Assembly:
    return dev.assembly


@pytest.fixture
def function(assembly: Assembly) -> ShippedFunction:
    return assembly.function("deployment", "EndpointCleanup")


def request(assembly: Assembly, response_url: ResponseUrl, request_type: str) -> dict[str, Any]:
    """CloudFormation's request for the template's Custom::EndpointCleanup resource."""
    resources = assembly.templates["deployment"]["Resources"]
    (logical_id,) = [k for k, r in resources.items() if r["Type"] == "Custom::EndpointCleanup"]
    return {
        "RequestType": request_type,
        "ServiceToken": assembly.resolve(
            "deployment", resources[logical_id]["Properties"]["ServiceToken"]
        ),
        "ResponseURL": response_url.url,
        "StackId": assembly.resolve("deployment", {"Ref": "AWS::StackId"}),
        "RequestId": "00000000-0000-4000-8000-000000000002",
        "LogicalResourceId": logical_id,
        "PhysicalResourceId": f"endpoint-cleanup-{ENV}",
        "ResourceType": "Custom::EndpointCleanup",
        "ResourceProperties": assembly.resolve("deployment", resources[logical_id]["Properties"]),
    }


def run(
    assembly: Assembly,
    function: ShippedFunction,
    event: Any,
    moto_server: MotoServer,
    response_url: ResponseUrl,
    **kwargs: Any,
) -> Invocation:
    return invoke(
        assembly,
        function,
        event,
        endpoint_url=moto_server.endpoint_url,
        trusted_ca_file=response_url.ca_file,
        least_privilege_key="endpoint_cleanup",
        **kwargs,
    )


def _serving(moto_server: MotoServer) -> set[str]:
    sm = moto_server.client("sagemaker")
    return {
        *(e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]),
        *(c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]),
        *(m["ModelName"] for m in sm.list_models()["Models"]),
    }


def test_delete_removes_this_environments_endpoints_and_answers_success(
    assembly: Assembly,
    function: ShippedFunction,
    moto_server: MotoServer,
    response_url: ResponseUrl,
) -> None:
    sm = moto_server.client("sagemaker")
    create_serving_stack(sm, "mlops-dev-fraud-detection", ENV)
    create_serving_stack(sm, "mlops-prod-fraud-detection", OTHER_ENV)
    for endpoint, env in (
        ("mlops-dev-fraud-detection", ENV),
        ("mlops-prod-fraud-detection", OTHER_ENV),
    ):
        create_monitoring(sm, endpoint, env)
    invocation = run(
        assembly, function, request(assembly, response_url, "Delete"), moto_server, response_url
    )
    assert invocation.returned() is None
    answer = response_url.answer()
    assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert answer["PhysicalResourceId"] == f"endpoint-cleanup-{ENV}"
    assert _serving(moto_server) == {"mlops-prod-fraud-detection"}
    assert monitoring_left(sm) == {
        "mlops-prod-fraud-detection-dq",
        "mlops-prod-fraud-detection-v1-dq-0123abcd",
    }
    assert {"sagemaker:DeleteEndpoint", "sagemaker:DescribeEndpoint"} <= set(invocation.operations)


def test_a_malformed_request_is_one_line(
    assembly: Assembly,
    function: ShippedFunction,
    moto_server: MotoServer,
    response_url: ResponseUrl,
) -> None:
    event = {k: v for k, v in request(assembly, response_url, "Delete").items() if k != "StackId"}
    invocation = run(assembly, function, event, moto_server, response_url)
    assert invocation.raised() == "InputError: custom resource event lacks StackId"
    assert response_url.bodies == []  # nowhere to answer without a StackId


def test_a_bad_environment_answers_failed_naming_the_variable(
    assembly: Assembly,
    function: ShippedFunction,
    moto_server: MotoServer,
    response_url: ResponseUrl,
) -> None:
    create_serving_stack(moto_server.client("sagemaker"), "mlops-dev-fraud-detection", ENV)
    invocation = run(
        assembly,
        function,
        request(assembly, response_url, "Delete"),
        moto_server,
        response_url,
        environment_overrides={"MLOPS_ENVIRONMENT": "Dev"},
    )
    assert invocation.returned() is None
    answer = response_url.answer()
    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith(
        "InputError: environment variable MLOPS_ENVIRONMENT='Dev' is invalid"
    )
    assert invocation.calls == []
    assert "mlops-dev-fraud-detection" in _serving(moto_server)
