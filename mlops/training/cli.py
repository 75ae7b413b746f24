"""``python -m mlops quotas check`` and ``python -m mlops pipeline start|watch``.

The deployed pipeline is the source of truth for a run's settings: its parameter defaults and
the preflight step's inputs (endpoint type and count) are read from its definition, so the CLI
checks exactly what the pipeline's own preflight step will check.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlops.aws_errors import is_not_found
from mlops.command import (
    EXIT_FAILURE,
    EXIT_OK,
    Context,
    Subparsers,
    add_command,
    add_group,
    existing_names,
)
from mlops.constants import resource_prefix
from mlops.errors import InputError, MlopsError
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
    except client.exceptions.ClientError as error:
        if not is_not_found(error):
            raise
        # Every environment's pipeline in that region: a wrong --env or --region shows.
        existing = existing_names(
            lambda: (
                p["PipelineName"]
                for p in client.list_pipelines(
                    PipelineNamePrefix=resource_prefix(""), MaxResults=20
                )["PipelineSummaries"]
            )
        )
        raise MlopsError(
            f"pipeline {name} not found in {client.meta.region_name} (pipelines there: "
            f"{existing}): deploy the training stack of {environment} "
            f"(make deploy ENV={environment}), or pass the --region it is in"
        ) from None
    definition = json.loads(described["PipelineDefinition"])
    parameters = {p["Name"]: str(p.get("DefaultValue", "")) for p in definition["Parameters"]}
    steps = [s for s in definition["Steps"] if s["Name"] == PREFLIGHT_STEP]
    if not steps:
        raise MlopsError(f"pipeline {name} has no {PREFLIGHT_STEP} step: redeploy its stack")
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


def _clients(ctx: Context) -> tuple[Any, Any]:
    return ctx.client("sagemaker"), ctx.client("service-quotas")


def decision_data(decision: Decision) -> dict[str, Any]:
    """The preflight decision for ``--output json``: the table's rows with their details."""
    return {
        "verdict": decision.verdict,
        "proceed": decision.proceed,
        "message": decision.message,
        "instance_types": dict(decision.instance_types),
        "checks": [
            {
                "quota": check.quota.name,
                "quota_code": check.quota.code,
                "usage": check.need.usage,
                "instance_type": check.need.instance_type,
                "purpose": check.need.purpose,
                "needed": check.need.count,
                "applied": check.quota.value,
                "aws_default": not check.quota.applied,
                "in_use": check.in_use,
                "verdict": check.verdict,
                "pending_request_id": check.pending_request_id,
            }
            for check in decision.checks
        ],
    }


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


def quotas_check(ctx: Context) -> int:
    args = ctx.args
    sagemaker_client, quotas_client = _clients(ctx)
    pipeline = load_pipeline(sagemaker_client, ctx.env)
    overrides = _parse_overrides(args.param, pipeline.parameters)
    decision, _ = run_preflight(
        pipeline,
        overrides,
        sagemaker_client=sagemaker_client,
        quotas_client=quotas_client,
        fallback_instance_type=args.fallback_instance_type,
    )
    ctx.emit(f"{format_table(decision.checks)}\n{decision.message}", decision_data(decision))
    return EXIT_OK if decision.proceed else EXIT_FAILURE


def pipeline_start(ctx: Context) -> int:
    args = ctx.args
    sagemaker_client, quotas_client = _clients(ctx)
    pipeline = load_pipeline(sagemaker_client, ctx.env)
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
    if not decision.proceed and not args.force:
        ctx.emit(
            f"{format_table(decision.checks)}\n{decision.message}\n"
            "not started (use --force to let the pipeline's own preflight decide)",
            {"preflight": decision_data(decision), "execution_arn": None},
        )
        return EXIT_FAILURE
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
    arn = started["PipelineExecutionArn"]
    ctx.emit(
        f"{format_table(decision.checks)}\n{decision.message}\nstarted {arn}\n"
        f"follow it: python -m mlops pipeline watch --env {ctx.env}",
        {"preflight": decision_data(decision), "execution_arn": arn},
    )
    return EXIT_OK


def latest_execution(client: Any, name: str) -> str:
    summaries = client.list_pipeline_executions(
        PipelineName=name, SortBy="CreationTime", SortOrder="Descending", MaxResults=1
    )["PipelineExecutionSummaries"]
    if not summaries:
        raise MlopsError(f"pipeline {name} has no executions yet: start one (pipeline start)")
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


def pipeline_watch(ctx: Context) -> int:
    sagemaker_client = ctx.client("sagemaker")
    execution = ctx.args.execution or latest_execution(sagemaker_client, pipeline_name(ctx.env))
    print(f"watching {execution}", flush=True)
    status = watch(sagemaker_client, execution, interval=ctx.args.interval)
    return EXIT_OK if status == "Succeeded" else EXIT_FAILURE


def register(subparsers: Subparsers) -> None:
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

    quotas = add_group(subparsers, "quotas", help="Service Quotas for a training run")
    check = add_command(
        quotas,
        "check",
        quotas_check,
        help="table: quota, needed, applied, in use, verdict (exit 1 when short)",
        description="Check the Service Quotas a run of the environment's deployed pipeline and "
        "its blue/green deployment need, as the pipeline's preflight step does.",
        output=True,
    )
    run_options(check)

    pipeline = add_group(subparsers, "pipeline", help="start and watch training pipeline runs")
    start = add_command(
        pipeline,
        "start",
        pipeline_start,
        help="run the quota preflight locally, then start a run",
        output=True,
    )
    run_options(start)
    start.add_argument("--input", help="S3 URI of the raw data (parameter InputDataUri)")
    start.add_argument("--name", help="display name of the execution")
    start.add_argument(
        "--force", action="store_true", help="start even when the local preflight says stop"
    )

    watch_parser = add_command(
        pipeline,
        "watch",
        pipeline_watch,
        help="step-by-step progress until the run ends (exit 1 unless it succeeds)",
    )
    watch_parser.add_argument("--execution", help="execution ARN (default: the latest)")
    watch_parser.add_argument("--interval", type=float, default=15.0, help="seconds between polls")
