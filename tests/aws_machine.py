"""A user's machine, as the CLI tests need it: its AWS set-up, and AWS's answers.

``Machine`` starts from nothing (no AWS_* variables, empty config and credentials files, no
instance metadata, a fresh boto3 default session) and adds a region, credentials or profiles
the way a user would. ``deny_every_call`` answers every AWS call the way IAM does for a
principal without the permission, and ``stub_clients`` attaches a botocore ``Stubber`` to the
clients a command creates. Both act at botocore's ``before-call`` event, as ``Stubber`` does:
after botocore validated the request against the service model, before anything is signed or
sent, so no test can reach AWS.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import boto3.session
import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.stub import Stubber

ACCOUNT = "123456789012"
PRINCIPAL = f"arn:aws:sts::{ACCOUNT}:assumed-role/data-scientist/jane"


class Machine:
    """The AWS set-up of a machine, for in-process runs (``monkeypatch``) and subprocesses."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
        self.monkeypatch = monkeypatch
        home.mkdir(parents=True, exist_ok=True)
        self.config = home / "aws-config"
        self.credentials = home / "aws-credentials"
        self.config.write_text("")
        self.credentials.write_text("")
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(home),
            "AWS_CONFIG_FILE": str(self.config),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.credentials),
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        for name in list(os.environ):
            if name.startswith("AWS_"):
                monkeypatch.delenv(name)
        for name, value in self.env.items():
            monkeypatch.setenv(name, value)
        # A new process has no boto3 default session (with cached credentials) yet.
        monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)

    def set(self, name: str, value: str) -> None:
        self.env[name] = value
        self.monkeypatch.setenv(name, value)

    def with_region(self, region: str = "eu-west-1") -> Machine:
        self.set("AWS_DEFAULT_REGION", region)
        return self

    def with_credentials(self) -> Machine:
        self.set("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
        self.set("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        return self

    def with_profile(self, name: str, *, region: str) -> Machine:
        """A named profile with its region and keys (``aws configure --profile NAME``)."""
        with self.config.open("a") as config:
            config.write(f"[profile {name}]\nregion = {region}\n")
        with self.credentials.open("a") as credentials:
            credentials.write(
                f"[{name}]\naws_access_key_id = AKIAI44QH8DHBEXAMPLE\n"
                "aws_secret_access_key = je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY\n"
            )
        return self


@dataclass(frozen=True)
class DeniedCall:
    service: str  # the IAM prefix, e.g. sagemaker
    operation: str  # e.g. DescribePipeline
    url: str  # where botocore would have sent it (shows the region)

    @property
    def action(self) -> str:
        return f"{self.service}:{self.operation}"

    @property
    def resource(self) -> str:
        region = self.url.split(".amazonaws.com")[0].rsplit(".", 1)[-1]
        return f"arn:aws:{self.service}:{region}:{ACCOUNT}:*"


def _on_new_clients(monkeypatch: pytest.MonkeyPatch, attach: Callable[[Any], None]) -> None:
    """Call ``attach(client)`` on every client boto3 creates (also through boto3.client)."""
    create = boto3.session.Session.client

    def client(self: boto3.session.Session, *args: Any, **kwargs: Any) -> Any:
        created = create(self, *args, **kwargs)
        attach(created)
        return created

    monkeypatch.setattr(boto3.session.Session, "client", client)


def deny_every_call(monkeypatch: pytest.MonkeyPatch) -> list[DeniedCall]:
    """Every AWS call is refused as IAM refuses a principal without the permission (IAM User
    Guide, "Troubleshoot access denied error messages"); returns the calls, in order."""
    calls: list[DeniedCall] = []

    def deny(model: Any, params: dict[str, Any], **kwargs: Any) -> Any:
        service_model = model.service_model
        prefix = service_model.signing_name or service_model.endpoint_prefix
        call = DeniedCall(prefix, model.name, str(params.get("url", "")))
        calls.append(call)
        code = {"s3": "AccessDenied", "ec2": "UnauthorizedOperation"}.get(
            prefix, "AccessDeniedException"
        )
        message = (
            f"User: {PRINCIPAL} is not authorized to perform: {call.action} on resource: "
            f"{call.resource} because no identity-based policy allows the {call.action} action"
        )
        parsed = {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": 400, "RetryAttempts": 0},
        }
        return AWSResponse(call.url, 400, HTTPHeaders(), None), parsed

    _on_new_clients(
        monkeypatch, lambda client: client.meta.events.register_first("before-call", deny)
    )
    return calls


def stub_clients(
    monkeypatch: pytest.MonkeyPatch, answers: dict[str, Callable[[Stubber], None]]
) -> list[Stubber]:
    """Attach a ``Stubber`` to each client the command creates for a service named in
    ``answers`` (e.g. ``"sagemaker-runtime"``), queued by ``answers[service](stubber)``;
    returns the stubbers, to check nothing queued was left unasked."""
    stubbers: list[Stubber] = []

    def attach(client: Any) -> None:
        queue = answers.get(client.meta.service_model.service_name)
        if queue is not None:
            stubber = Stubber(client)
            queue(stubber)
            stubber.activate()
            stubbers.append(stubber)

    _on_new_clients(monkeypatch, attach)
    return stubbers
