"""Run a synthesized SageMaker Pipeline offline, with SageMaker's documented semantics.

``PipelineExecutor(...).start(parameters)`` executes the ``PipelineDefinitionBody`` of a
synthesized template (:mod:`tests.pipeline.definition`) against the moto server:

* **Scheduling.** A step starts when every step it depends on has succeeded: its
  ``DependsOn`` and every step whose properties it reads (data dependencies, as the service
  builds the DAG). A step in a condition's branch starts only after that condition chose its
  branch. Steps whose dependencies never ran do not run. The first failing step fails the
  execution and no further step starts; a ``Fail`` step fails it with its ``ErrorMessage``
  (our reading of "stop a pipeline execution ... and mark it as failed"). Ready steps run one
  at a time in definition order (SageMaker runs them in parallel: nothing here may depend on
  the order of independent steps).
* **Requests.** Each job step's ``Arguments`` are evaluated (:mod:`tests.pipeline.expressions`),
  the generated job/model name added, and the result validated with botocore's
  ``ParamValidator`` against the Create operation the service calls (CreateProcessingJob,
  CreateTransformJob, CreateAutoMLJob, CreateModel, CreateModelPackage). Every request is
  kept in :attr:`Execution.requests`.
* **Processing** downloads each ``S3Input`` from moto into a folder standing for the
  instance's ``/opt/ml`` (``ShardedByS3Key``: key-sorted objects dealt round-robin to the
  instances, an assumption: AWS documents only "a subset"), writes
  ``/opt/ml/config/processingjobconfig.json`` (the request) and ``resourceconfig.json``
  (``current_host``, ``hosts``), runs the image's container (:mod:`tests.pipeline.containers`)
  on every instance at once, and uploads each ``S3Output`` back (encrypted with its ``KmsKeyId``).
* **Lambda** steps run the shipped handler from its staged asset with its layers
  (:func:`tests.shipped.lambdas.invoke`); every declared output must come back with its type.
* **AutoML / Transform** are emulated (:mod:`tests.pipeline.emulation`); **Model** and
  **RegisterModel** requests are validated, the model package is created in moto.
* **Properties** of a finished step are its Describe response, validated against botocore's
  output shape; ``Get`` paths are checked against that shape when the definition loads and
  against the response when evaluated.

Add a step type: a method ``_run_<type>(self, placed, arguments) -> properties`` (the Describe
response of what it created) and, if other steps read its properties, its Describe operation
in ``definition.DESCRIBE_OPERATION``.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.pipeline import containers
from tests.pipeline.definition import Placed, references, shipped_definition, split_step_reference
from tests.pipeline.emulation import (
    AUTOPILOT_IMAGE,
    JobFailure,
    load_model,
    now,
    run_automl,
    score_rows,
)
from tests.pipeline.expressions import EvaluationError, Evaluator, typed_parameters
from tests.pipeline.s3 import S3, S3Failure
from tests.pipeline.service import InvalidRequest, validate_request, validate_response
from tests.shipped.assembly import ACCOUNT, Assembly, PhysicalValues
from tests.shipped.fixtures import MotoServer
from tests.shipped.lambdas import Stub, invoke

# What each job step asks the service for, and the name field the pipeline fills in.
CREATE_OPERATION = {
    "Processing": ("CreateProcessingJob", "ProcessingJobName"),
    "Transform": ("CreateTransformJob", "TransformJobName"),
    "AutoML": ("CreateAutoMLJob", "AutoMLJobName"),
    "Model": ("CreateModel", "ModelName"),
    "RegisterModel": ("CreateModelPackage", None),
}
ARN_KIND = {
    "Processing": "processing-job",
    "Transform": "transform-job",
    "AutoML": "automl-job",
    "Model": "model",
}
LAMBDA_TYPES: dict[str, type | tuple[type, ...]] = {
    "String": str,
    "Integer": int,
    "Float": (int, float),
    "Boolean": bool,
}


class StepFailure(AssertionError):
    """The step fails with this reason (the execution fails)."""


@dataclass(frozen=True)
class Request:
    step: str
    operation: str
    params: Mapping[str, Any]


@dataclass
class StepRecord:
    name: str
    type: str
    status: str = "Executing"
    failure_reason: str = ""
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Execution:
    arn: str
    parameters: Mapping[str, Any]
    status: str = "Executing"
    failure_reason: str = ""
    steps: dict[str, StepRecord] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)

    @property
    def started(self) -> list[str]:
        """Names of the steps that started, in order."""
        return list(self.steps)

    def step(self, name: str) -> StepRecord:
        if name not in self.steps:
            raise AssertionError(f"step {name} did not start; started: {self.started}")
        return self.steps[name]

    def requests_of(self, operation: str) -> list[Request]:
        return [request for request in self.requests if request.operation == operation]

    def explain(self) -> str:
        lines = [f"execution {self.status} {self.failure_reason}"]
        lines += [f"  {r.name}: {r.status} {r.failure_reason}" for r in self.steps.values()]
        return "\n".join(lines)


class PipelineExecutor:
    def __init__(
        self,
        assembly: Assembly,
        *,
        moto: MotoServer,
        workdir: Path,
        values: PhysicalValues,
        part: str = "training",
        least_privilege: Mapping[str, str] | None = None,
        lambda_environment: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        """``least_privilege`` maps a Lambda step's function (logical id prefix) to its key in
        tests/security/functions.py: its calls then join the least-privilege proof.
        ``lambda_environment`` adds variables to a function's template environment (logical id
        prefix -> variables), e.g. the test MLflow server's endpoint for the run logger."""
        self.assembly, self.part, self.values = assembly, part, values
        self.least_privilege = dict(least_privilege or {})
        self.lambda_environment = dict(lambda_environment or {})
        self.definition, self.logical_id = shipped_definition(assembly, part, values)
        resource = assembly.templates[part]["Resources"][self.logical_id]
        self.pipeline_name = str(assembly.resolve(part, resource["Properties"]["PipelineName"]))
        self.moto, self.workdir = moto, workdir
        self.s3 = S3(moto.client("s3"))
        self.sagemaker = moto.client("sagemaker")

    def start(
        self,
        parameters: Mapping[str, str] | None = None,
        *,
        stubs: Sequence[Stub] = (),
        stop_after: str | None = None,
    ) -> Execution:
        """One execution with ``parameters`` (overrides, as StartPipelineExecution takes them).
        ``stubs`` answer Lambda steps' calls to operations moto lacks; ``stop_after`` ends the
        execution once that step has run (to exercise a prefix of the pipeline)."""
        execution_id = secrets.token_hex(6)
        region = self.values.region
        pipeline_arn = f"arn:aws:sagemaker:{region}:{ACCOUNT}:pipeline/{self.pipeline_name}"
        execution = Execution(
            arn=f"{pipeline_arn}/execution/{execution_id}",
            parameters=typed_parameters(self.definition, parameters or {}),
        )
        started = now()
        run = _Run(
            self,
            execution,
            execution_id,
            stubs,
            evaluator=Evaluator(
                self.definition,
                execution.parameters,
                {
                    "PipelineExecutionId": execution_id,
                    "PipelineExecutionArn": execution.arn,
                    "PipelineName": self.pipeline_name,
                    "PipelineArn": pipeline_arn,
                    "StartDateTime": started.isoformat(),
                    "CurrentDateTime": started.isoformat(),
                },
                properties=lambda name: execution.steps[name].properties,
                read_text=self.s3.read_text,
            ),
        )
        run.until_done(stop_after)
        return execution


