"""The pipeline's run-logging entry point: event -> :class:`PipelineRunFacts` -> MLflow run.

Two events reach it (``lambdas/experiment_logger``), both ending in
:func:`mlops.experiments.runs.log_pipeline_run`, keyed on the execution ARN:

1. **The pipeline's logging step** (a Lambda step after registration). Its inputs::

       {"pipeline_name": "mlops-dev-training",            # literal
        "execution_arn": <ExecutionVariables.PIPELINE_EXECUTION_ARN>,
        "environment": "dev", "config_hash": "...", "code_version": "...",   # literals
        "param_InputDataUri": <Parameters.InputDataUri>, ...  # one input per pipeline parameter
        "parameters": {...} | "<JSON object>",             # or all of them at once (optional)
        "evaluation_uri": "s3://.../evaluation.json",      # Join of the Evaluate output
        "split_report_uri": "s3://.../split-report.json",  # Join of the Partition output
        "bias_report_uri": "s3://.../analysis.json",       # optional
        "explainability_report_uri": "s3://...",           # optional
        "model_package_arn": <RegisterModel ModelPackageArn>,   # optional
        "status": "Succeeded"}                             # optional, default Succeeded

2. **A pipeline execution status change** from EventBridge (``detail-type`` "SageMaker Model
   Building Pipeline Execution Status Change": Succeeded, Failed or Stopped): no step runs after
   a failed one, so a run that fails after training is logged from here, with its status,
   parameters (ListPipelineParametersForExecution), failure reason (DescribePipelineExecution),
   the registered package if any (ListPipelineExecutionSteps) and whatever reports the run had
   already written under its run folder (:func:`mlops.training.names.run_folder`). A succeeded
   run is logged the same way, so the record is complete with or without the step; the step
   adds what only it knows (exact report URIs, explainability report, config hash, code
   version).

Both return :meth:`LogResult.as_output`: ``status`` is ``logged``, ``unreachable`` or
``rejected``; logging alone never fails the pipeline run (the step succeeds and reports it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from mlops.data.schema import SPLIT_REPORT
from mlops.errors import InputError
from mlops.experiments.runs import LogResult, PipelineRunFacts, log_pipeline_run, parse_json_object
from mlops.experiments.tracking import TrackingClient
from mlops.training.evaluation import EVALUATION_FILE
from mlops.training.names import CLARIFY_REPORT, RunFolder, run_folder

STATUS_EVENT = "SageMaker Model Building Pipeline Execution Status Change"
# What a run writes, relative to its run folder (mlops.training.names).
REPORTS = {
    "evaluation": f"{RunFolder.EVALUATION}/{EVALUATION_FILE}",
    "split_report": f"{RunFolder.SPLITS}/{SPLIT_REPORT}",
    "bias": f"{RunFolder.CLARIFY_BIAS}/{CLARIFY_REPORT}",
}
PARAM_PREFIX = "param_"  # step inputs that carry one pipeline parameter each


def _split_s3(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise InputError(f"not an s3://bucket/key URI: {uri!r}")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


def read_json(s3: Any, uri: str, *, missing_ok: bool = False) -> dict[str, Any] | None:
    """The JSON object at ``uri``; None when ``uri`` is empty (or missing and ``missing_ok``)."""
    if not uri:
        return None
    bucket, key = _split_s3(uri)
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        if missing_ok:
            return None
        raise InputError(f"{uri} does not exist") from None
    return parse_json_object(body.decode(), uri)


def _parameters(value: Any) -> dict[str, str]:
    if value in (None, ""):
        return {}
    if isinstance(value, str):
        value = parse_json_object(value, "parameters")
    if not isinstance(value, Mapping):
        raise InputError("parameters must be an object of pipeline parameter values")
    return {str(k): str(v) for k, v in value.items()}


def facts_from_step(event: Mapping[str, Any], s3: Any) -> PipelineRunFacts:
    """Facts from the logging step's inputs (see the module doc)."""
    for required in ("pipeline_name", "execution_arn"):
        if not event.get(required):
            raise InputError(f"the logging step needs input {required!r}")
    evaluation_uri = str(event.get("evaluation_uri") or "")
    split_report_uri = str(event.get("split_report_uri") or "")
    return PipelineRunFacts(
        pipeline_name=str(event["pipeline_name"]),
        execution_arn=str(event["execution_arn"]),
        status=str(event.get("status") or "Succeeded"),
        environment=str(event.get("environment") or ""),
        parameters={
            **_parameters(event.get("parameters")),
            **{
                k.removeprefix(PARAM_PREFIX): str(v)
                for k, v in event.items()
                if k.startswith(PARAM_PREFIX)
            },
        },
        evaluation=read_json(s3, evaluation_uri),
        split_report=read_json(s3, split_report_uri),
        config_hash=str(event.get("config_hash") or ""),
        code_version=str(event.get("code_version") or ""),
        model_package_arn=str(event.get("model_package_arn") or ""),
        evaluation_uri=evaluation_uri,
        split_report_uri=split_report_uri,
        bias_report_uri=str(event.get("bias_report_uri") or ""),
        explainability_report_uri=str(event.get("explainability_report_uri") or ""),
    )


