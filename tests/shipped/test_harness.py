"""The harness that runs shipped Lambdas: isolation, environment, moto, stubs, validation.

Given a function folder made by the test (standing for a staged asset), the harness must:
make only that folder and its layers importable, hand it the template's environment, send
AWS calls to the moto server, answer stubbed operations only with responses that fit the
service model, and let botocore reject requests that do not.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.shipped.assembly import Assembly, PhysicalValues, ShippedFunction
from tests.shipped.fixtures import MotoServer, ResponseUrl
from tests.shipped.lambdas import Stub, invoke
from tests.synth import Synthesized

HANDLER = textwrap.dedent(
    """
    import os
    import boto3

    def handler(event, context):
        action = event["action"]
        if action == "import-repository":
            import stacks  # the repository's source tree must not be importable
        if action == "environment":
            remaining = context.get_remaining_time_in_millis()
            return {"BUCKET": os.environ["BUCKET"], "remaining": remaining}
        if action == "list-buckets":
            return [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]]
        if action == "update-endpoint":
            return boto3.client("sagemaker").update_endpoint(**event["params"])["EndpointArn"]
        if action == "answer":
            import urllib.request
            body = b'{"Status": "SUCCESS"}'
            request = urllib.request.Request(event["url"], data=body, method="PUT")
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
    """
)


@pytest.fixture
def function(tmp_path: Path) -> ShippedFunction:
    code = tmp_path / "asset.code"
    code.mkdir()
    (code / "handler.py").write_text(HANDLER)
    return ShippedFunction(
        part="test",
        logical_id="Probe",
        code_dir=code,
        layer_dirs=(),
        handler="handler.handler",
        runtime="python3.14",
        timeout_seconds=30,
        environment={"BUCKET": "probe-bucket"},
    )


@pytest.fixture
def assembly(dev: Synthesized) -> Assembly:
    return dev.assembly


def test_only_the_function_folder_is_importable(
    assembly: Assembly, function: ShippedFunction, moto_server: MotoServer
) -> None:
    invocation = invoke(
        assembly, function, {"action": "import-repository"}, endpoint_url=moto_server.endpoint_url
    )
    assert invocation.raised() == "ModuleNotFoundError: No module named 'stacks'"


def test_environment_and_context_are_lambdas(
    assembly: Assembly, function: ShippedFunction, moto_server: MotoServer
) -> None:
    result = invoke(
        assembly, function, {"action": "environment"}, endpoint_url=moto_server.endpoint_url
    ).returned()
    assert result["BUCKET"] == "probe-bucket"
    assert 0 < result["remaining"] <= 30_000


def test_calls_reach_the_moto_server(
    assembly: Assembly, function: ShippedFunction, moto_server: MotoServer
) -> None:
    moto_server.client("s3").create_bucket(Bucket="made-by-the-test")
    invocation = invoke(
        assembly, function, {"action": "list-buckets"}, endpoint_url=moto_server.endpoint_url
    )
    assert invocation.returned() == ["made-by-the-test"]
    assert invocation.operations == ["s3:ListBuckets"]


UPDATE = {"EndpointName": "e", "EndpointConfigName": "c"}


def test_stubbed_operation_answers_with_a_valid_response(
    assembly: Assembly, function: ShippedFunction, moto_server: MotoServer
) -> None:
    arn = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/e"
    invocation = invoke(
        assembly,
        function,
        {"action": "update-endpoint", "params": UPDATE},
        endpoint_url=moto_server.endpoint_url,
        stubs=[Stub("sagemaker", "UpdateEndpoint", {"EndpointArn": arn}, expected_params=UPDATE)],
    )
    assert invocation.returned() == arn


def test_botocore_rejects_a_request_the_service_model_forbids(
    assembly: Assembly, function: ShippedFunction, moto_server: MotoServer
) -> None:
    invocation = invoke(
        assembly,
        function,
        {"action": "update-endpoint", "params": {"EndpointName": "e"}},
        endpoint_url=moto_server.endpoint_url,
        stubs=[Stub("sagemaker", "UpdateEndpoint", {"EndpointArn": "x"})],
    )
    assert invocation.raised().startswith("ParamValidationError")
    assert "EndpointConfigName" in invocation.raised()


def test_a_stubbed_response_must_fit_the_output_shape(
    assembly: Assembly, function: ShippedFunction, moto_server: MotoServer
) -> None:
    invocation = invoke(
        assembly,
        function,
        {"action": "update-endpoint", "params": UPDATE},
        endpoint_url=moto_server.endpoint_url,
        stubs=[Stub("sagemaker", "UpdateEndpoint", {"NoSuchField": 1})],
    )
    assert "stubbed UpdateEndpoint response" in invocation.raised()


def test_stubbed_errors_are_client_errors(
    assembly: Assembly, function: ShippedFunction, moto_server: MotoServer
) -> None:
    invocation = invoke(
        assembly,
        function,
        {"action": "update-endpoint", "params": UPDATE},
        endpoint_url=moto_server.endpoint_url,
        stubs=[Stub("sagemaker", "UpdateEndpoint", error={"Code": "ValidationException"})],
    )
    assert invocation.raised().startswith("ClientError: An error occurred (ValidationException)")


def test_template_environment_resolves_across_stacks(assembly: Assembly) -> None:
    """Weak cross-stack references (Fn::GetStackOutput) are followed to the producing stack."""
    [deploy] = [f for f in assembly.functions("deployment") if "Deploy" in f.logical_id]
    values = PhysicalValues(pinned={"data.NotificationsTopicE4AF40A8": "arn:pinned-topic"})
    environment = assembly.environment(deploy, values)
    assert environment["NOTIFICATION_TOPIC_ARN"] == "arn:pinned-topic"
    assert environment["KMS_KEY_ARN"].startswith("arn:aws:kms:us-east-1:123456789012:key/")
    assert all(
        subnet.startswith("subnet-") for subnet in environment["MODEL_SUBNET_IDS"].split(",")
    )


def test_a_shipped_function_runs_from_its_staged_asset(
    assembly: Assembly, moto_server: MotoServer
) -> None:
    [cleanup] = [f for f in assembly.functions("deployment") if "EndpointCleanup" in f.logical_id]
    invocation = invoke(
        assembly, cleanup, {"RequestType": "Nope"}, endpoint_url=moto_server.endpoint_url
    )
    assert invocation.raised().startswith("InputError: custom resource event lacks")
    assert all(
        Path(path).is_relative_to(cleanup.code_dir)
        or Path(path).is_relative_to(cleanup.layer_dirs[0])
        for path in invocation.module_files.values()
    )
    assert "mlops.teardown.custom_resource" in invocation.module_files


def test_custom_resource_answers_reach_the_response_url_over_https(
    assembly: Assembly,
    function: ShippedFunction,
    moto_server: MotoServer,
    response_url: ResponseUrl,
) -> None:
    event = {"action": "answer", "url": response_url.url}
    endpoint = moto_server.endpoint_url
    untrusted = invoke(assembly, function, event, endpoint_url=endpoint)
    assert "CERTIFICATE_VERIFY_FAILED" in untrusted.raised()
    trusted = invoke(
        assembly, function, event, endpoint_url=endpoint, trusted_ca_file=response_url.ca_file
    )
    assert trusted.returned() == 200
    assert response_url.answer() == {"Status": "SUCCESS"}
