"""`python -m mlops`: one layout, the same common options everywhere, and every error as one
line with the documented exit status (``mlops.command``, ``mlops.aws_errors``)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore import exceptions as aws

from mlops import cli
from mlops.aws_errors import EXIT_USAGE, explain
from mlops.command import Context, describe, execute, existing_names, load_environment
from mlops.errors import InputError, MlopsError
from tests.aws_machine import Machine
from tests.synth import ROOT


def leaf_commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every runnable command of the tree, with its parser."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from leaf_commands(child, (*path, name))
    if parser.get_default("run") is not None:
        yield " ".join(path), parser


def options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {flag: action for action in parser._actions for flag in action.option_strings}


COMMANDS = dict(leaf_commands(cli.build_parser()))
# Commands that print a table (or a report) and so offer --output json.
TABLES = {"quotas check", "pipeline start", "models list", "teardown", "data generate",
          "data partition", "data merge", "monitor status", "experiments list",
          "experiments compare", "endpoint invoke"}  # fmt: skip


def test_help_lists_the_commands_common_options_and_exit_statuses() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mlops", "--help"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0
    expected = [
        "usage: python -m mlops", "--env NAME", "--profile NAME", "--region REGION",
        "--output json", "--debug", "exit status:", "  2    usage or input error",
    ]  # fmt: skip
    assert [text for text in expected if text not in result.stdout] == []


def test_one_home_per_feature() -> None:
    assert sorted(COMMANDS) == [
        "data generate", "data merge", "data partition", "endpoint invoke", "experiments compare",
        "experiments list", "labels upload",
        "models approve", "models list", "models reject", "monitor status", "pipeline start",
        "pipeline watch", "quotas check", "teardown",
    ]  # fmt: skip
    assert not list((ROOT / "mlops").glob("*_cli.py"))
    features = {f"mlops.{p.parent.name}.cli" for p in (ROOT / "mlops").glob("*/cli.py")}
    assert features == set(cli._FEATURES)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_the_same_common_options(command: str) -> None:
    found = options(COMMANDS[command])
    assert "--debug" in found
    assert {"--profile", "--region"} <= set(found)  # every command may call AWS
    if command.startswith("data "):  # explicit paths or s3:// URIs, no environment
        assert "--env" not in found
    else:
        assert found["--env"].required and found["--env"].default is None
        assert found["--config"].default == ROOT / "cdk.json"
    assert ("--output" in found) == (command in TABLES)
    if command in TABLES:
        assert found["--output"].choices == ("text", "json")


def test_usage_errors_exit_2() -> None:
    assert cli.main(["models"]) == 2  # no sub-command
    assert cli.main(["models", "list", "--group", "fraud-detection"]) == 2  # --env is required
    assert cli.main(["--version"]) == 0


def test_an_error_is_one_line_and_debug_adds_the_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def failing(ctx: Context) -> int:
        raise InputError("--rows must be a positive whole number,\ngot -3")

    assert execute(argparse.Namespace(run=failing)) == 2
    assert capsys.readouterr().err == ("error: --rows must be a positive whole number,; got -3\n")
    assert execute(argparse.Namespace(run=failing, debug=True)) == 2
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    assert err.endswith("error: --rows must be a positive whole number,; got -3\n")


def test_a_closed_pipe_ends_quietly(capsys: pytest.CaptureFixture[str]) -> None:
    def printing(ctx: Context) -> int:
        raise BrokenPipeError(32, "Broken pipe")  # what print() raises after `| head` left

    assert execute(argparse.Namespace(run=printing)) == 1
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("error", "line", "status"),
    [
        (InputError("--workers must be from 1 to 32, got 0"),
         "--workers must be from 1 to 32, got 0", 2),
        (MlopsError("pipeline mlops-dev-training not found in eu-west-1"),
         "pipeline mlops-dev-training not found in eu-west-1", 1),
        (FileNotFoundError(2, "No such file or directory", "out/x.csv"),
         "[Errno 2] No such file or directory: 'out/x.csv'", 1),
        (KeyError("Steps"),
         "unexpected KeyError: 'Steps' (run again with --debug for the traceback)", 1),
    ],
)  # fmt: skip
def test_describe_errors_that_are_not_aws(error: Exception, line: str, status: int) -> None:
    assert describe(error) == (line, status)


PRINCIPAL = "User: arn:aws:sts::123456789012:assumed-role/ds/jane"


def client_error(
    code: str, message: str, operation: str = "DescribePipeline", retries: int = 0
) -> aws.ClientError:
    """A ClientError as botocore raises it from AWS's error response."""
    response: Any = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": 400, "RetryAttempts": retries},
    }
    return aws.ClientError(response, operation)


