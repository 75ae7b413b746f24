"""`python -m mlops models ...` and `endpoint invoke` against a moto registry and endpoint.

``--group fraud-detection --env dev`` addresses the environment-scoped SageMaker group
``mlops-dev-fraud-detection`` and the endpoint ``names.endpoint_name("dev", group)``.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from moto import mock_aws

from mlops.cli import main
from mlops.constants import model_package_group_name
from mlops.deployment import names
from tests.aws_machine import Machine, stub_clients

REGION = "us-east-1"
GROUP = "fraud-detection"
SAGEMAKER_GROUP = model_package_group_name("dev", GROUP)
ENDPOINT = names.endpoint_name("dev", GROUP)
ROLE = "arn:aws:iam::123456789012:role/model"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/xgboost:1"
DEV = ["--env", "dev", "--group", GROUP]


class Registry:
    """The dev environment's group in moto, its versions and (optionally) its endpoint."""

    def __init__(self) -> None:
        self.sagemaker: Any = boto3.client("sagemaker", region_name=REGION)
        self.sagemaker.create_model_package_group(ModelPackageGroupName=SAGEMAKER_GROUP)

    def register(self) -> str:
        return str(
            self.sagemaker.create_model_package(
                ModelPackageGroupName=SAGEMAKER_GROUP,
                InferenceSpecification={
                    "Containers": [{"Image": IMAGE, "ModelDataUrl": "s3://a/models/m.tar.gz"}],
                    "SupportedContentTypes": ["text/csv"],
                    "SupportedResponseMIMETypes": ["text/csv"],
                },
                ModelApprovalStatus="PendingManualApproval",
            )["ModelPackageArn"]
        )

    def status(self, arn: str) -> tuple[str, str]:
        package = self.sagemaker.describe_model_package(ModelPackageName=arn)
        return package["ModelApprovalStatus"], package.get("ApprovalDescription", "")

    def serve(self, arn: str) -> None:
        """The endpoint serves package ``arn``, as the deploy Lambda leaves it."""
        self.sagemaker.create_model(
            ModelName="m", ExecutionRoleArn=ROLE, PrimaryContainer={"ModelPackageName": arn}
        )
        self.sagemaker.create_endpoint_config(
            EndpointConfigName="c",
            ProductionVariants=[
                {"VariantName": names.VARIANT_NAME, "ModelName": "m",
                 "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
            ],
        )  # fmt: skip
        self.sagemaker.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="c")


@pytest.fixture
def machine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Machine:
    return Machine(monkeypatch, tmp_path / "home").with_region(REGION).with_credentials()


@pytest.fixture
def registry(machine: Machine) -> Iterator[Registry]:
    with mock_aws():
        yield Registry()


def test_approve_records_the_reason(registry: Registry, capsys: pytest.CaptureFixture[str]) -> None:
    arn = registry.register()

    assert main(["models", "approve", *DEV, "--version", "1", "--reason", "F1 0.91"]) == 0

    assert registry.status(arn) == ("Approved", "F1 0.91")
    assert f"{SAGEMAKER_GROUP} v1 is Approved" in capsys.readouterr().out