def facts_from_status_event(
    event: Mapping[str, Any], *, sagemaker: Any, s3: Any, artifacts_bucket: str, environment: str
) -> PipelineRunFacts:
    """Facts of an execution that ended (EventBridge status change, see the module doc)."""
    detail = event.get("detail") or {}
    execution_arn = str(detail.get("pipelineExecutionArn") or "")
    status = str(detail.get("currentPipelineExecutionStatus") or "")
    if not execution_arn or not status:
        raise InputError("status event without pipelineExecutionArn/currentPipelineExecutionStatus")
    pipeline_name = execution_arn.split(":pipeline/", 1)[-1].split("/", 1)[0]
    described = sagemaker.describe_pipeline_execution(PipelineExecutionArn=execution_arn)
    parameters: dict[str, str] = {}
    for page in sagemaker.get_paginator("list_pipeline_parameters_for_execution").paginate(
        PipelineExecutionArn=execution_arn
    ):
        parameters.update({p["Name"]: p["Value"] for p in page["PipelineParameters"]})
    model_package_arn = ""
    for page in sagemaker.get_paginator("list_pipeline_execution_steps").paginate(
        PipelineExecutionArn=execution_arn
    ):
        for step in page["PipelineExecutionSteps"]:
            registered = step.get("Metadata", {}).get("RegisterModel", {}).get("Arn")
            model_package_arn = model_package_arn or str(registered or "")
    folder = run_folder(artifacts_bucket, environment, execution_arn.rsplit("/", 1)[-1])
    uris = {name: f"{folder}/{file}" for name, file in REPORTS.items()}
    evaluation = read_json(s3, uris["evaluation"], missing_ok=True)
    split_report = read_json(s3, uris["split_report"], missing_ok=True)

    def millis(value: Any) -> int | None:
        return int(value.timestamp() * 1000) if hasattr(value, "timestamp") else None

    return PipelineRunFacts(
        pipeline_name=pipeline_name,
        execution_arn=execution_arn,
        status=status,
        environment=environment,
        parameters=parameters,
        evaluation=evaluation,
        split_report=split_report,
        model_package_arn=model_package_arn,
        evaluation_uri=uris["evaluation"] if evaluation is not None else "",
        split_report_uri=uris["split_report"] if split_report is not None else "",
        failure_reason=str(described.get("FailureReason") or ""),
        start_time_ms=millis(described.get("CreationTime")),
        end_time_ms=millis(described.get("LastModifiedTime")),
    )


def handle(
    event: Mapping[str, Any],
    *,
    client: TrackingClient,
    s3: Any,
    sagemaker: Any = None,
    artifacts_bucket: str = "",
    environment: str = "",
) -> LogResult:
    """Either event shape -> the execution's MLflow run (one line printed either way)."""
    if event.get("detail-type") == STATUS_EVENT:
        facts = facts_from_status_event(
            event,
            sagemaker=sagemaker,
            s3=s3,
            artifacts_bucket=artifacts_bucket,
            environment=environment,
        )
    else:
        facts = facts_from_step(event, s3)
    result = log_pipeline_run(client, facts)
    print(json.dumps({"experiment_logging": result.as_output()}))
    return result
