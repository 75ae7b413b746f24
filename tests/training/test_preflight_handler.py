"""The QuotaPreflight Lambda as it ships: its staged code and layer, its template's environment,
SageMaker in moto and Service Quotas stubbed (moto lacks it for SageMaker). Its outputs are the
ones the synthesized pipeline declares, and its environment is read by the same settings class
the Training stack writes it with."""

from __future__ import annotations

from typing import Any

import pytest

from mlops.training.names import Step
from mlops.training.settings import PreflightSettings
from tests.pipeline.definition import shipped_definition
from tests.pipeline.expressions import Evaluator, typed_parameters
from tests.pipeline.world import quota_stubs, run_quotas
from tests.shipped.assembly import PhysicalValues, ShippedFunction
from tests.shipped.fixtures import MotoServer
from tests.shipped.lambdas import invoke
from tests.synth import Synthesized

LAMBDA_TYPES = {"Boolean": bool, "String": str}


@pytest.fixture(scope="module")
def function(dev: Synthesized) -> ShippedFunction:
    return dev.assembly.function("training", "TrainingQuotaPreflight")


@pytest.fixture(scope="module")
def step(dev: Synthesized) -> dict[str, Any]:
    definition, _ = shipped_definition(dev.assembly, "training", PhysicalValues())
    return dict(definition.steps[Step.QUOTA_PREFLIGHT].step)


@pytest.fixture(scope="module")
def event(dev: Synthesized, step: dict[str, Any]) -> dict[str, Any]:
    """The step's inputs as the pipeline sends them with the default parameters."""
    definition, _ = shipped_definition(dev.assembly, "training", PhysicalValues())
    evaluate = Evaluator(
        definition, typed_parameters(definition, {}), {}, lambda _: {}, lambda _: ""
    )
    return dict(evaluate(step["Arguments"], where=Step.QUOTA_PREFLIGHT))


def test_outputs_match_the_pipeline_lambda_outputs(
    dev: Synthesized,
    function: ShippedFunction,
    step: dict[str, Any],
    event: dict[str, Any],
    moto_server: MotoServer,
) -> None:
    invocation = invoke(
        dev.assembly,
        function,
        event,
        endpoint_url=moto_server.endpoint_url,
        stubs=quota_stubs(run_quotas()),
        least_privilege_key="quota_preflight",
    )
    output = invocation.returned()
    declared = {o["OutputName"]: o["OutputType"] for o in step["OutputParameters"]}
    assert set(output) == set(declared)
    for name, kind in declared.items():
        assert isinstance(output[name], LAMBDA_TYPES[kind]), (name, output[name])
    assert (output["proceed"], output["verdict"]) == (True, "proceed")
    assert output["processing_instance_type"] == event["processing_instance_type"]


def test_the_environment_is_the_settings_the_stack_wrote(
    dev: Synthesized, function: ShippedFunction
) -> None:
    environment = dev.assembly.environment(function)
    settings = PreflightSettings.from_environment(environment)
    # cdk.json dev: training.fallback_instance_type, request_quota_increase left at false
    assert settings == PreflightSettings(
        fallback_instance_type="ml.m5.large", request_quota_increase=False
    )
    assert settings.to_environment() == environment


def test_bad_environment_is_named(
    dev: Synthesized, function: ShippedFunction, event: dict[str, Any], moto_server: MotoServer
) -> None:
    invocation = invoke(
        dev.assembly,
        function,
        event,
        endpoint_url=moto_server.endpoint_url,
        environment_overrides={"REQUEST_QUOTA_INCREASE": "yes"},
    )
    assert invocation.raised() == (
        "InputError: environment variable REQUEST_QUOTA_INCREASE='yes' is invalid; "
        "allowed: true or false"
    )
    assert invocation.calls == []


def test_bad_event_is_named(
    dev: Synthesized, function: ShippedFunction, event: dict[str, Any], moto_server: MotoServer
) -> None:
    invocation = invoke(
        dev.assembly,
        function,
        {**event, "transform_instance_type": None},
        endpoint_url=moto_server.endpoint_url,
    )
    assert invocation.raised().startswith(
        "InputError: transform_instance_type must be an instance type like ml.m5.large"
    )
    assert invocation.calls == []
