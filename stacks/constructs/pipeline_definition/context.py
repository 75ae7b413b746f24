"""What every step builder shares: settings, placeholders, the offline SDK session, parameters,
run folders, tags and the processor of our own code."""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from mlops.constants import (
    MANAGED_BY_VALUE,
    MODELS_PREFIX,
    PIPELINES_PREFIX,
    TAG_ENVIRONMENT,
    TAG_MANAGED_BY,
)
from mlops.container import PROCESSING_DIR
from mlops.training.names import Parameter

# The SDK prints v2 deprecation banners and reads user config files on import, and building
# offline makes it log what it would do at run time ("Popping out 'ProcessingJobName'..."):
# nothing for a synth user to act on, so all of it is silenced.
os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
warnings.filterwarnings("ignore", module=r"sagemaker\..*")
for _logger in ("sagemaker", "sagemaker.config"):
    logging.getLogger(_logger).setLevel(logging.ERROR)

PLACEHOLDER_PREFIX = "mlopsplaceholder"
CODE_DIR = f"{PROCESSING_DIR}/code"


def placeholder(name: str) -> str:
    """A value the SDK accepts as-is and that appears nowhere else in a definition."""
    return f"{PLACEHOLDER_PREFIX}{name}"


# Where the ARN must look like an ARN to the SDK (it checks for "/"), the whole ARN is replaced.
ROLE_PLACEHOLDER = f"arn:aws:iam::000000000000:role/{placeholder('PipelineRoleArn')}"


@dataclass(frozen=True, kw_only=True)
class PipelineSettings:
    """Everything the definition depends on that is known at synth (from the config)."""

    environment: str
    name_prefix: str  # resource_prefix(env): run-time job names start with it
    model_package_group: str  # the SageMaker name (environment-scoped)
    target_column: str
    problem_type: str = "BinaryClassification"
    objective_metric: str
    split_method: str = "stratified"
    split_ratios: str = "0.7,0.15,0.15"
    split_seed: int = 42
    split_key: str = "customer_id"
    split_order_by: str = "transaction_time"
    drop_columns: str = "transaction_id"
    positive_label: str = "1"
    bias_facet: str
    max_candidates: int
    max_runtime_per_training_job_seconds: int
    max_automl_runtime_seconds: int
    processing_instance_type: str
    transform_instance_type: str
    automl_processing_instance_type: str
    automl_training_instance_type: str
    automl_training_instances: int
    partition_instance_count: int = 1
    partition_volume_size_gb: int = 30
    endpoint_instance_type: str
    endpoint_instance_count: int
    auto_approve_f1_threshold: float | None = None
    # monitoring.instance_type with monitoring enabled (baselines at registration), else None.
    monitoring_instance_type: str | None = None
    config_hash: str
    code_version: str
    code_zip_name: str  # object name of the mlops code asset (its hash + .zip)
    input_prefix: str = "raw/transactions/"  # default InputDataUri under the data bucket
    subnet_count: int = 0  # 0: jobs run without VPC config
    security_group_count: int = 0
    log_experiments: bool = False  # experiments.enabled: a logging step after registration


@dataclass(frozen=True)
class Definition:
    body: str  # JSON with placeholders
    variables: tuple[str, ...]  # placeholder names used in body
    step_names: tuple[str, ...] = field(default=())


