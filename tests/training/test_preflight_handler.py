"""The preflight Lambda step's input/output contract (AWS calls stubbed at the boto3 boundary)."""

from __future__ import annotations

from typing import Any

import pytest

from lambdas.quota_preflight import handler as preflight_handler
from mlops.errors import InputError
from mlops.training.quotas import Decision

EVENT = {
    "processing_instance_type": "ml.m5.xlarge",
    "transform_instance_type": "ml.m5.large",
    "automl_processing_instance_type": "ml.m5.4xlarge",
    "automl_training_instance_type": "ml.m5.4xlarge",
    "automl_training_instances": 1,
    "endpoint_instance_type": "ml.m5.large",
    "endpoint_instance_count": 1,
}


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Replace the AWS-facing preflight by a recorder returning a fallback decision."""
    seen: dict[str, Any] = {}

    def fake_preflight(needs: Any, **kwargs: Any) -> Decision:
        seen["needs"] = needs
        seen.update(kwargs)
        return Decision(
            verdict="fallback",
            checks=(),
            instance_types={"processing job": "ml.c5.xlarge", "transform job": "ml.m5.large"},
            message="Proceeding with fallback: processing job on ml.c5.xlarge",
        )

    monkeypatch.setattr(preflight_handler, "preflight", fake_preflight)
    return seen


def test_outputs_match_the_pipeline_lambda_outputs(
    captured: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FALLBACK_INSTANCE_TYPE", "ml.c5.xlarge")
    monkeypatch.setenv("REQUEST_QUOTA_INCREASE", "true")
    output = preflight_handler.handler(dict(EVENT), None)
    # Exactly the LambdaOutputs the pipeline definition declares, with their types.
    assert output == {
        "proceed": True,
        "verdict": "fallback",
        "message": "Proceeding with fallback: processing job on ml.c5.xlarge",
        "processing_instance_type": "ml.c5.xlarge",
        "transform_instance_type": "ml.m5.large",
    }
    assert captured["fallback_instance_type"] == "ml.c5.xlarge"
    assert captured["request_increase"] is True
    assert len(captured["needs"]) == 5


def test_settings_default_to_no_fallback_and_no_request(
    captured: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FALLBACK_INSTANCE_TYPE", raising=False)
    monkeypatch.delenv("REQUEST_QUOTA_INCREASE", raising=False)
    preflight_handler.handler(dict(EVENT), None)
    assert captured["fallback_instance_type"] is None
    assert captured["request_increase"] is False


def test_bad_environment_is_named(
    captured: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUEST_QUOTA_INCREASE", "yes")
    with pytest.raises(InputError, match="REQUEST_QUOTA_INCREASE must be true or false"):
        preflight_handler.handler(dict(EVENT), None)
    assert "needs" not in captured


def test_bad_event_is_named(captured: dict[str, Any]) -> None:
    with pytest.raises(InputError, match="transform_instance_type must be an instance type"):
        preflight_handler.handler({**EVENT, "transform_instance_type": None}, None)
