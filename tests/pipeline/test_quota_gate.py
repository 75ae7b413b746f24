"""Scenarios (b) and (c): the quota preflight decides before anything that bills starts."""

from __future__ import annotations

from mlops.training.names import Step
from tests.pipeline.world import World, quota_stubs, run_quotas

PROCESSING_STEPS = (
    Step.PARTITION,
    Step.PREPARE_TEST,
    Step.EVALUATE,
    Step.CLARIFY_BIAS,
    Step.MONITORING_DATASETS,
    Step.DATA_QUALITY_BASELINE,
    Step.MODEL_QUALITY_BASELINE,
)


def test_a_quota_shortage_starts_nothing_that_bills(dev_world: World) -> None:
    """Scenario (b), defect 4: the run ends at QuotaShortage with the preflight's message and
    no job was requested (every job step is in the gate's if-branch)."""
    quotas = {**run_quotas(), "ml.m5.4xlarge for training job usage": 0}
    execution = dev_world.executor.start(stubs=quota_stubs(quotas, short=1))

    assert execution.status == "Failed", execution.explain()
    assert execution.started == [Step.QUOTA_PREFLIGHT, Step.CHECK_QUOTAS, Step.QUOTA_SHORTAGE]
    assert execution.requests == []
    assert execution.failure_reason == (
        "Stopped before starting: quota 'ml.m5.4xlarge for training job usage' is 0, 0 in use, "
        "1 needed; request an increase in Service Quotas"
    )
    assert execution.step(Step.CHECK_QUOTAS).properties == {"Outcome": False}


def test_the_fallback_type_runs_every_step_it_covers(dev_world: World) -> None:
    """Scenario (c): the preferred processing type is short, dev's fallback (ml.m5.large) has
    room: every processing step runs on it (Autopilot's instances are not ours to choose).
    Issue 15: an unreachable MLflow app does not fail the run."""
    quotas = {**run_quotas(), "ml.m5.xlarge for processing job usage": 1}
    execution = dev_world.executor.start(stubs=quota_stubs(quotas))

    assert execution.status == "Succeeded", execution.explain()
    outputs = execution.step(Step.QUOTA_PREFLIGHT).properties["OutputParameters"]
    assert outputs["verdict"] == "fallback"
    assert outputs["processing_instance_type"] == "ml.m5.large"
    types = {
        r.step: r.params["ProcessingResources"]["ClusterConfig"]["InstanceType"]
        for r in execution.requests_of("CreateProcessingJob")
    }
    assert types == dict.fromkeys(PROCESSING_STEPS, "ml.m5.large")
    [transform] = execution.requests_of("CreateTransformJob")
    chosen = outputs["transform_instance_type"]
    assert transform.params["TransformResources"]["InstanceType"] == chosen
    # No MLflow app answers in this world: the run still succeeds, the logging step says why.
    logged = execution.step(Step.LOG_EXPERIMENT).properties["OutputParameters"]
    assert logged["status"] == "unreachable"
    assert logged["message"].startswith("MLflow app ") and "\n" not in logged["message"]