class _Run:
    """The state of one execution while it runs."""

    def __init__(
        self,
        executor: PipelineExecutor,
        execution: Execution,
        execution_id: str,
        stubs: Sequence[Stub],
        evaluator: Evaluator,
    ) -> None:
        self.executor, self.execution, self.id = executor, execution, execution_id
        self.stubs, self.evaluate = list(stubs), evaluator
        self.definition = executor.definition
        self.chosen: dict[str, str] = {}  # condition step -> branch it chose
        self.models: dict[str, Mapping[str, Any]] = {}  # CreateModel requests by name

    # -- scheduling ----------------------------------------------------------------------

    def dependencies(self, placed: Placed) -> set[str]:
        needed = set(placed.step.get("DependsOn", []) or [])
        for reference in references(placed.step):
            if reference.startswith("Steps."):
                needed.add(split_step_reference(reference.removeprefix("Steps."))[0])
        return needed

    def ready(self, placed: Placed) -> bool:
        steps = self.execution.steps
        if placed.name in steps:
            return False
        if placed.condition is not None and self.chosen.get(placed.condition) != placed.branch:
            return False
        return all(
            name in steps and steps[name].status == "Succeeded"
            for name in self.dependencies(placed)
        )

    def until_done(self, stop_after: str | None) -> None:
        execution = self.execution
        while True:
            ready = [p for p in self.definition.steps.values() if self.ready(p)]
            if not ready:
                break
            placed = ready[0]
            record = StepRecord(placed.name, placed.type)
            execution.steps[placed.name] = record
            try:
                record.properties = self.run_step(placed)
                record.status = "Succeeded"
            except (
                StepFailure,
                EvaluationError,
                InvalidRequest,
                JobFailure,
                S3Failure,
                containers.ContainerFailure,
            ) as error:
                record.status, record.failure_reason = "Failed", str(error)
                execution.status, execution.failure_reason = "Failed", str(error)
                return
            if placed.name == stop_after:
                break
        execution.status = "Succeeded"

    # -- steps ---------------------------------------------------------------------------

    def run_step(self, placed: Placed) -> Mapping[str, Any]:
        runner = getattr(self, f"_run_{placed.type.lower()}", None)
        if runner is None:
            raise StepFailure(f"step type {placed.type} is not emulated")
        # A condition's Arguments hold its branches' steps: only its conditions are evaluated.
        arguments = (
            {}
            if placed.type == "Condition"
            else self.evaluate(placed.step.get("Arguments", {}), where=placed.name)
        )
        result: Mapping[str, Any] = runner(placed, arguments)
        return result

    def request(self, placed: Placed, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """The Create request the service sends for this step, validated."""
        operation, name_field = CREATE_OPERATION[placed.type]
        params = dict(arguments)
        if name_field:
            params[name_field] = self.job_name(placed)
        validate_request(operation, params)
        self.execution.requests.append(Request(placed.name, operation, params))
        return params

    def job_name(self, placed: Placed) -> str:
        suffix = secrets.token_hex(3)
        if placed.type == "AutoML":  # AutoMLJobName: at most 32 characters
            return f"{self.id[:8]}-{placed.name[:12]}-{suffix}"
        return f"pipelines-{self.id}-{placed.name}-{suffix}"[:63].rstrip("-")

    def arn(self, placed: Placed, name: str) -> str:
        region = self.executor.values.region
        return f"arn:aws:sagemaker:{region}:{ACCOUNT}:{ARN_KIND[placed.type]}/{name.lower()}"

    def _run_processing(self, placed: Placed, arguments: Mapping[str, Any]) -> Mapping[str, Any]:
        request = self.request(placed, arguments)
        name = request["ProcessingJobName"]
        arn = self.arn(placed, name)
        image = request["AppSpecification"]["ImageUri"]
        container = containers.CONTAINERS.get(containers.repository_of(image))
        if container is None:
            raise StepFailure(f"no emulation for image {image}")
        cluster = request["ProcessingResources"]["ClusterConfig"]
        count = int(cluster["InstanceCount"])
        hosts = [
            containers.Host(i, count, self.executor.workdir / name / f"host-{i}" / "opt" / "ml")
            for i in range(count)
        ]
        config = {**request, "ProcessingJobArn": arn}
        for host in hosts:
            host.path("/opt/ml/config").mkdir(parents=True)
            host.path("/opt/ml/config/processingjobconfig.json").write_text(json.dumps(config))
            host.path("/opt/ml/config/resourceconfig.json").write_text(
                json.dumps({"current_host": host.name, "hosts": [h.name for h in hosts]})
            )
        for item in request.get("ProcessingInputs", []):
            source = item["S3Input"]
            objects = self.executor.s3.objects_under(source["S3Uri"])
            if not objects:
                raise StepFailure(f"ClientError: no S3 objects under {source['S3Uri']}")
            sharded = source.get("S3DataDistributionType") == "ShardedByS3Key"
            for host in hosts:
                share = objects[host.index :: count] if sharded else objects
                target = host.path(source["LocalPath"])
                target.mkdir(parents=True, exist_ok=True)
                self.executor.s3.download(source["S3Uri"], target, share)
        outputs = request.get("ProcessingOutputConfig", {}).get("Outputs", [])
        for host in hosts:
            for output in outputs:
                host.path(output["S3Output"]["LocalPath"]).mkdir(parents=True, exist_ok=True)
        # The instances run at the same time, as in SageMaker.
        with ThreadPoolExecutor(max_workers=count) as pool:
            for finished in [pool.submit(container, request, host) for host in hosts]:
                finished.result()
        written: dict[str, str] = {}
        key = request.get("ProcessingOutputConfig", {}).get("KmsKeyId")
        for host in hosts:
            for output in outputs:
                folder = host.path(output["S3Output"]["LocalPath"])
                self.executor.s3.upload_folder(
                    folder, output["S3Output"]["S3Uri"], kms_key=key, written=written
                )
        return self.described(
            "DescribeProcessingJob",
            {
                **_without(request, "Tags"),
                "ProcessingJobArn": arn,
                "ProcessingJobStatus": "Completed",
                "CreationTime": now(),
                "ProcessingStartTime": now(),
                "ProcessingEndTime": now(),
            },
        )

    def _run_lambda(self, placed: Placed, arguments: Mapping[str, Any]) -> Mapping[str, Any]:
        function_arn = self.evaluate(placed.step["FunctionArn"], where=placed.name)
        assembly, values = self.executor.assembly, self.executor.values
        # The function may be another stack's (the run logger is the Experiments stack's).
        functions = {
            assembly.resolve(f.part, {"Fn::GetAtt": [f.logical_id, "Arn"]}, values): f
            for part in assembly.templates
            for f in assembly.functions(part)
        }
        if function_arn not in functions:
            raise StepFailure(f"no function {function_arn} in the assembly")
        function = functions[function_arn]

        def of_function(table: Mapping[str, Any]) -> list[Any]:
            return [v for prefix, v in table.items() if function.logical_id.startswith(prefix)]

        keys = of_function(self.executor.least_privilege)
        overrides = {
            k: v
            for extra in of_function(self.executor.lambda_environment)
            for k, v in extra.items()
        }
        invocation = invoke(
            assembly,
            function,
            dict(arguments),
            endpoint_url=self.executor.moto.endpoint_url,
            values=values,
            stubs=self.stubs,
            environment_overrides=overrides,
            least_privilege_key=keys[0] if keys else None,
        )
        if invocation.error is not None:
            raise StepFailure(f"Lambda function raised {invocation.raised()}")
        result = invocation.result
        if not isinstance(result, dict):
            raise StepFailure(f"Lambda function returned {result!r}, not an object")
        outputs: dict[str, Any] = {}
        for declared in placed.step.get("OutputParameters", []):
            name, kind = declared["OutputName"], declared.get("OutputType", "String")
            if name not in result:
                raise StepFailure(f"Lambda output {name!r} missing from {sorted(result)}")
            value = result[name]
            expected = LAMBDA_TYPES[kind]
            if not isinstance(value, expected) or (kind != "Boolean" and isinstance(value, bool)):
                raise StepFailure(f"Lambda output {name}={value!r} is not {kind}")
            outputs[name] = value
        return {"OutputParameters": outputs}

    def _run_condition(self, placed: Placed, arguments: Mapping[str, Any]) -> Mapping[str, Any]:
        conditions = placed.step["Arguments"]["Conditions"]
        outcome = all(self.evaluate.condition(c, where=placed.name) for c in conditions)
        self.chosen[placed.name] = "IfSteps" if outcome else "ElseSteps"
        return {"Outcome": outcome}

    def _run_fail(self, placed: Placed, arguments: Mapping[str, Any]) -> Mapping[str, Any]:
        raise StepFailure(str(arguments.get("ErrorMessage", "")))

    def _run_automl(self, placed: Placed, arguments: Mapping[str, Any]) -> Mapping[str, Any]:
        request = self.request(placed, arguments)
        arn = self.arn(placed, request["AutoMLJobName"])
        response = run_automl(request, s3=self.executor.s3, arn=arn)
        return self.described("DescribeAutoMLJob", response)

    def _run_model(self, placed: Placed, arguments: Mapping[str, Any]) -> Mapping[str, Any]:
        request = self.request(placed, arguments)
        self.models[request["ModelName"]] = request
        return self.described(
            "DescribeModel",
            {
                **_without(request, "Tags"),
                "ModelArn": self.arn(placed, request["ModelName"]),
                "CreationTime": now(),
            },
        )

    def _run_transform(self, placed: Placed, arguments: Mapping[str, Any]) -> Mapping[str, Any]:
        request = self.request(placed, arguments)
        model = self.models.get(request["ModelName"])
        if model is None:
            raise StepFailure(f"ClientError: model {request['ModelName']} does not exist")
        container = model.get("PrimaryContainer") or model["Containers"][0]
        if container["Image"] != AUTOPILOT_IMAGE:
            raise StepFailure(f"no emulation for inference image {container['Image']}")
        loaded = load_model(self.executor.s3, container["ModelDataUrl"])
        source = request["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
        if request["TransformInput"].get("SplitType") != "Line":
            raise StepFailure("the emulated container reads CSV records one per line")
        output = request["TransformOutput"]
        s3 = self.executor.s3
        objects = s3.objects_under(source)
        if not objects:
            raise StepFailure(f"ClientError: no S3 objects under {source}")
        bucket = source[len("s3://") :].split("/", 1)[0]
        for key, relative in objects:
            answer = score_rows(
                loaded, container.get("Environment", {}), s3.read_text(f"s3://{bucket}/{key}")
            )
            s3.write_text(
                f"{output['S3OutputPath'].rstrip('/')}/{relative}.out",
                answer,
                kms_key=output.get("KmsKeyId"),
            )
        return self.described(
            "DescribeTransformJob",
            {
                **_without(request, "Tags"),
                "TransformJobArn": self.arn(placed, request["TransformJobName"]),
                "TransformJobStatus": "Completed",
                "CreationTime": now(),
            },
        )

    def _run_registermodel(self, placed: Placed, arguments: Mapping[str, Any]) -> Mapping[str, Any]:
        request = self.request(placed, arguments)
        sagemaker = self.executor.sagemaker
        arn = sagemaker.create_model_package(**request)["ModelPackageArn"]
        described = dict(sagemaker.describe_model_package(ModelPackageName=arn))
        described.pop("ResponseMetadata", None)
        # moto 5.2.5 drops ModelPackageName of a versioned package; the output shape requires
        # it and SageMaker names versioned packages after their group.
        described.setdefault("ModelPackageName", request["ModelPackageGroupName"])
        return self.described("DescribeModelPackage", described)

    def described(self, operation: str, response: Mapping[str, Any]) -> Mapping[str, Any]:
        validate_response(operation, _without(response, "__extra__"))
        return response


def _without(mapping: Mapping[str, Any], *names: str) -> dict[str, Any]:
    return {key: value for key, value in mapping.items() if key not in names}
