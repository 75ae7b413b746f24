"""``python -m mlops models list|approve|reject`` and ``python -m mlops endpoint invoke``.

``--group`` is a group name as configured in cdk.json (``fraud-detection``); with ``--env`` it
addresses the SageMaker group ``model_package_group_name(env, group)`` and the endpoint
``names.endpoint_name(env, group)``. It is checked against the environment's configured
groups before any AWS call.

Approving or rejecting only changes the registry; the deploy Lambda reacts to the change
(see docs/deployment.md), so the CLI needs no deployment rights.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import uuid
from typing import TYPE_CHECKING, Literal

from botocore.exceptions import ClientError

from mlops.aws_errors import is_not_found
from mlops.command import EXIT_OK, Context, Subparsers, add_command, add_group, existing_names
from mlops.constants import model_package_group_name, resource_prefix
from mlops.deployment import names
from mlops.errors import InputError, MlopsError
from mlops.registry import ModelVersion, list_versions, set_approval
from mlops.training.names import INFERENCE_OUTPUT

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_sagemaker_runtime import SageMakerRuntimeClient


def register(subparsers: Subparsers) -> None:
    models = add_group(subparsers, "models", help="list, approve or reject model versions")
    listing = add_command(
        models,
        "list",
        run_list,
        help="versions of a group, their status, the live one",
        output=True,
    )
    group_option(listing)
    for decision, run in (("approve", run_approve), ("reject", run_reject)):
        parser = add_command(
            models, decision, run, help=f"{decision} one version (deploys or rolls back)"
        )
        group_option(parser)
        parser.add_argument("--version", type=int, required=True, help="version number")
        parser.add_argument("--reason", required=True, help="recorded as ApprovalDescription")

    endpoint = add_group(subparsers, "endpoint", help="use a group's endpoint")
    invoke_parser = add_command(
        endpoint,
        "invoke",
        run_invoke,
        help="score one CSV row, print the prediction",
        description=(
            "Send one CSV row to the group's endpoint and print its answer: the predicted "
            "label and the probability of that label (not of fraud: 0.93 with label 0 means "
            "93 percent sure it is not fraud)."
        ),
        output=True,
    )
    group_option(invoke_parser)
    invoke_parser.add_argument(
        "--csv", required=True, help='one row without label, e.g. "2,TX,947.08"'
    )
    invoke_parser.add_argument(
        "--inference-id",
        help="id of this request in the captured data, for late labels (`labels upload`); "
        "default: a new random id, printed on stderr",
    )


def group_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--group", required=True, help="Model Package Group as named in cdk.json (registry)"
    )


def configured_group(ctx: Context) -> str:
    """``--group``, which must be one of the environment's groups in cdk.json."""
    group: str = ctx.args.group
    assert ctx.environment is not None  # models and endpoint commands take --env
    configured = [g.name for g in ctx.environment.registry.model_package_groups]
    if group not in configured:
        raise InputError(
            f"group {group!r} is not configured for environment {ctx.env}: cdk.json configures "
            f"{', '.join(configured) or 'no groups (registry.model_package_groups)'}"
        )
    return group


def check_group_exists(sagemaker: SageMakerClient, environment: str, name: str) -> None:
    """A configured group that is not in AWS: the registry stack is not deployed there."""
    try:
        sagemaker.describe_model_package_group(ModelPackageGroupName=name)
    except ClientError as error:
        if not is_not_found(error):
            raise
        existing = existing_names(
            lambda: (
                g["ModelPackageGroupName"]
                for g in sagemaker.list_model_package_groups(
                    NameContains=resource_prefix(environment), MaxResults=20
                )["ModelPackageGroupSummaryList"]
            )
        )
        raise MlopsError(
            f"model package group {name} not found in {sagemaker.meta.region_name} (groups of "
            f"{environment} there: {existing}): deploy the registry stack "
            f"(make deploy ENV={environment}) or pass the --region it is in"
        ) from None


def live_package_arn(sagemaker: SageMakerClient, endpoint: str) -> str | None:
    """The model package the endpoint serves now, or None when there is no endpoint."""
    try:
        described = sagemaker.describe_endpoint(EndpointName=endpoint)
    except ClientError as error:
        if is_not_found(error):
            return None
        raise
    config = sagemaker.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
    model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    package = model.get("PrimaryContainer", {}).get("ModelPackageName")
    return str(package) if package else None