@dataclass
class Context:
    """The SDK objects one definition is built with, created once and shared by the builders."""

    settings: PipelineSettings

    @cached_property
    def session(self) -> Any:
        import boto3
        from sagemaker.workflow.pipeline_context import PipelineSession

        boto_session = boto3.Session(
            region_name="us-east-1", aws_access_key_id="offline", aws_secret_access_key="offline"
        )
        return PipelineSession(
            boto_session=boto_session, default_bucket=placeholder("ArtifactsBucket")
        )

    role = ROLE_PLACEHOLDER
    key = placeholder("KeyArn")
    artifacts = f"s3://{placeholder('ArtifactsBucket')}"

    @property
    def tags(self) -> Any:  # the SDK's Tags type
        """On every job and model a run creates: teardown finds them by these two tags."""
        return [
            {"Key": TAG_ENVIRONMENT, "Value": self.settings.environment},
            {"Key": TAG_MANAGED_BY, "Value": MANAGED_BY_VALUE},
        ]

    @cached_property
    def network(self) -> Any:
        from sagemaker.network import NetworkConfig

        s = self.settings
        if not s.subnet_count:
            return None
        return NetworkConfig(
            enable_network_isolation=False,
            encrypt_inter_container_traffic=True,
            security_group_ids=[
                placeholder(f"SecurityGroup{i}") for i in range(s.security_group_count)
            ],
            subnets=[placeholder(f"Subnet{i}") for i in range(s.subnet_count)],
        )

    @property
    def vpc_config(self) -> dict[str, Any] | None:
        network = self.network
        if network is None:
            return None
        return {"SecurityGroupIds": network.security_group_ids, "Subnets": network.subnets}

    @cached_property
    def parameters(self) -> Parameters:
        return Parameters.of(self.settings)

    def execution_path(self, top_prefix: str, *parts: str) -> Any:
        """``s3://<artifacts>/<top>/<env>/<execution id>/<parts>``: one folder per run."""
        from sagemaker.workflow.execution_variables import ExecutionVariables
        from sagemaker.workflow.functions import Join

        run_folder = Join(
            on="/",
            values=[
                self.artifacts,
                top_prefix.rstrip("/"),
                self.settings.environment,
                ExecutionVariables.PIPELINE_EXECUTION_ID,
            ],
        )
        return Join(on="/", values=[run_folder, *parts])

    def run_path(self, *parts: str) -> Any:
        return self.execution_path(PIPELINES_PREFIX, *parts)

    def models_path(self, *parts: str) -> Any:
        """Model artifacts go under models/: the only prefix the endpoints' role may read."""
        return self.execution_path(MODELS_PREFIX, *parts)

    @property
    def code_input(self) -> Any:
        """The staged ``mlops`` zip, which the processing steps put on ``PYTHONPATH``."""
        from sagemaker.processing import ProcessingInput

        return ProcessingInput(
            source=f"s3://{placeholder('CodeAssetBucket')}/{placeholder('CodeAssetKey')}",
            destination=CODE_DIR,
            input_name="code",
        )

    def processor(
        self,
        instance_type: Any,
        module: str | None = None,
        *,
        image: str = "SklearnImageUri",
        instance_count: int = 1,
        volume_size_gb: int = 30,
    ) -> Any:
        """A processing job of this run: encrypted, in the VPC, tagged. With ``module``: the
        scikit-learn image running ``python3 -m <module>`` of the shipped ``mlops`` zip."""
        from sagemaker.processing import Processor

        code: dict[str, Any] = {}
        if module is not None:
            code = {
                "entrypoint": ["python3", "-m", module],
                "env": {"PYTHONPATH": f"{CODE_DIR}/{self.settings.code_zip_name}"},
            }
        return Processor(
            role=self.role,
            image_uri=placeholder(image),
            instance_count=instance_count,
            instance_type=instance_type,
            volume_size_in_gb=volume_size_gb,
            volume_kms_key=self.key,
            output_kms_key=self.key,
            network_config=self.network,
            base_job_name=self.settings.name_prefix,
            sagemaker_session=self.session,
            tags=self.tags,
            **code,
        )


@dataclass(frozen=True)
class Parameters:
    """The pipeline parameters, with the environment's config as defaults."""

    input_data_uri: Any
    target: Any
    problem_type: Any
    objective: Any
    split_method: Any
    split_ratios: Any
    split_seed: Any
    split_key: Any
    split_order_by: Any
    max_candidates: Any
    max_job_runtime: Any
    max_automl_runtime: Any
    processing_type: Any
    transform_type: Any
    automl_processing_type: Any
    automl_training_type: Any

    @classmethod
    def of(cls, s: PipelineSettings) -> Parameters:
        from sagemaker.workflow.parameters import ParameterInteger, ParameterString

        def text(name: str, default: str) -> Any:
            return ParameterString(name, default_value=default)

        def number(name: str, default: int) -> Any:
            return ParameterInteger(name, default_value=default)

        return cls(
            input_data_uri=text(
                Parameter.INPUT_DATA_URI, f"s3://{placeholder('DataBucket')}/{s.input_prefix}"
            ),
            target=text(Parameter.TARGET_COLUMN, s.target_column),
            problem_type=text(Parameter.PROBLEM_TYPE, s.problem_type),
            objective=text(Parameter.OBJECTIVE_METRIC, s.objective_metric),
            split_method=text(Parameter.SPLIT_METHOD, s.split_method),
            split_ratios=text(Parameter.SPLIT_RATIOS, s.split_ratios),
            split_seed=number(Parameter.SPLIT_SEED, s.split_seed),
            split_key=text(Parameter.SPLIT_KEY, s.split_key),
            split_order_by=text(Parameter.SPLIT_ORDER_BY, s.split_order_by),
            max_candidates=number(Parameter.MAX_CANDIDATES, s.max_candidates),
            max_job_runtime=number(
                Parameter.MAX_RUNTIME_PER_TRAINING_JOB, s.max_runtime_per_training_job_seconds
            ),
            max_automl_runtime=number(Parameter.MAX_AUTOML_RUNTIME, s.max_automl_runtime_seconds),
            processing_type=text(Parameter.PROCESSING_INSTANCE_TYPE, s.processing_instance_type),
            transform_type=text(Parameter.TRANSFORM_INSTANCE_TYPE, s.transform_instance_type),
            automl_processing_type=text(
                Parameter.AUTOML_PROCESSING_INSTANCE_TYPE, s.automl_processing_instance_type
            ),
            automl_training_type=text(
                Parameter.AUTOML_TRAINING_INSTANCE_TYPE, s.automl_training_instance_type
            ),
        )

    def all(self) -> list[Any]:
        return list(vars(self).values())
