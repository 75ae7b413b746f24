"""The executor's reading of SageMaker's pipeline semantics, on small hand-written definitions:
what the service refuses at creation, how parameters, properties, Join, JsonGet and
conditions evaluate. (The scenarios run the shipped definition; these pin the rules.)"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from tests.pipeline.definition import DefinitionError, PipelineDefinition
from tests.pipeline.expressions import EvaluationError, Evaluator, typed_parameters
from tests.pipeline.service import UnknownProperty


def processing(name: str, **extra: Any) -> dict[str, Any]:
    return {"Name": name, "Type": "Processing", "Arguments": {}, **extra}


def condition(name: str, if_steps: list[Any], else_steps: list[Any]) -> dict[str, Any]:
    return {
        "Name": name,
        "Type": "Condition",
        "Arguments": {
            "Conditions": [{"Type": "Equals", "LeftValue": 1, "RightValue": 1}],
            "IfSteps": if_steps,
            "ElseSteps": else_steps,
        },
    }


def definition(steps: list[Any], parameters: list[Any] | None = None) -> PipelineDefinition:
    return PipelineDefinition(
        {"Version": "2020-12-01", "Parameters": parameters or [], "Steps": steps}
    )


def test_depending_on_a_condition_step_is_refused_at_creation() -> None:
    """Defect 4's shape: aws/sagemaker-python-sdk#3565."""
    with pytest.raises(DefinitionError, match="depends on condition step 'Gate'"):
        definition(
            [condition("Gate", [], [{"Name": "Stop", "Type": "Fail"}]),
             processing("Bill", DependsOn=["Gate"])]
        )  # fmt: skip


def test_nested_condition_steps_are_refused() -> None:
    with pytest.raises(DefinitionError, match="nested condition steps"):
        definition([condition("Outer", [condition("Inner", [], [])], [])])


def test_a_step_in_both_branches_is_refused() -> None:
    with pytest.raises(DefinitionError, match="used twice"):
        definition([condition("Gate", [processing("Same")], [processing("Same")])])


def test_a_property_path_must_exist_in_the_describe_output() -> None:
    good = {"Get": "Steps.Split.ProcessingOutputConfig.Outputs['splits'].S3Output.S3Uri"}
    definition([processing("Split"), processing("Use", Arguments={"Uri": good})])
    bad = {"Get": "Steps.Split.ProcessingOutputConfig.Outputs['splits'].S3Output.S3Url"}
    with pytest.raises(UnknownProperty, match="S3Url"):
        definition([processing("Split"), processing("Use", Arguments={"Uri": bad})])


def test_autopilot_properties_follow_describe_auto_ml_job_and_the_sdks_extras() -> None:
    automl = {"Name": "AutoML", "Type": "AutoML", "Arguments": {}}
    for path in (
        "BestCandidate.InferenceContainers[0].Environment['MODEL_NAME']",
        "BestCandidate.CandidateProperties.CandidateArtifactLocations.Explainability",
        "BestCandidateProperties.ExplainabilityJsonReportPath",
    ):
        definition([automl, processing("Use", Arguments={"X": {"Get": f"Steps.AutoML.{path}"}})])
    with pytest.raises(UnknownProperty, match="BestCandidateProperties"):
        path = "Steps.AutoML.BestCandidateProperties.ExplainabilityJsonReport"
        definition([automl, processing("Use", Arguments={"X": {"Get": path}})])


def test_lambda_properties_are_its_declared_outputs() -> None:
    function = {
        "Name": "Check",
        "Type": "Lambda",
        "FunctionArn": "arn",
        "OutputParameters": [{"OutputName": "proceed", "OutputType": "Boolean"}],
    }
    use = {"Get": "Steps.Check.OutputParameters['proceed']"}
    definition([function, processing("Use", Arguments={"X": use})])
    with pytest.raises(UnknownProperty, match="outputs: \\['proceed'\\]"):
        missing = {"Get": "Steps.Check.OutputParameters['verdict']"}
        definition([function, processing("Use", Arguments={"X": missing})])


def test_unknown_parameters_and_steps_are_refused() -> None:
    with pytest.raises(DefinitionError, match="parameter 'Nope'"):
        definition([processing("Use", Arguments={"X": {"Get": "Parameters.Nope"}})])
    with pytest.raises(DefinitionError, match="unknown step 'Ghost'"):
        definition([processing("Use", Arguments={"X": {"Get": "Steps.Ghost.ProcessingJobArn"}})])


PARAMETERS = [
    {"Name": "Count", "Type": "Integer", "DefaultValue": 2},
    {"Name": "Ratio", "Type": "Float", "DefaultValue": 0.5},
    {"Name": "Flag", "Type": "Boolean", "DefaultValue": False},
    {"Name": "Uri", "Type": "String", "DefaultValue": "s3://b/raw/"},
    {"Name": "Required", "Type": "String"},
]


