"""Pipeline expressions evaluated as SageMaker evaluates them when a step starts.

* ``{"Get": "Parameters.X"}``: the execution's parameter value, typed by the parameter's
  ``Type`` (String, Integer, Float, Boolean);
* ``{"Get": "Execution.X"}``: execution variables (id, ARN, pipeline name and ARN, times);
* ``{"Get": "Steps.S.<path>"}``: step ``S``'s property, read from its Describe response (or its
  Lambda outputs); a path absent from the response fails the step;
* ``{"Std:Join": {"On": sep, "Values": [...]}}``: the values as strings, joined;
* ``{"Std:JsonGet": {"PropertyFile": {"Get": "Steps.S.PropertyFiles.F"}, "Path": p}}``: the JSON
  file ``F`` of step ``S`` (its output ``OutputName``, file ``FilePath``) read from S3 and the
  dotted path ``p`` (``a.b[0].c``) looked up in it. A file that is not strict JSON (``NaN``)
  or a path that leads nowhere or to ``null`` fails the step: the service has no value to use.
* Conditions: ``Equals``, ``GreaterThan(OrEqualTo)``, ``LessThan(OrEqualTo)``, ``In``, ``Not``,
  ``Or``; all of a step's conditions must hold.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from tests.pipeline.definition import PipelineDefinition, split_step_reference
from tests.pipeline.service import UnknownProperty, parse_path, read_path

_JSON_PATH = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


class EvaluationError(AssertionError):
    """A value the service could not compute: the step that needs it fails."""


def typed_parameters(
    definition: PipelineDefinition, overrides: Mapping[str, str]
) -> dict[str, Any]:
    """Parameter values of an execution: defaults, then ``overrides`` (strings, as
    StartPipelineExecution takes them), each converted to its declared type."""
    values: dict[str, Any] = {}
    for name in overrides:
        if name not in definition.parameters:
            raise EvaluationError(f"StartPipelineExecution: parameter {name!r} is not defined")
    for name, parameter in definition.parameters.items():
        kind = parameter.get("Type", "String")
        if name in overrides:
            raw: Any = overrides[name]
        elif "DefaultValue" in parameter:
            raw = parameter["DefaultValue"]
        else:
            raise EvaluationError(f"StartPipelineExecution: parameter {name!r} has no value")
        values[name] = _typed(name, kind, raw)
    return values


def _typed(name: str, kind: str, raw: Any) -> Any:
    try:
        if kind == "Integer":
            if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
                raise ValueError(raw)
            return int(str(raw))
        if kind == "Float":
            return float(raw)
        if kind == "Boolean":
            if isinstance(raw, bool):
                return raw
            if str(raw).lower() not in ("true", "false"):
                raise ValueError(raw)
            return str(raw).lower() == "true"
        if kind == "String":
            return str(raw)
    except ValueError:
        raise EvaluationError(f"parameter {name}: {raw!r} is not a valid {kind}") from None
    raise EvaluationError(f"parameter {name}: unknown type {kind!r}")


class Evaluator:
    """Evaluates expressions against an execution's state."""

    def __init__(
        self,
        definition: PipelineDefinition,
        parameters: Mapping[str, Any],
        execution: Mapping[str, Any],
        properties: Callable[[str], Mapping[str, Any]],
        read_text: Callable[[str], str],
    ) -> None:
        self.definition = definition
        self.parameters = parameters
        self.execution = execution
        self.properties = properties  # step name -> its properties (Describe response)
        self.read_text = read_text  # S3 URI -> text

    def __call__(self, node: Any, *, where: str) -> Any:
        if isinstance(node, list):
            return [self(item, where=where) for item in node]
        if not isinstance(node, Mapping):
            return node
        if set(node) == {"Get"} and isinstance(node["Get"], str):
            return self.get(node["Get"], where=where)
        if set(node) == {"Std:Join"}:
            join = node["Std:Join"]
            values = self(join["Values"], where=where)
            return str(join["On"]).join(_as_text(value) for value in values)
        if set(node) == {"Std:JsonGet"}:
            return self.json_get(node["Std:JsonGet"], where=where)
        return {key: self(value, where=where) for key, value in node.items()}

    def get(self, reference: str, *, where: str) -> Any:
        head, _, rest = reference.partition(".")
        if head == "Parameters":
            return self.parameters[rest]
        if head == "Execution":
            return self.execution[rest]
        step_name, path = split_step_reference(rest)
        properties = self.properties(step_name)
        extra = properties.get("__extra__", {})
        if path in extra:
            return extra[path]
        try:
            return read_path(properties, parse_path(path), where=f"{where} -> {step_name}")
        except UnknownProperty as error:
            raise EvaluationError(str(error)) from None

    def json_get(self, spec: Mapping[str, Any], *, where: str) -> Any:
        reference = spec["PropertyFile"]["Get"]
        step_name, path = split_step_reference(reference.removeprefix("Steps."))
        file_name = path.removeprefix("PropertyFiles.")
        step = self.definition.steps[step_name].step
        [declared] = [f for f in step["PropertyFiles"] if f["PropertyFileName"] == file_name]
        outputs = self.properties(step_name)["ProcessingOutputConfig"]["Outputs"]
        [output] = [o for o in outputs if o["OutputName"] == declared["OutputName"]]
        uri = f"{output['S3Output']['S3Uri'].rstrip('/')}/{declared['FilePath']}"
        text = self.read_text(uri)

        def refuse(constant: str) -> Any:
            raise EvaluationError(f"{where}: {uri} holds {constant}, which is not JSON")

        try:
            document = json.loads(text, parse_constant=refuse)
        except json.JSONDecodeError as error:
            raise EvaluationError(f"{where}: {uri} is not JSON: {error}") from None
        value: Any = document
        for name, index in _JSON_PATH.findall(spec["Path"]):
            if name and isinstance(value, Mapping):
                value = value.get(name)
            elif index and isinstance(value, list) and int(index) < len(value):
                value = value[int(index)]
            else:
                value = None
            if value is None:
                break
        if value is None:
            raise EvaluationError(f"{where}: JsonGet {spec['Path']!r} of {uri} has no value")
        return value

    def condition(self, condition: Mapping[str, Any], *, where: str) -> bool:
        kind = condition["Type"]
        if kind == "Not":
            return not self.condition(condition["Expression"], where=where)
        if kind == "Or":
            return any(self.condition(c, where=where) for c in condition["Conditions"])
        if kind == "In":
            query = self(condition["QueryValue"], where=where)
            return query in self(condition["Values"], where=where)
        left = self(condition["LeftValue"], where=where)
        right = self(condition["RightValue"], where=where)
        if kind == "Equals":
            return bool(left == right)
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (left, right)):
            raise EvaluationError(f"{where}: {kind} needs numbers, got {left!r} and {right!r}")
        comparisons = {
            "GreaterThan": left > right,
            "GreaterThanOrEqualTo": left >= right,
            "LessThan": left < right,
            "LessThanOrEqualTo": left <= right,
        }
        if kind not in comparisons:
            raise EvaluationError(f"{where}: unknown condition type {kind!r}")
        return bool(comparisons[kind])


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
