"""``python -m mlops models list|approve|reject`` and ``python -m mlops endpoint invoke``.

Approving or rejecting only changes the registry; the deploy Lambda reacts to the change
(see docs/deployment.md), so the CLI needs no deployment rights.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import ClientError

from mlops.deployment import names
from mlops.errors import InputError
from mlops.registry import list_versions, set_approval

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_sagemaker_runtime import SageMakerRuntimeClient


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    models = subparsers.add_parser("models", help="list, approve or reject model versions")
    commands = models.add_subparsers(title="models commands", metavar="COMMAND", required=True)

    listing = commands.add_parser("list", help="versions of a group, their status, the live one")
    _common(listing)
    listing.set_defaults(run=run_list)
    for decision in ("approve", "reject"):
        parser = commands.add_parser(
            decision, help=f"{decision} one version (deploys or rolls back)"
        )
        _common(parser, with_env=False)
        parser.add_argument("--version", type=int, required=True, help="version number")
        parser.add_argument("--reason", required=True, help="recorded as ApprovalDescription")
        parser.set_defaults(run=run_approve if decision == "approve" else run_reject)

    endpoint = subparsers.add_parser("endpoint", help="use a group's endpoint")
    endpoint_commands = endpoint.add_subparsers(
        title="endpoint commands", metavar="COMMAND", required=True
    )
    invoke = endpoint_commands.add_parser("invoke", help="score one CSV row, print the prediction")
    _common(invoke)
    invoke.add_argument("--csv", required=True, help='one row without label, e.g. "2,TX,947.08"')
    invoke.set_defaults(run=run_invoke)


def _common(parser: argparse.ArgumentParser, *, with_env: bool = True) -> None:
    parser.add_argument("--group", required=True, help="Model Package Group name")
    if with_env:
        parser.add_argument("--env", default="dev", help="environment name (default: dev)")
    parser.add_argument("--region", default=None, help="AWS region (default: from your profile)")


def _client(service: str, region: str | None) -> Any:
    import boto3

    return boto3.session.Session(region_name=region).client(service)  # type: ignore[call-overload]


def live_package_arn(sagemaker: SageMakerClient, endpoint: str) -> str | None:
    """The model package the endpoint serves now, or None when there is no endpoint."""
    try:
        described = sagemaker.describe_endpoint(EndpointName=endpoint)
    except ClientError as error:
        if "Could not find" in str(error):
            return None
        raise
    config = sagemaker.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
    model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    package = model.get("PrimaryContainer", {}).get("ModelPackageName")
    return str(package) if package else None


def format_versions(sagemaker: SageMakerClient, group: str, environment: str) -> str:
    endpoint = names.endpoint_name(environment, group)
    live = live_package_arn(sagemaker, endpoint)
    rows = [("version", "approval", "status", "created", "live")]
    for version in list_versions(sagemaker, group):
        rows.append(
            (
                str(version.version),
                version.approval_status,
                version.package_status,
                version.created.strftime("%Y-%m-%d %H:%M"),
                f"<- {endpoint}" if version.arn == live else "",
            )
        )
    if len(rows) == 1:
        return f"{group}: no versions yet"
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def run_list(args: argparse.Namespace) -> int:
    print(format_versions(_client("sagemaker", args.region), args.group, args.env))
    return 0


def _decide(args: argparse.Namespace, status: Literal["Approved", "Rejected"]) -> int:
    version = set_approval(
        _client("sagemaker", args.region),
        args.group,
        args.version,
        status,
        args.reason,
    )
    print(
        f"{args.group} v{version.version} is {version.approval_status}; the deploy Lambda "
        "updates the endpoint (python -m mlops models list to follow)"
    )
    return 0


def run_approve(args: argparse.Namespace) -> int:
    return _decide(args, "Approved")


def run_reject(args: argparse.Namespace) -> int:
    return _decide(args, "Rejected")


def invoke(runtime: SageMakerRuntimeClient, endpoint: str, row: str) -> str:
    if "\n" in row.strip() or not row.strip():
        raise InputError("--csv takes exactly one non-empty row")
    try:
        response = runtime.invoke_endpoint(
            EndpointName=endpoint, ContentType="text/csv", Accept="text/csv", Body=row.strip()
        )
    except ClientError as error:
        raise InputError(f"endpoint {endpoint}: {error.response['Error']['Message']}") from None
    return response["Body"].read().decode().strip()


def run_invoke(args: argparse.Namespace) -> int:
    endpoint = names.endpoint_name(args.env, args.group)
    print(invoke(_client("sagemaker-runtime", args.region), endpoint, args.csv))
    return 0