@pytest.mark.parametrize(
    ("error", "line", "status"),
    [
        (aws.NoRegionError(), "no AWS region: pass --region, set `region` for the environment "
         "in cdk.json, or configure one (export AWS_REGION=eu-west-1, or aws configure set "
         "region eu-west-1)", 1),
        (aws.NoCredentialsError(), "no AWS credentials found: run aws configure (or aws sso "
         "login --profile NAME and pass --profile NAME), or export AWS_PROFILE or "
         "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", 1),
        (aws.UnauthorizedSSOTokenError(), "AWS credentials expired or unusable (The SSO "
         "session associated with this profile has expired or is otherwise invalid. To refresh "
         "this SSO session run aws sso login with the corresponding profile.): sign in again "
         "(aws sso login --profile NAME) and run the command again", 1),
        (client_error("ExpiredTokenException", "The security token included in the request "
         "is expired"), "AWS credentials expired (ExpiredTokenException): refresh them (aws sso "
         "login --profile NAME, or new temporary credentials) and run the command again", 1),
        (client_error("UnrecognizedClientException", "The security token included in the "
         "request is invalid."), "AWS did not accept the credentials (UnrecognizedClientException"
         " on DescribePipeline): check which ones are in use (aws sts get-caller-identity, "
         "AWS_PROFILE, --profile) and that the clock is right", 1),
        # IAM's documented formats: implicit deny, and an explicit deny naming the policy.
        (client_error("AccessDeniedException", f"{PRINCIPAL} is not authorized to perform: "
         "sagemaker:DescribePipeline on resource: arn:aws:sagemaker:eu-west-1:123456789012:"
         "pipeline/mlops-dev-training because no identity-based policy allows the "
         "sagemaker:DescribePipeline action"), "access denied: sagemaker:DescribePipeline on "
         "arn:aws:sagemaker:eu-west-1:123456789012:pipeline/mlops-dev-training (no "
         "identity-based policy allows it): ask your AWS administrator to allow "
         "sagemaker:DescribePipeline, or use a profile that has it", 1),
        (client_error("AccessDenied", f"{PRINCIPAL} is not authorized to perform: "
         's3:ListBucket on resource: "arn:aws:s3:::data" with an explicit deny in a service '
         "control policy: arn:aws:organizations::111122223333:policy/o-a/service_control_policy/"
         "p-b", "ListObjectsV2"), "access denied: s3:ListBucket on arn:aws:s3:::data (an "
         "explicit deny in a service control policy): ask your AWS administrator to allow "
         "s3:ListBucket, or use a profile that has it", 1),
        # Services that do not use IAM's format: the operation is named instead.
        (client_error("AccessDenied", "Access Denied", "ListObjectsV2"), "access denied calling "
         "ListObjectsV2 (AccessDenied) (Access Denied): ask your AWS administrator for the "
         "permission, or use a profile that has it", 1),
        (client_error("UnauthorizedOperation", "You are not authorized to perform this "
         "operation. Encoded authorization failure message: Zm9vYmFy", "DescribeSecurityGroups"),
         "access denied calling DescribeSecurityGroups (UnauthorizedOperation) (decode the "
         "reason with aws sts decode-authorization-message): ask your AWS administrator for the"
         " permission, or use a profile that has it", 1),
        (client_error("ThrottlingException", "Rate exceeded", "ListServiceQuotas", retries=4),
         "AWS throttled ListServiceQuotas (ThrottlingException, 5 attempts): wait a minute and "
         "run the command again", 1),
        (client_error("ResourceNotFound", "Pipeline 'mlops-dev-training' does not exist."),
         "not found in eu-west-1: Pipeline 'mlops-dev-training' does not exist. "
         "(DescribePipeline)", 1),
        (client_error("ValidationException", 'Could not find endpoint "mlops-dev-x".',
         "DescribeEndpoint"), 'not found in eu-west-1: Could not find endpoint "mlops-dev-x". '
         "(DescribeEndpoint)", 1),
        (client_error("ValidationException", "1 validation error detected"),
         "AWS refused DescribePipeline in eu-west-1: ValidationException: 1 validation error "
         "detected", 1),
        (aws.EndpointConnectionError(endpoint_url="https://api.sagemaker.eu-west-1.amazonaws.com/"),
         "cannot reach https://api.sagemaker.eu-west-1.amazonaws.com/ (EndpointConnectionError):"
         " check the network, any proxy (HTTPS_PROXY) and that the region name is right", 1),
        (aws.ConnectTimeoutError(endpoint_url="https://s3.amazonaws.com/"), "cannot reach "
         "https://s3.amazonaws.com/ (ConnectTimeoutError): check the network, any proxy "
         "(HTTPS_PROXY) and that the region name is right", 1),
        (aws.ParamValidationError(report="Invalid length for parameter PipelineName, value: 0,"
         " valid min length: 1\nsecond line"), "invalid request: Parameter validation failed:; "
         "Invalid length for parameter PipelineName, value: 0, valid min length: 1; second line",
         2),
    ],
)  # fmt: skip
def test_explain_aws_errors(error: Exception, line: str, status: int) -> None:
    explained = explain(error, region="eu-west-1")
    assert explained is not None
    assert (explained.message, explained.status) == (line, status)
    assert describe(error, region="eu-west-1") == (line, status)


