"""``python -m mlops quotas check`` and ``python -m mlops pipeline start|watch``.

The deployed pipeline is the source of truth for a run's settings: its parameter defaults and
the preflight step's inputs (endpoint type and count) are read from its definition, so the CLI
checks exactly what the pipeline's own preflight step will check.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlops.errors import InputError
from mlops.training.names import FALLBACK_PARAMETERS, Parameter, Step, pipeline_name
from mlops.training.quotas import (
    Decision,
    PreflightRequest,
    format_table,
    preflight,
    preflight_output,
)

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient

PREFLIGHT_STEP = Step.QUOTA_PREFLIGHT
TERMINAL_STATUSES = ("Succeeded", "Failed", "Stopped")


@dataclass(frozen=True)
class DeployedPipeline:
    name: str
    parameters: Mapping[str, str]  # defaults, as strings
    preflight_inputs: Mapping[str, Any]  # literal values or {"Get": "Parameters.X"}

    def preflight_event(self, overrides: Mapping[str, str]) -> dict[str, Any]:
        values = {**self.parameters, **overrides}
        event: dict[str, Any] = {}
        for key, value in self.preflight_inputs.items():
            if isinstance(value, Mapping) and str(value.get("Get", "")).startswith("Parameters."):
                event[key] = values[str(value["Get"]).removeprefix("Parameters.")]
            else:
                event[key] = value
        return event


def load_pipeline(client: SageMakerClient, environment: str) -> DeployedPipeline:
    name = pipeline_name(environment)
    try:
        described = client.describe_pipeline(PipelineName=name)
    except client.exceptions.ResourceNotFound:
        raise InputError(f"pipeline {name} not found: deploy the training stack first") from None
    definition = json.loads(described["PipelineDefinition"])
    parameters = {p["Name"]: str(p.get("DefaultValue", "")) for p in definition["Parameters"]}
    steps = [s for s in definition["Steps"] if s["Name"] == PREFLIGHT_STEP]
    if not steps:
        raise InputError(f"pipeline {name} has no {PREFLIGHT_STEP} step")
    return DeployedPipeline(
        name=name, parameters=parameters, preflight_inputs=steps[0]["Arguments"]
    )


def _parse_overrides(pairs: list[str], known: Mapping[str, str]) -> dict[str, str]:
    overrides: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise InputError(f"--param expects Name=Value, got {pair!r}")
        if name not in known:
            raise InputError(f"unknown pipeline parameter {name!r}; known: {', '.join(known)}")
        overrides[name] = value
    return overrides


def _clients(region: str | None) -> tuple[Any, Any]:
    import boto3

    session = boto3.Session(region_name=region)
    return session.client("sagemaker"), session.client("service-quotas")


def run_preflight(
    pipeline: DeployedPipeline,
    overrides: Mapping[str, str],
    *,
    sagemaker_client: Any,
    quotas_client: Any,
    fallback_instance_type: str | None,
) -> tuple[Decision, PreflightRequest]:
    request = PreflightRequest.from_event(pipeline.preflight_event(overrides))
    decision = preflight(
        request.needs(),
        quotas_client=quotas_client,
        sagemaker_client=sagemaker_client,
        fallback_instance_type=fallback_instance_type,
        request_increase=False,  # the CLI only reports; the pipeline step may file requests
    )
    return decision, request


def quotas_check(args: argparse.Namespace) -> int:
    sagemaker_client, quotas_client = _clients(args.region)
    pipeline = load_pipeline(sagemaker_client, args.env)
    overrides = _parse_overrides(args.param, pipeline.parameters)
    decision, _ = run_preflight(
        pipeline,
        overrides,
        sagemaker_client=sagemaker_client,
        quotas_client=quotas_client,
        fallback_instance_type=args.fallback_instance_type,
    )
    print(format_table(decision.checks))
    print(decision.message)
    return 0 if decision.proceed else 1


def pipeline_start(args: argparse.Namespace) -> int:
    sagemaker_client, quotas_client = _clients(args.region)
    pipeline = load_pipeline(sagemaker_client, args.env)
    overrides = _parse_overrides(args.param, pipeline.parameters)
    if args.input:
        overrides[Parameter.INPUT_DATA_URI] = args.input
    decision, request = run_preflight(
        pipeline,
        overrides,
        sagemaker_client=sagemaker_client,
        quotas_client=quotas_client,
        fallback_instance_type=args.fallback_instance_type,
    )
    print(format_table(decision.checks))
    print(decision.message)
    if not decision.proceed and not args.force:
        print("not started (use --force to let the pipeline's own preflight decide)")
        return 1
    output = preflight_output(decision, request)
    for key, parameter in FALLBACK_PARAMETERS.items():
        if output[key] != pipeline.parameters.get(parameter):
            overrides[parameter] = str(output[key])
    started = sagemaker_client.start_pipeline_execution(
        PipelineName=pipeline.name,
        PipelineExecutionDisplayName=args.name or f"{pipeline.name}-{int(time.time())}",
        PipelineParameters=[{"Name": k, "Value": v} for k, v in sorted(overrides.items())],
        PipelineExecutionDescription="started with python -m mlops pipeline start",
    )
    print(f"started {started['PipelineExecutionArn']}")
    print(f"follow it: python -m mlops pipeline watch --env {args.env}")
    return 0


def latest_execution(client: Any, name: str) -> str:
    summaries = client.list_pipeline_executions(
        PipelineName=name, SortBy="CreationTime", SortOrder="Descending", MaxResults=1
    )["PipelineExecutionSummaries"]
    if not summaries:
        raise InputError(f"pipeline {name} has no executions yet")
    return str(summaries[0]["PipelineExecutionArn"])


def step_states(client: Any, execution_arn: str) -> list[tuple[str, str, str]]:
    """(step name, status, failure reason) of every started step, oldest first."""
    states: list[tuple[str, str, str]] = []
    for page in client.get_paginator("list_pipeline_execution_steps").paginate(
        PipelineExecutionArn=execution_arn, SortOrder="Ascending"
    ):
        for step in page["PipelineExecutionSteps"]:
            states.append((step["StepName"], step["StepStatus"], step.get("FailureReason", "")))
    return states


def watch(
    client: Any,
    execution_arn: str,
    *,
    interval: float,
    emit: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Print each step's status changes until the execution ends; returns its final status."""
    seen: dict[str, str] = {}
    while True:
        for name, status, reason in step_states(client, execution_arn):
            if seen.get(name) != status:
                seen[name] = status
                emit(f"{name:<28} {status}{'  ' + reason if reason else ''}")
        described = client.describe_pipeline_execution(PipelineExecutionArn=execution_arn)
        status = str(described["PipelineExecutionStatus"])
        if status in TERMINAL_STATUSES:
            reason = described.get("FailureReason", "")
            emit(f"execution {status}{'  ' + reason if reason else ''}")
            return status
        sleep(interval)


