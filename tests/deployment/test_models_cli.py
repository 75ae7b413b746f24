"""`python -m mlops models ...` and `endpoint invoke` against a moto registry."""

from __future__ import annotations

import io
from typing import Any

import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from mlops import cli
from mlops.deployment import cli as models_cli
from mlops.deployment import names
from tests.deployment.conftest import ENVIRONMENT, GROUP, Account
from tests.deployment.test_deploy import deploy

# The Registry stack now names SageMaker's group mlops-<env>-<group>; the CLI still looks up
# `--group` as SageMaker's name. The CLI rework of issue 12 (not this branch) maps the logical
# name with mlops.constants.model_package_group_name; strict: these fail loudly once it does.
NEEDS_CLI_GROUP_MAPPING = pytest.mark.xfail(
    strict=True, reason="CLI maps --group to model_package_group_name in the CLI rework"
)


@pytest.fixture
def cli_account(account: Account, monkeypatch: pytest.MonkeyPatch) -> Account:
    monkeypatch.setattr(models_cli, "_client", lambda service, region: account.sagemaker)
    return account


@NEEDS_CLI_GROUP_MAPPING
def test_approve_records_the_reason(
    cli_account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    arn = cli_account.register()

    code = cli.main(
        ["models", "approve", "--group", GROUP, "--version", "1", "--reason", "F1 0.91"]
    )

    assert code == 0
    package = cli_account.sagemaker.describe_model_package(ModelPackageName=arn)
    assert (package["ModelApprovalStatus"], package["ApprovalDescription"]) == (
        "Approved",
        "F1 0.91",
    )
    assert "v1 is Approved" in capsys.readouterr().out


def test_reject_unknown_version_is_one_line_error(
    cli_account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_account.register()
    code = cli.main(["models", "reject", "--group", GROUP, "--version", "7", "--reason", "bad"])
    assert code == 2
    assert capsys.readouterr().err == f"error: model package group '{GROUP}' has no version 7\n"


def test_empty_reason_is_refused(cli_account: Account, capsys: pytest.CaptureFixture[str]) -> None:
    cli_account.register()
    code = cli.main(["models", "approve", "--group", GROUP, "--version", "1", "--reason", " "])
    assert code == 2
    assert "--reason must say why" in capsys.readouterr().err


@NEEDS_CLI_GROUP_MAPPING
def test_list_shows_versions_and_the_live_one(
    cli_account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    v1, v2 = cli_account.register(), cli_account.register()
    cli_account.decide(v1, "Approved")
    cli_account.decide(v2, "Rejected")
    cli_account.quota(4)
    deploy(cli_account)

    assert cli.main(["models", "list", "--group", GROUP, "--env", ENVIRONMENT]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["version", "approval", "status", "created", "live"]
    assert lines[1].split()[:2] == ["2", "Rejected"]  # newest first
    assert lines[2].split()[:2] == ["1", "Approved"]
    assert lines[2].endswith(f"<- {names.endpoint_name(ENVIRONMENT, GROUP)}")


def test_invoke_prints_the_prediction(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import boto3

    runtime = boto3.client("sagemaker-runtime", region_name="us-east-1")
    row = "2,TX,947.08,1695574580,TX,16"
    body = b"0.93\n"
    stub = Stubber(runtime)
    stub.add_response(
        "invoke_endpoint",
        {"Body": StreamingBody(io.BytesIO(body), len(body)), "ContentType": "text/csv"},
        {
            "EndpointName": names.endpoint_name("dev", GROUP),
            "ContentType": "text/csv",
            "Accept": "text/csv",
            "Body": row,
        },
    )
    monkeypatch.setattr(models_cli, "_client", lambda service, region: runtime)

    with stub:
        assert cli.main(["endpoint", "invoke", "--group", GROUP, "--csv", row]) == 0

    assert capsys.readouterr().out == "0.93\n"
    stub.assert_no_pending_responses()


def test_invoke_refuses_several_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    runtime: Any = object()
    monkeypatch.setattr(models_cli, "_client", lambda service, region: runtime)
    assert cli.main(["endpoint", "invoke", "--group", GROUP, "--csv", "1,2\n3,4"]) == 2
