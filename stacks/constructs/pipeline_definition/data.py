"""Partition the raw data into train / validation / test (on K instances: then merge)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlops.data.schema import SPLIT_REPORT
from mlops.training.names import RunFolder, Step
from stacks.constructs.pipeline_definition.context import Context

INPUT = "/opt/ml/processing/input"
OUTPUT = "/opt/ml/processing/output"
OUTPUT_NAME = RunFolder.SPLITS


@dataclass(frozen=True)
class Splits:
    """What later steps read: the split folders and the split report (a property file)."""

    steps: list[Any]  # Partition, and MergeSplits on K > 1 instances
    uri: Any  # s3://.../splits of this run
    report: Any  # PropertyFile split-report.json of the last step

    @property
    def last(self) -> Any:
        return self.steps[-1]

    def split(self, name: str) -> Any:
        from sagemaker.workflow.functions import Join

        return Join(on="/", values=[self.uri, name, ""])


def splits_steps(ctx: Context, instance_type: Any) -> Splits:
    """Partition with ``python3 -m mlops.data.processing`` (docs/data.md). On K > 1 instances
    each gets a share of the input files (``ShardedByS3Key``) and writes its own shard report;
    ``MergeSplits`` then writes the manifests and ``split-report.json`` of the whole run."""
    from sagemaker.processing import ProcessingInput, ProcessingOutput
    from sagemaker.workflow.functions import Join
    from sagemaker.workflow.properties import PropertyFile
    from sagemaker.workflow.steps import ProcessingStep

    s, p = ctx.settings, ctx.parameters
    count = s.partition_instance_count
    sharded = count > 1
    destination = ctx.run_path(OUTPUT_NAME)
    report = PropertyFile(name="SplitReport", output_name=OUTPUT_NAME, path=SPLIT_REPORT)
    partition = ProcessingStep(
        name=Step.PARTITION,
        description=f"Split the input into train/validation/test on {count} instance(s)",
        step_args=ctx.processor(
            instance_type,
            "mlops.data.processing",
            instance_count=count,
            volume_size_gb=s.partition_volume_size_gb,
        ).run(
            inputs=[
                ctx.code_input,
                ProcessingInput(
                    source=p.input_data_uri,
                    destination=INPUT,
                    input_name="raw",
                    s3_data_distribution_type="ShardedByS3Key" if sharded else "FullyReplicated",
                ),
            ],
            outputs=[
                ProcessingOutput(output_name=OUTPUT_NAME, source=OUTPUT, destination=destination)
            ],
            arguments=[
                "--method", p.split_method,
                "--target", p.target,
                "--ratios", p.split_ratios,
                "--seed", p.split_seed.to_string(),
                "--key", p.split_key,
                "--order-by", p.split_order_by,
                "--drop-columns", s.drop_columns,
            ],
        ),
        property_files=[] if sharded else [report],
    )  # fmt: skip
    uri = partition.properties.ProcessingOutputConfig.Outputs[OUTPUT_NAME].S3Output.S3Uri
    if not sharded:
        return Splits(steps=[partition], uri=uri, report=report)
    merge = ProcessingStep(
        name=Step.MERGE_SPLITS,
        description=f"Manifests and split report of the {count} partition shards",
        step_args=ctx.processor(instance_type, "mlops.data.processing").run(
            inputs=[
                ctx.code_input,
                ProcessingInput(
                    source=Join(on="/", values=[uri, "shards"]),
                    destination=INPUT,
                    input_name="shards",
                ),
            ],
            outputs=[
                ProcessingOutput(output_name=OUTPUT_NAME, source=OUTPUT, destination=destination)
            ],
            arguments=["merge"],
        ),
        property_files=[report],
    )
    merged = merge.properties.ProcessingOutputConfig.Outputs[OUTPUT_NAME].S3Output.S3Uri
    return Splits(steps=[partition, merge], uri=merged, report=report)
