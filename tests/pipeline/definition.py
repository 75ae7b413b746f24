"""A pipeline definition as CreatePipeline receives it, checked the way the service checks it.

:func:`shipped_definition` reads ``PipelineDefinitionBody`` from a synthesized template and
resolves its ``Fn::Sub`` variables with test values (:class:`tests.shipped.assembly.Assembly`):
what CloudFormation would hand SageMaker. :class:`PipelineDefinition` then applies the rules a
definition must meet before any execution starts (our reading of AWS's documents):

* step names are unique, also across condition branches; a step is in one place only
  ("A condition step can't use identical steps in both branches");
* no condition step inside a condition step's branches ("Pipelines doesn't support the use of
  nested condition steps");
* ``DependsOn`` names existing steps, never a condition step: CreatePipeline rejects that
  (aws/sagemaker-python-sdk#3565: "A condition step cannot be added as an explicit dependency
  ... pipeline creation will fail"). Whether a dependent would otherwise run whatever the
  outcome is undocumented; a definition that does this is refused here either way;
* every ``Get`` names a parameter, an execution variable or a step of the definition, and a
  step property path exists in the output shape of that step's Describe call
  (:mod:`tests.pipeline.service`) or among the properties the SDK documents for the step type.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.pipeline.service import UnknownProperty, check_path, parse_path
from tests.shipped.assembly import Assembly, PhysicalValues

PIPELINE_TYPE = "AWS::SageMaker::Pipeline"

# The Describe call whose output a step's properties mirror (Pipelines steps, "Step properties";
# the SDK's Properties(shape_name=...) of each step class).
DESCRIBE_OPERATION = {
    "Processing": "DescribeProcessingJob",
    "Training": "DescribeTrainingJob",
    "Transform": "DescribeTransformJob",
    "AutoML": "DescribeAutoMLJob",
    "Model": "DescribeModel",
    "RegisterModel": "DescribeModelPackage",
}
# Properties a step type has besides its Describe output (sagemaker/workflow/*.py of the SDK).
EXTRA_PROPERTIES = {
    # automl_step.py: resolved by the service to the best candidate's JSON reports.
    "AutoML": (
        "BestCandidateProperties.ExplainabilityJsonReportPath",
        "BestCandidateProperties.ModelInsightsJsonReportPath",
    ),
    "Condition": ("Outcome",),
}
EXECUTION_VARIABLES = (
    "PipelineExecutionId",
    "PipelineExecutionArn",
    "PipelineName",
    "PipelineArn",
    "StartDateTime",
    "CurrentDateTime",
)


class DefinitionError(AssertionError):
    """The service would refuse this definition (CreatePipeline / UpdatePipeline)."""


@dataclass(frozen=True)
class Placed:
    """A step and where it is: top level, or a branch of a condition step."""

    step: Mapping[str, Any]
    condition: str | None = None  # name of the condition step whose branch holds it
    branch: str | None = None  # "IfSteps" or "ElseSteps"

    @property
    def name(self) -> str:
        return str(self.step["Name"])

    @property
    def type(self) -> str:
        return str(self.step["Type"])


@dataclass
class PipelineDefinition:
    body: Mapping[str, Any]
    steps: dict[str, Placed] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for placed in _placed(self.body.get("Steps", [])):
            if placed.name in self.steps:
                raise DefinitionError(f"step name {placed.name!r} is used twice")
            self.steps[placed.name] = placed
        self.parameters = {p["Name"]: p for p in self.body.get("Parameters", [])}
        for placed in self.steps.values():
            if placed.type == "Condition" and placed.condition is not None:
                raise DefinitionError(
                    f"condition step {placed.name!r} is inside {placed.condition!r}: "
                    "Pipelines doesn't support nested condition steps"
                )
            for name in placed.step.get("DependsOn", []) or []:
                if name not in self.steps:
                    raise DefinitionError(f"{placed.name} depends on unknown step {name!r}")
                if self.steps[name].type == "Condition":
                    raise DefinitionError(
                        f"{placed.name} depends on condition step {name!r}: CreatePipeline "
                        "rejects it (aws/sagemaker-python-sdk#3565); put the step in a branch"
                    )
            for reference in references(placed.step):
                self.check_reference(reference, where=placed.name)

    def check_reference(self, reference: str, *, where: str) -> None:
        head, _, rest = reference.partition(".")
        if head == "Parameters":
            if rest not in self.parameters:
                raise DefinitionError(f"{where}: parameter {rest!r} is not defined")
        elif head == "Execution":
            if rest not in EXECUTION_VARIABLES:
                raise DefinitionError(f"{where}: unknown execution variable {rest!r}")
        elif head == "Steps":
            step_name, path = split_step_reference(rest)
            if step_name not in self.steps:
                raise DefinitionError(f"{where}: reference to unknown step {step_name!r}")
            self.check_property(self.steps[step_name], path, where=where)
        else:
            raise DefinitionError(f"{where}: cannot resolve {{'Get': {reference!r}}}")

    def check_property(self, placed: Placed, path: str, *, where: str) -> None:
        step = placed.step
        if path.startswith("PropertyFiles."):
            name = path.removeprefix("PropertyFiles.")
            if name not in {f["PropertyFileName"] for f in step.get("PropertyFiles", [])}:
                raise DefinitionError(f"{where}: {placed.name} has no property file {name!r}")
            return
        if path in EXTRA_PROPERTIES.get(placed.type, ()):
            return
        if placed.type == "Lambda":
            outputs = {o["OutputName"] for o in step.get("OutputParameters", [])}
            segments = parse_path(path)
            if (
                len(segments) != 2
                or segments[0].member != "OutputParameters"
                or segments[1].key not in outputs
            ):
                raise UnknownProperty(
                    f"{where}: Lambda step {placed.name} has no property {path!r}; "
                    f"outputs: {sorted(outputs)}"
                )
            return
        operation = DESCRIBE_OPERATION.get(placed.type)
        if operation is None:
            raise UnknownProperty(f"{where}: {placed.type} step {placed.name} has no {path!r}")
        check_path(operation, parse_path(path), where=f"{where} -> {placed.name}")

    def top_level(self) -> list[Placed]:
        return [p for p in self.steps.values() if p.condition is None]


def split_step_reference(rest: str) -> tuple[str, str]:
    """``"Partition.ProcessingOutputConfig..."`` -> (``"Partition"``, the path)."""
    step_name, _, path = rest.partition(".")
    return step_name, path


def references(node: Any) -> Iterator[str]:
    """Every ``Get`` reference in ``node`` (property files of ``Std:JsonGet`` included), except
    inside a condition's branches (those steps are checked as steps of their own)."""
    if isinstance(node, list):
        for item in node:
            yield from references(item)
    elif isinstance(node, Mapping):
        if set(node) == {"Get"} and isinstance(node["Get"], str):
            yield node["Get"]
            return
        for key, value in node.items():
            if key in ("IfSteps", "ElseSteps"):
                continue
            yield from references(value)


def _placed(
    steps: list[Mapping[str, Any]], condition: str | None = None, branch: str | None = None
) -> Iterator[Placed]:
    for step in steps:
        yield Placed(step, condition, branch)
        if step.get("Type") == "Condition":
            arguments = step.get("Arguments", {})
            for name in ("IfSteps", "ElseSteps"):
                yield from _placed(arguments.get(name, []), step["Name"], name)


def shipped_definition(
    assembly: Assembly, part: str, values: PhysicalValues
) -> tuple[PipelineDefinition, str]:
    """The definition CloudFormation would create from stack ``part`` (``Fn::Sub`` resolved with
    ``values``) and the logical id of its ``AWS::SageMaker::Pipeline``."""
    resources = assembly.templates[part]["Resources"]
    [(logical_id, resource)] = [
        (lid, r) for lid, r in resources.items() if r["Type"] == PIPELINE_TYPE
    ]
    body = resource["Properties"]["PipelineDefinition"]["PipelineDefinitionBody"]
    text = assembly.resolve(part, body, values)
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as error:
        raise DefinitionError(f"PipelineDefinitionBody is not JSON: {error}") from None
    return PipelineDefinition(parsed), logical_id