def test_parameters_take_defaults_then_typed_overrides() -> None:
    pipeline = definition([], PARAMETERS)
    values = typed_parameters(pipeline, {"Count": "7", "Flag": "true", "Required": "x"})
    assert values == {"Count": 7, "Ratio": 0.5, "Flag": True, "Uri": "s3://b/raw/", "Required": "x"}
    with pytest.raises(EvaluationError, match="'seven' is not a valid Integer"):
        typed_parameters(pipeline, {"Count": "seven", "Required": "x"})
    with pytest.raises(EvaluationError, match="'Required' has no value"):
        typed_parameters(pipeline, {})
    with pytest.raises(EvaluationError, match="'Typo' is not defined"):
        typed_parameters(pipeline, {"Typo": "1", "Required": "x"})


REPORT_STEP = processing(
    "Score",
    PropertyFiles=[
        {"PropertyFileName": "Report", "OutputName": "metrics", "FilePath": "evaluation.json"}
    ],
)
SCORE_PROPERTIES = {
    "ProcessingOutputConfig": {
        "Outputs": [{"OutputName": "metrics", "S3Output": {"S3Uri": "s3://b/run/metrics"}}]
    }
}


def evaluator(files: Mapping[str, str]) -> Evaluator:
    pipeline = definition([REPORT_STEP], PARAMETERS)
    return Evaluator(
        pipeline,
        typed_parameters(pipeline, {"Required": "r"}),
        {"PipelineExecutionId": "abc123"},
        lambda name: SCORE_PROPERTIES,
        lambda uri: files[uri],
    )


def json_get(path: str) -> dict[str, Any]:
    return {
        "Std:JsonGet": {"PropertyFile": {"Get": "Steps.Score.PropertyFiles.Report"}, "Path": path}
    }


def test_join_get_and_json_get() -> None:
    evaluate = evaluator({"s3://b/run/metrics/evaluation.json": json.dumps({"m": {"f1": [0.8]}})})
    joined = {
        "Std:Join": {
            "On": "/",
            "Values": [{"Get": "Parameters.Uri"}, {"Get": "Execution.PipelineExecutionId"}, 3],
        }
    }
    assert evaluate(joined, where="t") == "s3://b/raw//abc123/3"
    assert evaluate(json_get("m.f1[0]"), where="t") == 0.8
    uri = {"Get": "Steps.Score.ProcessingOutputConfig.Outputs['metrics'].S3Output.S3Uri"}
    assert evaluate(uri, where="t") == "s3://b/run/metrics"


def test_json_get_needs_strict_json_and_a_value() -> None:
    """Defect 12's consequence: a bare NaN or a null leaves the service without a value."""
    evaluate = evaluator({"s3://b/run/metrics/evaluation.json": '{"auc": NaN, "pr": null}'})
    with pytest.raises(EvaluationError, match="holds NaN, which is not JSON"):
        evaluate(json_get("auc"), where="t")
    evaluate = evaluator({"s3://b/run/metrics/evaluation.json": '{"auc": 0.5, "pr": null}'})
    with pytest.raises(EvaluationError, match=r"'pr' of .* has no value"):
        evaluate(json_get("pr"), where="t")


@pytest.mark.parametrize(
    ("spec", "outcome"),
    [
        ({"Type": "Equals", "LeftValue": {"Get": "Parameters.Flag"}, "RightValue": False}, True),
        ({"Type": "GreaterThanOrEqualTo", "LeftValue": 0.8, "RightValue": 0.8}, True),
        ({"Type": "LessThan", "LeftValue": {"Get": "Parameters.Count"}, "RightValue": 2}, False),
        ({"Type": "In", "QueryValue": "b", "Values": ["a", "b"]}, True),
        ({"Type": "Not", "Expression": {"Type": "Equals", "LeftValue": 1, "RightValue": 1}}, False),
        (
            {
                "Type": "Or",
                "Conditions": [
                    {"Type": "Equals", "LeftValue": 1, "RightValue": 2},
                    {"Type": "GreaterThan", "LeftValue": 3, "RightValue": 2},
                ],
            },
            True,
        ),
    ],
)
def test_conditions(spec: dict[str, Any], outcome: bool) -> None:
    assert evaluator({}).condition(spec, where="t") is outcome


def test_comparing_a_missing_number_fails_the_condition() -> None:
    with pytest.raises(EvaluationError, match="needs numbers"):
        evaluator({}).condition(
            {"Type": "GreaterThan", "LeftValue": None, "RightValue": 0.5}, where="t"
        )
