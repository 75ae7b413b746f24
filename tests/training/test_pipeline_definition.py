"""The definition builders on their own: auto-approval (off in the shipped environments) and a
sharded partition, checked by the rules CreatePipeline applies (tests/pipeline/definition)."""

from __future__ import annotations

import json
from dataclasses import replace

from mlops.training.names import Step, model_step_name
from stacks.config import load_environment
from stacks.constructs.pipeline_definition import build_definition
from stacks.constructs.training_pipeline import pipeline_settings
from tests.pipeline.definition import PipelineDefinition
from tests.synth import cdk_context

# dev's settings with what no shipped environment uses: auto-approval, a 3-instance partition
# (and the logging step, which the stack adds when the Experiments stack exists).
SETTINGS = replace(
    pipeline_settings(load_environment(cdk_context("dev")), code_version="version"),
    auto_approve_f1_threshold=0.8,
    partition_instance_count=3,
    log_experiments=True,
)


def test_auto_approval_follows_the_gate_without_nesting_conditions() -> None:
    """Pipelines does not nest condition steps: CheckF1 is at the top level, reading Evaluate
    (inside the gate's branch), and registers Approved or pending."""
    body = json.loads(build_definition(SETTINGS).body)
    definition = PipelineDefinition(body)  # raises on what CreatePipeline would refuse
    assert [p.name for p in definition.top_level()] == [
        Step.QUOTA_PREFLIGHT,
        Step.CHECK_QUOTAS,
        Step.CHECK_F1,
    ]
    check = definition.steps[Step.CHECK_F1].step["Arguments"]
    assert check["Conditions"] == [
        {
            "Type": "GreaterThanOrEqualTo",
            "LeftValue": {
                "Std:JsonGet": {
                    "PropertyFile": {"Get": "Steps.Evaluate.PropertyFiles.EvaluationReport"},
                    "Path": "binary_classification_metrics.f1.value",
                }
            },
            "RightValue": 0.8,
        }
    ]
    approved = model_step_name(Step.REGISTER_APPROVED, "RegisterModel")
    pending = model_step_name(Step.REGISTER, "RegisterModel")
    # Each registering branch logs its run, naming the version it registered.
    assert [s["Name"] for s in check["IfSteps"]] == [approved, Step.LOG_EXPERIMENT_APPROVED]
    assert [s["Name"] for s in check["ElseSteps"]] == [pending, Step.LOG_EXPERIMENT]
    for log, register in ((Step.LOG_EXPERIMENT_APPROVED, approved), (Step.LOG_EXPERIMENT, pending)):
        inputs = definition.steps[log].step["Arguments"]
        assert inputs["model_package_arn"] == {"Get": f"Steps.{register}.ModelPackageArn"}
    statuses = {
        name: definition.steps[name].step["Arguments"]["ModelApprovalStatus"]
        for name in (approved, pending)
    }
    assert statuses == {approved: "Approved", pending: "PendingManualApproval"}


def test_a_sharded_partition_is_merged_before_anything_reads_the_splits() -> None:
    definition = PipelineDefinition(json.loads(build_definition(SETTINGS).body))
    gated = [p.name for p in definition.steps.values() if p.condition == Step.CHECK_QUOTAS]
    assert gated[:2] == [Step.PARTITION, Step.MERGE_SPLITS]
    for reader in (Step.AUTOML, Step.PREPARE_TEST, Step.CLARIFY_BIAS):
        text = json.dumps(definition.steps[reader].step)
        assert "Steps.MergeSplits." in text and "Steps.Partition." not in text, reader
