"""Every command that calls AWS, on a machine without AWS set up, with an unknown environment
and with a principal AWS refuses: one line on stderr, no traceback, the documented status.

In-process through ``mlops.cli.main`` (fast), and the issue's acceptance check as real
``python -m mlops`` processes from the repository root.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from mlops.cli import main
from tests.aws_machine import Machine, deny_every_call
from tests.synth import ROOT

GROUP = ["--group", "fraud-detection"]
# Every command that calls AWS, as a user types it.
COMMANDS: dict[str, list[str]] = {
    "quotas check": ["quotas", "check", "--env", "dev"],
    "pipeline start": ["pipeline", "start", "--env", "dev"],
    "pipeline watch": ["pipeline", "watch", "--env", "dev"],
    "models list": ["models", "list", "--env", "dev", *GROUP],
    "models approve": ["models", "approve", "--env", "dev", *GROUP, "--version", "3",
                       "--reason", "F1 0.91"],
    "models reject": ["models", "reject", "--env", "dev", *GROUP, "--version", "3",
                      "--reason", "drift"],
    "endpoint invoke": ["endpoint", "invoke", "--env", "dev", *GROUP, "--csv", "2,TX,947.08"],
    "teardown": ["teardown", "--env", "dev", "--dry-run"],
    "labels upload": ["labels", "upload", "--env", "dev", *GROUP, "--csv",
                      str(ROOT / "tests" / "monitoring" / "chargebacks.csv")],
    "monitor status": ["monitor", "status", "--env", "dev", *GROUP],
    "experiments list": ["experiments", "list", "--env", "dev"],
    "experiments compare": ["experiments", "compare", "--env", "dev", "--last", "3"],
    "data generate": ["data", "generate", "--rows", "100", "--out", "s3://data-bucket/raw/"],
    "data partition": ["data", "partition", "--input", "s3://data-bucket/raw/", "--out",
                       "s3://data-bucket/splits/", "--method", "random"],
    "data merge": ["data", "merge", "--out", "s3://data-bucket/splits/"],
}  # fmt: skip
# The data commands take explicit s3:// URIs, no environment (S3 needs no region either).
ENVIRONMENT_COMMANDS = [name for name, argv in COMMANDS.items() if "--env" in argv]


@pytest.fixture
def machine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Machine:
    return Machine(monkeypatch, tmp_path / "home")


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err.removeprefix("error: ").rstrip("\n")


@pytest.mark.parametrize("command", COMMANDS)
def test_no_aws_configuration(
    command: str, machine: Machine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(COMMANDS[command]) == 1
    line = one_error_line(capsys)
    if command in ENVIRONMENT_COMMANDS:
        assert line.startswith("no AWS region: pass --region, set `region` for the environment")
    else:
        assert "no AWS credentials found: run aws configure" in line


@pytest.mark.parametrize("command", COMMANDS)
def test_region_but_no_credentials(
    command: str, machine: Machine, capsys: pytest.CaptureFixture[str]
) -> None:
    machine.with_region()
    assert main(COMMANDS[command]) == 1
    assert "no AWS credentials found: run aws configure" in one_error_line(capsys)


@pytest.mark.parametrize("command", ENVIRONMENT_COMMANDS)
def test_unknown_environment_is_refused_before_any_aws_call(
    command: str,
    machine: Machine,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    machine.with_region().with_credentials()
    calls = deny_every_call(monkeypatch)
    argv = [("nosuch" if arg == "dev" else arg) for arg in COMMANDS[command]]
    assert main(argv) == 2
    assert one_error_line(capsys) == "unknown environment 'nosuch': cdk.json defines dev, prod"
    assert calls == []


@pytest.mark.parametrize("command", COMMANDS)
def test_access_denied_names_the_action_and_resource(
    command: str,
    machine: Machine,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    machine.with_region("eu-central-1").with_credentials()
    calls = deny_every_call(monkeypatch)
    assert main(COMMANDS[command]) == 1
    line = one_error_line(capsys)
    denied = calls[0]
    assert f"access denied: {denied.action} on {denied.resource} " in line
    assert "(no identity-based policy allows it): ask your AWS administrator" in line
    if command in ENVIRONMENT_COMMANDS:  # the machine's region: dev sets none in cdk.json
        assert ".eu-central-1.amazonaws.com" in denied.url


def test_debug_adds_the_traceback(
    machine: Machine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    machine.with_region().with_credentials()
    deny_every_call(monkeypatch)
    for argv in (["--debug", *COMMANDS["quotas check"]], [*COMMANDS["quotas check"], "--debug"]):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert err.startswith("Traceback (most recent call last):")
        assert "botocore.exceptions.ClientError" in err
        assert err.splitlines()[-1].startswith("error: access denied: sagemaker:DescribePipeline")


def test_region_comes_from_the_option_then_cdk_json_then_the_machine(
    machine: Machine,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    machine.with_region("eu-west-1").with_credentials()
    calls = deny_every_call(monkeypatch)
    config = tmp_path / "cdk.json"
    text = (ROOT / "cdk.json").read_text()
    config.write_text(
        text.replace('"ephemeral": true,', '"ephemeral": true, "region": "ap-south-1",')
    )
    base = ["quotas", "check", "--env", "dev"]
    main(base)
    main([*base, "--config", str(config)])
    main([*base, "--config", str(config), "--region", "us-west-2"])
    machine.set("AWS_REGION", "sa-east-1")  # the AWS CLI's variable, before AWS_DEFAULT_REGION
    main(base)
    regions = [call.url.split(".amazonaws.com")[0].rsplit(".", 1)[-1] for call in calls]
    assert regions == ["eu-west-1", "ap-south-1", "us-west-2", "sa-east-1"]
    capsys.readouterr()


def test_profile_gives_credentials_and_region(
    machine: Machine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    machine.with_profile("ml-dev", region="eu-north-1")
    calls = deny_every_call(monkeypatch)
    assert main([*COMMANDS["models list"], "--profile", "ml-dev"]) == 1
    assert "access denied: sagemaker:" in one_error_line(capsys)
    assert ".eu-north-1.amazonaws.com" in calls[0].url  # signed with the profile's keys

    # The data commands' S3 calls too (their logic uses boto3's default session).
    assert main([*COMMANDS["data merge"], "--profile", "ml-dev"]) == 1
    assert "access denied: s3:" in one_error_line(capsys)
    assert ".s3.eu-north-1.amazonaws.com" in calls[1].url
    assert boto3.DEFAULT_SESSION is None  # restored: the profile was for that command only

    assert main([*COMMANDS["models list"], "--profile", "nosuch"]) == 2
    assert one_error_line(capsys) == (
        "The config profile (nosuch) could not be found: configured profiles: ml-dev"
    )
    assert len(calls) == 2


def test_acceptance_without_aws_configuration(machine: Machine) -> None:
    """The issue's check: each command, run as a user runs it, exits non-zero with one line
    on stderr and no traceback; ``--env nosuch`` lists the environments."""
    checks = {
        "quotas check --env dev": ("no AWS region", 1),
        "pipeline start --env dev": ("no AWS region", 1),
        "models list --group fraud-detection --env dev": ("no AWS region", 1),
        "endpoint invoke --group fraud-detection --env dev --csv 2,TX,947.08": (
            "no AWS region",
            1,
        ),
        "teardown --env dev --dry-run": ("no AWS region", 1),
        "quotas check --env nosuch": ("cdk.json defines dev, prod", 2),
    }
    processes = {
        line: subprocess.Popen(
            [sys.executable, "-m", "mlops", *line.split()],
            cwd=ROOT,
            env=machine.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for line in checks
    }
    for line, process in processes.items():
        out, err = process.communicate(timeout=60)
        expected, status = checks[line]
        assert (process.returncode, out) == (status, ""), line
        assert err.count("\n") == 1 and "Traceback" not in err, err
        assert expected in err, err
