"""The `monitoring` section of cdk.json: each wrong value stops synth in one line."""

from __future__ import annotations

from typing import Any

import pytest

from stacks.config import ConfigError, load_environment
from tests.unit.test_config import _context


@pytest.mark.parametrize(
    ("overrides", "path", "allowed"),
    [
        (
            {"monitoring__data_quality_schedule": "cron(15 * ? * * *)"},
            "monitoring.data_quality_schedule",
            "cron(0 * ? * * *) hourly",
        ),
        (
            {"monitoring__instance_type": "ml.t2.medium"},
            "monitoring.instance_type",
            "not a processing instance type",
        ),
        (
            {"monitoring__max_runtime_seconds": 90_000},
            "monitoring.max_runtime_seconds",
            "from 60 to 86400",
        ),
        (
            {"monitoring__ground_truth_window_start_hours": 10,
             "monitoring__ground_truth_window_end_hours": 10},
            "monitoring.ground_truth_window_end_hours",
            "the window must start before it ends",
        ),
        (
            {"monitoring__model_quality_schedule": "cron(0 * ? * * *)",
             "monitoring__max_runtime_seconds": 3600},
            "monitoring.max_runtime_seconds",
            "an hourly model-quality schedule allows at most 1800",
        ),
        (
            {"deployment__data_capture_percent": 0},
            "deployment.data_capture_percent",
            "monitoring reads the endpoint's captured requests",
        ),
        ({"monitoring__f1_floor": 1.5}, "monitoring.f1_floor", "from 0 to 1"),
    ],
)  # fmt: skip
def test_bad_monitoring_values_stop_synth(
    overrides: dict[str, Any], path: str, allowed: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_environment(_context("dev", **overrides))
    message = str(raised.value)
    assert message.startswith(f"config error at environments.dev.{path}: ")
    assert allowed in message and "\n" not in message


def test_disabled_monitoring_needs_no_data_capture() -> None:
    config = load_environment(
        _context("dev", monitoring__enabled=False, deployment__data_capture_percent=0)
    )
    assert config.monitoring.enabled is False