def test_an_unknown_profile_lists_the_profiles(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    Machine(monkeypatch, tmp_path).with_profile("ml-dev", region="eu-west-1").with_profile(
        "ml-prod", region="eu-west-1"
    )
    monkeypatch.setenv("AWS_PROFILE", "nosuch")  # also when the variable names it
    explained = explain(aws.ProfileNotFound(profile="nosuch"))
    assert explained is not None
    assert (explained.message, explained.status) == (
        "The config profile (nosuch) could not be found: configured profiles: ml-dev, ml-prod",
        EXIT_USAGE,
    )


def test_errors_that_are_not_from_aws_are_not_explained() -> None:
    assert explain(ValueError("x")) is None
    assert explain(InputError("x")) is None


@pytest.mark.parametrize(
    ("content", "line"),
    [
        ("{", "cannot read environments from {path}: Expecting property name enclosed in "
         "double quotes: line 1 column 2 (char 1)"),
        ('{"context": {}}', "cannot read environments from {path}: 'environments'"),
        ('{"context": {"environments": {"dev": {"log_retention_days": 2}}}}',
         "config error at environments.dev.log_retention_days: got 2; allowed: 1, 3, "
         "5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, "
         "2922, 3288, 3653"),
    ],
)  # fmt: skip
def test_a_broken_cdk_json_is_one_input_error(tmp_path: Path, content: str, line: str) -> None:
    config = tmp_path / "cdk.json"
    config.write_text(content)
    with pytest.raises(InputError) as raised:
        load_environment("dev", config)
    assert str(raised.value) == line.format(path=config)


def test_the_environment_is_the_one_cdk_synth_reads() -> None:
    prod = load_environment("prod")
    assert (prod.name, prod.ephemeral, prod.deployment.instance_type) == (
        "prod",
        False,
        "ml.m5.xlarge",
    )


def test_a_not_found_hint_never_hides_the_error() -> None:
    def refused() -> list[str]:
        raise client_error("AccessDeniedException", "not allowed", "ListPipelines")

    assert existing_names(lambda: ["mlops-prod-training"]) == "mlops-prod-training"
    assert existing_names(list) == "none"
    assert existing_names(refused) == "unknown"