def format_versions(versions: list[ModelVersion], live: str | None, endpoint: str) -> str:
    rows = [("version", "approval", "status", "created", "live")]
    for version in versions:
        rows.append(
            (
                str(version.version),
                version.approval_status,
                version.package_status,
                version.created.strftime("%Y-%m-%d %H:%M"),
                f"<- {endpoint}" if version.arn == live else "",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def run_list(ctx: Context) -> int:
    group = configured_group(ctx)
    name = model_package_group_name(ctx.env, group)
    endpoint = names.endpoint_name(ctx.env, group)
    sagemaker = ctx.client("sagemaker")
    check_group_exists(sagemaker, ctx.env, name)
    versions = list_versions(sagemaker, name)
    live = live_package_arn(sagemaker, endpoint)
    text = format_versions(versions, live, endpoint) if versions else f"{name}: no versions yet"
    data = {
        "group": name,
        "endpoint": endpoint,
        "live_model_package_arn": live,
        "versions": [
            {
                "version": v.version,
                "approval_status": v.approval_status,
                "package_status": v.package_status,
                "created": v.created.isoformat(),
                "arn": v.arn,
                "live": v.arn == live,
            }
            for v in versions
        ],
    }
    ctx.emit(text, data)
    return EXIT_OK


def _decide(ctx: Context, status: Literal["Approved", "Rejected"]) -> int:
    group = configured_group(ctx)
    version = set_approval(
        ctx.client("sagemaker"),
        model_package_group_name(ctx.env, group),
        ctx.args.version,
        status,
        ctx.args.reason,
    )
    print(
        f"{version.group} v{version.version} is {version.approval_status}; the deploy Lambda "
        f"updates the endpoint (python -m mlops models list --env {ctx.env} --group {group} "
        "to follow)"
    )
    return EXIT_OK


def run_approve(ctx: Context) -> int:
    return _decide(ctx, "Approved")


def run_reject(ctx: Context) -> int:
    return _decide(ctx, "Rejected")


# InvokeEndpoint's InferenceId: 1-64 printable characters, not starting with a space
# (botocore's sagemaker-runtime model). Model Monitor joins late labels to captured requests
# on it (docs/monitoring.md).
_INFERENCE_ID = re.compile(r"\S[\x20-\x7e]{0,63}")


def invoke(runtime: SageMakerRuntimeClient, endpoint: str, row: str, inference_id: str) -> str:
    if "\n" in row.strip() or not row.strip():
        raise InputError("--csv takes exactly one non-empty row")
    if not _INFERENCE_ID.fullmatch(inference_id):
        raise InputError(
            f"--inference-id {inference_id!r}: allowed 1-64 printable characters, "
            "not starting with a space"
        )
    response = runtime.invoke_endpoint(
        EndpointName=endpoint,
        ContentType="text/csv",
        Accept="text/csv",
        Body=row.strip(),
        InferenceId=inference_id,
    )
    return response["Body"].read().decode().strip()


def answer_fields(answer: str) -> dict[str, str]:
    """The answer's columns by name (``predicted_label``, ``probability``: what the registered
    model answers), or ``{"answer": ...}`` when it has another shape (a model registered by
    hand may answer the label only)."""
    rows = [row for row in csv.reader(answer.splitlines()) if row]
    if len(rows) == 1 and len(rows[0]) == len(INFERENCE_OUTPUT):
        return dict(zip(INFERENCE_OUTPUT, (cell.strip() for cell in rows[0]), strict=True))
    return {"answer": answer}


def run_invoke(ctx: Context) -> int:
    group = configured_group(ctx)
    endpoint = names.endpoint_name(ctx.env, group)
    runtime = ctx.client("sagemaker-runtime")
    inference_id: str = ctx.args.inference_id or uuid.uuid4().hex
    try:
        fields = answer_fields(invoke(runtime, endpoint, ctx.args.csv, inference_id))
        ctx.emit(
            " ".join(f"{name}={value}" for name, value in fields.items()),
            {**fields, "inference_id": inference_id},
        )
        print(f"inference id: {inference_id}", file=sys.stderr)
    except ClientError as error:
        if not is_not_found(error):
            raise
        raise MlopsError(
            f"endpoint {endpoint} not found in {runtime.meta.region_name} "
            f"(endpoints of {ctx.env} there: {existing_names(lambda: _endpoints(ctx))}): "
            f"approve a version of {group} to deploy it, or pass the --region it is in"
        ) from None
    return EXIT_OK


def _endpoints(ctx: Context) -> list[str]:
    found = ctx.client("sagemaker").list_endpoints(
        NameContains=resource_prefix(ctx.env), MaxResults=20
    )
    return [e["EndpointName"] for e in found["Endpoints"]]