def pipeline_watch(args: argparse.Namespace) -> int:
    sagemaker_client, _ = _clients(args.region)
    execution = args.execution or latest_execution(sagemaker_client, pipeline_name(args.env))
    print(f"watching {execution}")
    status = watch(sagemaker_client, execution, interval=args.interval)
    return 0 if status == "Succeeded" else 1


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    def common(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--env", required=True, help="environment name (a key of cdk.json)")
        parser.add_argument("--region", help="AWS region (default: from the AWS configuration)")

    def run_options(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--param",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="override a pipeline parameter (repeatable), e.g. MaxCandidates=3",
        )
        parser.add_argument(
            "--fallback-instance-type", help="instance type to use where a quota is short"
        )

    quotas = subparsers.add_parser("quotas", help="Service Quotas for a training run")
    quotas_commands = quotas.add_subparsers(title="quotas commands", metavar="COMMAND")
    check_parser = quotas_commands.add_parser(
        "check", help="table: quota, needed, applied, in use, verdict (exit 1 when short)"
    )
    common(check_parser)
    run_options(check_parser)
    check_parser.set_defaults(run=quotas_check)

    pipeline = subparsers.add_parser("pipeline", help="start and watch training pipeline runs")
    commands = pipeline.add_subparsers(title="pipeline commands", metavar="COMMAND")
    start = commands.add_parser("start", help="run the quota preflight locally, then start a run")
    common(start)
    run_options(start)
    start.add_argument("--input", help="S3 URI of the raw data (parameter InputDataUri)")
    start.add_argument("--name", help="display name of the execution")
    start.add_argument(
        "--force", action="store_true", help="start even when the local preflight says stop"
    )
    start.set_defaults(run=pipeline_start)

    watch_parser = commands.add_parser("watch", help="step-by-step progress until the run ends")
    common(watch_parser)
    watch_parser.add_argument("--execution", help="execution ARN (default: the latest)")
    watch_parser.add_argument("--interval", type=float, default=15.0, help="seconds between polls")
    watch_parser.set_defaults(run=pipeline_watch)


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use: python -m mlops quotas|pipeline ...")