def test_reject_unknown_version_is_one_line_error(
    registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    registry.register()
    assert main(["models", "reject", *DEV, "--version", "7", "--reason", "bad"]) == 2
    assert capsys.readouterr().err == (
        f"error: model package group '{SAGEMAKER_GROUP}' has no version 7\n"
    )


def test_empty_reason_is_refused(registry: Registry, capsys: pytest.CaptureFixture[str]) -> None:
    registry.register()
    assert main(["models", "approve", *DEV, "--version", "1", "--reason", " "]) == 2
    assert "--reason must say why" in capsys.readouterr().err


def test_list_shows_versions_and_the_live_one(
    registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    v1, v2 = registry.register(), registry.register()
    registry.serve(v1)

    assert main(["models", "list", *DEV]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["version", "approval", "status", "created", "live"]
    assert lines[1].split()[:2] == ["2", "PendingManualApproval"]  # newest first
    assert lines[2].split()[:2] == ["1", "PendingManualApproval"]
    assert lines[2].endswith(f"<- {ENDPOINT}") and ENDPOINT not in lines[1]

    assert main(["models", "list", *DEV, "--output", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert (listed["group"], listed["endpoint"]) == (SAGEMAKER_GROUP, ENDPOINT)
    assert [(v["version"], v["arn"], v["live"]) for v in listed["versions"]] == [
        (2, v2, False),
        (1, v1, True),
    ]


def test_a_group_that_is_not_configured_is_refused_before_aws(
    machine: Machine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "list", "--env", "dev", "--group", "fraud"]) == 2
    assert capsys.readouterr().err == (
        "error: group 'fraud' is not configured for environment dev: cdk.json configures "
        "fraud-detection\n"
    )


def test_a_group_not_deployed_names_the_groups_there(
    machine: Machine, capsys: pytest.CaptureFixture[str]
) -> None:
    with mock_aws():
        other: Any = boto3.client("sagemaker", region_name=REGION)
        other.create_model_package_group(ModelPackageGroupName="mlops-dev-churn")
        assert main(["models", "list", *DEV]) == 1
    assert capsys.readouterr().err == (
        f"error: model package group {SAGEMAKER_GROUP} not found in {REGION} (groups of dev "
        "there: mlops-dev-churn): deploy the registry stack (make deploy ENV=dev) or pass the "
        "--region it is in\n"
    )


def test_invoke_prints_the_prediction(
    machine: Machine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    row = "2,TX,947.08,1695574580,TX,16"
    body = b"1,0.93\n"  # what the registered model answers: label, probability of it

    def answers(stub: Stubber) -> None:
        stub.add_response(
            "invoke_endpoint",
            {"Body": StreamingBody(io.BytesIO(body), len(body)), "ContentType": "text/csv"},
            {"EndpointName": ENDPOINT, "ContentType": "text/csv", "Accept": "text/csv",
             "Body": row, "InferenceId": "tx-42"},
        )  # fmt: skip

    stubbers = stub_clients(monkeypatch, {"sagemaker-runtime": answers})
    assert main(["endpoint", "invoke", *DEV, "--csv", row, "--inference-id", "tx-42"]) == 0
    output = capsys.readouterr()
    assert output.out == "predicted_label=1 probability=0.93\n"
    assert output.err == "inference id: tx-42\n"
    [stubber] = stubbers
    stubber.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("body", "printed"),
    [
        (b"0,0.97\n", {"predicted_label": "0", "probability": "0.97"}),
        (b"1\n", {"answer": "1"}),  # a model registered by hand may answer the label only
    ],
)
def test_invoke_prints_the_answer_as_json(
    machine: Machine,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    body: bytes,
    printed: dict[str, str],
) -> None:
    def answers(stub: Stubber) -> None:
        stub.add_response("invoke_endpoint", {"Body": StreamingBody(io.BytesIO(body), len(body))})

    stub_clients(monkeypatch, {"sagemaker-runtime": answers})
    args = ["endpoint", "invoke", *DEV, "--csv", "1,2", "--inference-id", "tx-7", "--output"]
    assert main([*args, "json"]) == 0
    assert json.loads(capsys.readouterr().out) == {**printed, "inference_id": "tx-7"}


def test_invoke_of_a_missing_endpoint_names_the_endpoints_there(
    registry: Registry, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    registry.sagemaker.create_model(
        ModelName="x", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE}
    )
    registry.sagemaker.create_endpoint_config(
        EndpointConfigName="x",
        ProductionVariants=[{"VariantName": "v", "ModelName": "x", "InitialInstanceCount": 1,
                             "InstanceType": "ml.m5.large"}],
    )  # fmt: skip
    registry.sagemaker.create_endpoint(EndpointName="mlops-dev-churn", EndpointConfigName="x")

    def answers(stub: Stubber) -> None:
        # SageMaker Runtime's answer for an endpoint that does not exist.
        message = f"Endpoint {ENDPOINT} of account 123456789012 not found."
        stub.add_client_error("invoke_endpoint", "ValidationError", message, 400)

    stub_clients(monkeypatch, {"sagemaker-runtime": answers})
    assert main(["endpoint", "invoke", *DEV, "--csv", "1,2"]) == 1
    assert capsys.readouterr().err == (
        f"error: endpoint {ENDPOINT} not found in {REGION} (endpoints of dev there: "
        f"mlops-dev-churn): approve a version of {GROUP} to deploy it, or pass the --region "
        "it is in\n"
    )


def test_invoke_sends_a_new_inference_id_by_default(
    machine: Machine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sent: list[str] = []

    def answers(stub: Stubber) -> None:
        body = b"0\n"
        stub.add_response("invoke_endpoint", {"Body": StreamingBody(io.BytesIO(body), len(body))})
        stub.client.meta.events.register(
            "before-parameter-build.sagemaker-runtime.InvokeEndpoint",
            lambda params, **_: sent.append(params["InferenceId"]),
        )

    stub_clients(monkeypatch, {"sagemaker-runtime": answers})
    assert main(["endpoint", "invoke", *DEV, "--csv", "1,2"]) == 0
    assert re.fullmatch(r"[0-9a-f]{32}", sent[0])
    assert capsys.readouterr().err == f"inference id: {sent[0]}\n"


def test_invoke_refuses_a_bad_inference_id(
    machine: Machine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stub_clients(monkeypatch, {"sagemaker-runtime": lambda stub: None})
    assert main(["endpoint", "invoke", *DEV, "--csv", "1,2", "--inference-id", "x" * 65]) == 2
    assert "--inference-id" in capsys.readouterr().err


def test_invoke_refuses_several_rows(
    machine: Machine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A stubber with no answers: any call would fail the command with status 1.
    stub_clients(monkeypatch, {"sagemaker-runtime": lambda stub: None})
    assert main(["endpoint", "invoke", *DEV, "--csv", "1,2\n3,4"]) == 2
    assert capsys.readouterr().err == "error: --csv takes exactly one non-empty row\n"
