"""The training pipeline's definition, built with the SageMaker Python SDK (2.x) at synth, offline.

The SDK needs a session, a role ARN and S3 locations; none of the real values exist before
deploy. So the SDK is given a boto3 session that is never used to call AWS (fake credentials,
an explicit default bucket, role ARNs that already contain ``/`` so it never calls IAM) and
*placeholders*: unique strings that :func:`build_definition` returns alongside the JSON. The
construct replaces each placeholder by a ``${Name}`` variable of ``Fn::Sub`` whose value is the
CloudFormation reference (bucket names, ARNs, subnet ids, the region's image URIs). What users
choose per run are pipeline parameters, with the environment's config as defaults.

Steps (see docs/training.md): Partition -> QuotaPreflight -> CheckQuotas (-> QuotaShortage
fail) -> AutoML, PrepareTest, ClarifyBias -> CreateScoringModel -> ScoreTestSplit (transform)
-> Evaluate -> RegisterModel (or, with auto-approval, CheckF1 -> RegisterApproved /
RegisterPending).
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlops.constants import MODELS_PREFIX, PIPELINES_PREFIX

# The SDK prints v2 deprecation banners and reads user config files on import, and building
# offline makes it log what it would do at run time ("Popping out 'ProcessingJobName'..."):
# nothing for a synth user to act on, so all of it is silenced.
os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
warnings.filterwarnings("ignore", module=r"sagemaker\..*")
for _logger in ("sagemaker", "sagemaker.config"):
    logging.getLogger(_logger).setLevel(logging.ERROR)

PLACEHOLDER_PREFIX = "mlopsplaceholder"


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
    model_package_group: str
    target_column: str
    problem_type: str = "BinaryClassification"
    objective_metric: str
    split_method: str = "stratified"
    split_ratios: str = "0.7,0.15,0.15"
    split_seed: int = 42
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
    endpoint_instance_type: str
    endpoint_instance_count: int
    auto_approve_f1_threshold: float | None = None
    config_hash: str
    code_version: str
    code_zip_name: str  # object name of the mlops code asset (its hash + .zip)
    subnet_count: int = 0  # 0: jobs run without VPC config
    security_group_count: int = 0


@dataclass(frozen=True)
class Definition:
    body: str  # JSON with placeholders
    variables: tuple[str, ...]  # placeholder names used in body
    step_names: tuple[str, ...] = field(default=())


# Pipeline parameter names (also used by the CLI's `pipeline start`).
P_INPUT = "InputDataUri"
P_TARGET = "TargetColumn"
P_PROBLEM = "ProblemType"
P_OBJECTIVE = "ObjectiveMetric"
P_SPLIT_METHOD = "SplitMethod"
P_SPLIT_RATIOS = "SplitRatios"
P_SEED = "SplitSeed"
P_MAX_CANDIDATES = "MaxCandidates"
P_MAX_JOB_RUNTIME = "MaxRuntimePerTrainingJobSeconds"
P_MAX_AUTOML_RUNTIME = "MaxAutoMLRuntimeSeconds"
P_PROCESSING_TYPE = "ProcessingInstanceType"
P_TRANSFORM_TYPE = "TransformInstanceType"
P_AUTOML_PROCESSING_TYPE = "AutoMLProcessingInstanceType"
P_AUTOML_TRAINING_TYPE = "AutoMLTrainingInstanceType"

CODE_DIR = "/opt/ml/processing/code"


def build_definition(settings: PipelineSettings) -> Definition:
    """The pipeline definition JSON (with placeholders) for ``settings``."""
    import boto3
    from sagemaker.automl.automl import AutoML
    from sagemaker.automl.automl import AutoMLInput as _AutoMLInput
    from sagemaker.lambda_helper import Lambda
    from sagemaker.model import Model
    from sagemaker.model_metrics import MetricsSource, ModelMetrics
    from sagemaker.network import NetworkConfig
    from sagemaker.processing import ProcessingInput, ProcessingOutput, Processor
    from sagemaker.transformer import Transformer
    from sagemaker.workflow.automl_step import AutoMLStep
    from sagemaker.workflow.condition_step import ConditionStep
    from sagemaker.workflow.conditions import ConditionEquals, ConditionGreaterThanOrEqualTo
    from sagemaker.workflow.execution_variables import ExecutionVariables
    from sagemaker.workflow.fail_step import FailStep
    from sagemaker.workflow.functions import Join, JsonGet
    from sagemaker.workflow.lambda_step import LambdaOutput, LambdaOutputTypeEnum, LambdaStep
    from sagemaker.workflow.model_step import ModelStep
    from sagemaker.workflow.parameters import ParameterInteger, ParameterString
    from sagemaker.workflow.pipeline import Pipeline
    from sagemaker.workflow.pipeline_context import PipelineSession
    from sagemaker.workflow.properties import PropertyFile
    from sagemaker.workflow.steps import ProcessingStep, TransformStep

    s = settings
    AutoMLInput: Any = _AutoMLInput  # untyped in the SDK
    boto_session = boto3.Session(
        region_name="us-east-1", aws_access_key_id="offline", aws_secret_access_key="offline"
    )
    session = PipelineSession(
        boto_session=boto_session, default_bucket=placeholder("ArtifactsBucket")
    )
    role = ROLE_PLACEHOLDER
    key = placeholder("KeyArn")
    artifacts = f"s3://{placeholder('ArtifactsBucket')}"

    def execution_path(top_prefix: str, *parts: str) -> Any:
        """``s3://<artifacts>/<top>/<env>/<execution id>/<parts>``: one folder per run."""
        run_folder = Join(
            on="/",
            values=[
                artifacts,
                top_prefix.rstrip("/"),
                s.environment,
                ExecutionVariables.PIPELINE_EXECUTION_ID,
            ],
        )
        return Join(on="/", values=[run_folder, *parts])

    def run_path(*parts: str) -> Any:
        return execution_path(PIPELINES_PREFIX, *parts)

    def models_path(*parts: str) -> Any:
        """Model artifacts go under models/: the only prefix the endpoints' role may read."""
        return execution_path(MODELS_PREFIX, *parts)

    network = None
    if s.subnet_count:
        network = NetworkConfig(
            enable_network_isolation=False,
            encrypt_inter_container_traffic=True,
            security_group_ids=[
                placeholder(f"SecurityGroup{i}") for i in range(s.security_group_count)
            ],
            subnets=[placeholder(f"Subnet{i}") for i in range(s.subnet_count)],
        )
    vpc_config: Any = (
        {"SecurityGroupIds": network.security_group_ids, "Subnets": network.subnets}
        if network
        else None
    )

    p_input: Any = ParameterString(P_INPUT, default_value=f"s3://{placeholder('DataBucket')}/raw/")
    p_target: Any = ParameterString(P_TARGET, default_value=s.target_column)
    p_problem: Any = ParameterString(P_PROBLEM, default_value=s.problem_type)
    p_objective: Any = ParameterString(P_OBJECTIVE, default_value=s.objective_metric)
    p_method: Any = ParameterString(P_SPLIT_METHOD, default_value=s.split_method)
    p_ratios: Any = ParameterString(P_SPLIT_RATIOS, default_value=s.split_ratios)
    p_seed: Any = ParameterInteger(P_SEED, default_value=s.split_seed)
    p_candidates: Any = ParameterInteger(P_MAX_CANDIDATES, default_value=s.max_candidates)
    p_job_runtime: Any = ParameterInteger(
        P_MAX_JOB_RUNTIME, default_value=s.max_runtime_per_training_job_seconds
    )
    p_automl_runtime: Any = ParameterInteger(
        P_MAX_AUTOML_RUNTIME, default_value=s.max_automl_runtime_seconds
    )
    p_processing: Any = ParameterString(P_PROCESSING_TYPE, default_value=s.processing_instance_type)
    p_transform: Any = ParameterString(P_TRANSFORM_TYPE, default_value=s.transform_instance_type)
    p_automl_processing: Any = ParameterString(
        P_AUTOML_PROCESSING_TYPE, default_value=s.automl_processing_instance_type
    )
    p_automl_training: Any = ParameterString(
        P_AUTOML_TRAINING_TYPE, default_value=s.automl_training_instance_type
    )
    parameters = [
        p_input,
        p_target,
        p_problem,
        p_objective,
        p_method,
        p_ratios,
        p_seed,
        p_candidates,
        p_job_runtime,
        p_automl_runtime,
        p_processing,
        p_transform,
        p_automl_processing,
        p_automl_training,
    ]

    code_input = ProcessingInput(
        source=f"s3://{placeholder('CodeAssetBucket')}/{placeholder('CodeAssetKey')}",
        destination=CODE_DIR,
        input_name="code",
    )

    def processor(instance_type: Any, module: str) -> Processor:
        return Processor(
            role=role,
            image_uri=placeholder("SklearnImageUri"),
            instance_count=1,
            instance_type=instance_type,
            entrypoint=["python3", "-m", module],
            env={"PYTHONPATH": f"{CODE_DIR}/{s.code_zip_name}"},
            volume_kms_key=key,
            output_kms_key=key,
            network_config=network,
            base_job_name=s.name_prefix,
            sagemaker_session=session,
        )

    # a. Partition the raw data into train / validation / test (+ manifests, split report).
    split_report = PropertyFile(name="SplitReport", output_name="splits", path="split-report.json")
    partition = ProcessingStep(
        name="Partition",
        description="Split the input into train/validation/test with manifests (mlops.data)",
        step_args=processor(p_processing, "mlops.data.processing").run(
            inputs=[
                code_input,
                ProcessingInput(
                    source=p_input, destination="/opt/ml/processing/input", input_name="raw"
                ),
            ],
            outputs=[
                ProcessingOutput(
                    output_name="splits",
                    source="/opt/ml/processing/output",
                    destination=run_path("splits"),
                )
            ],
            arguments=[
                "--method",
                p_method,
                "--target",
                p_target,
                "--ratios",
                p_ratios,
                "--seed",
                p_seed.to_string(),
                "--drop-columns",
                s.drop_columns,
            ],
        ),
        property_files=[split_report],
    )
    splits = partition.properties.ProcessingOutputConfig.Outputs["splits"].S3Output.S3Uri

    def split_uri(name: str) -> Any:
        return Join(on="/", values=[splits, name, ""])

    # b. Quota preflight (Lambda).
    outputs = {
        "proceed": LambdaOutput("proceed", LambdaOutputTypeEnum.Boolean),
        "verdict": LambdaOutput("verdict", LambdaOutputTypeEnum.String),
        "message": LambdaOutput("message", LambdaOutputTypeEnum.String),
        "processing_instance_type": LambdaOutput(
            "processing_instance_type", LambdaOutputTypeEnum.String
        ),
        "transform_instance_type": LambdaOutput(
            "transform_instance_type", LambdaOutputTypeEnum.String
        ),
    }
    preflight = LambdaStep(
        name="QuotaPreflight",
        description="Service Quotas vs current use for this run and its blue/green deployment",
        lambda_func=Lambda(function_arn=placeholder("PreflightFunctionArn"), session=session),
        inputs={
            "processing_instance_type": p_processing,
            "transform_instance_type": p_transform,
            "automl_processing_instance_type": p_automl_processing,
            "automl_training_instance_type": p_automl_training,
            "automl_training_instances": s.automl_training_instances,
            "endpoint_instance_type": s.endpoint_instance_type,
            "endpoint_instance_count": s.endpoint_instance_count,
        },
        outputs=list(outputs.values()),
        depends_on=[partition],
    )
    chosen_processing = preflight.properties.Outputs["processing_instance_type"]
    chosen_transform = preflight.properties.Outputs["transform_instance_type"]

    # c. Stop (Fail step with the preflight's message) when the run cannot proceed.
    shortage = FailStep(name="QuotaShortage", error_message=preflight.properties.Outputs["message"])
    gate = ConditionStep(
        name="CheckQuotas",
        conditions=[ConditionEquals(left=preflight.properties.Outputs["proceed"], right=False)],
        if_steps=[shortage],
        else_steps=[],
    )

    # d. Autopilot (ensembling) on train, validated on validation, capped in time and size.
    automl = AutoML(
        role=role,
        target_attribute_name=p_target,
        sagemaker_session=session,
        output_kms_key=key,
        output_path=models_path("automl"),
        base_job_name=s.name_prefix,
        problem_type=p_problem,
        max_candidates=p_candidates,
        max_runtime_per_training_job_in_seconds=p_job_runtime,
        total_job_runtime_in_seconds=p_automl_runtime,
        job_objective={"MetricName": p_objective},
        volume_kms_key=key,
        encrypt_inter_container_traffic=True,
        vpc_config=vpc_config,
        mode="ENSEMBLING",
        tags=[{"Key": "mlops:environment", "Value": s.environment}],
    )
    automl_step: Any = AutoMLStep(
        name="AutoML",
        description="Autopilot ensembling: several algorithms, tuned, best by the objective",
        step_args=automl.fit(
            inputs=[
                AutoMLInput(
                    inputs=split_uri("train"),
                    target_attribute_name=p_target,
                    channel_type="training",
                ),
                AutoMLInput(
                    inputs=split_uri("validation"),
                    target_attribute_name=p_target,
                    channel_type="validation",
                ),
            ],
        ),
        depends_on=[gate],
    )

    # e. Evaluation: test features/labels, batch transform of the best candidate, metrics.
    prepare = ProcessingStep(
        name="PrepareTest",
        description="Test split -> headerless features + labels for batch transform",
        step_args=processor(chosen_processing, "mlops.training.evaluation").run(
            inputs=[
                code_input,
                ProcessingInput(
                    source=split_uri("test"),
                    destination="/opt/ml/processing/input/test",
                    input_name="test",
                ),
            ],
            outputs=[
                ProcessingOutput(
                    output_name="features",
                    source="/opt/ml/processing/output",
                    destination=run_path("test-features"),
                )
            ],
            arguments=[
                "prepare",
                "--target",
                p_target,
                "--drop-columns",
                s.drop_columns,
            ],
        ),
        depends_on=[gate],
    )
    test_prefix = prepare.properties.ProcessingOutputConfig.Outputs["features"].S3Output.S3Uri

    container = automl_step.properties.BestCandidate.InferenceContainers[0]
    scoring_model = Model(
        image_uri=container.Image,
        model_data=container.ModelDataUrl,
        env={
            "MODEL_NAME": container.Environment["MODEL_NAME"],
            "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv",
            "SAGEMAKER_SUBMIT_DIRECTORY": container.Environment["SAGEMAKER_SUBMIT_DIRECTORY"],
            "SAGEMAKER_INFERENCE_SUPPORTED": container.Environment["SAGEMAKER_INFERENCE_SUPPORTED"],
            "SAGEMAKER_INFERENCE_OUTPUT": "predicted_label,probability",
            "SAGEMAKER_PROGRAM": container.Environment["SAGEMAKER_PROGRAM"],
        },
        role=role,
        vpc_config=vpc_config,
        enable_network_isolation=False,
        sagemaker_session=session,
    )
    create_model = ModelStep(
        name="CreateScoringModel",
        step_args=scoring_model.create(instance_type=chosen_transform),
    )
    transformer = Transformer(
        model_name=create_model.properties.ModelName,
        instance_count=1,
        instance_type=chosen_transform,
        strategy="MultiRecord",
        assemble_with="Line",
        accept="text/csv",
        output_path=run_path("test-predictions"),
        output_kms_key=key,
        volume_kms_key=key,
        base_transform_job_name=s.name_prefix,
        sagemaker_session=session,
    )
    transform = TransformStep(
        name="ScoreTestSplit",
        description="Batch transform of the best candidate on the held-out test split",
        step_args=transformer.transform(
            data=Join(on="/", values=[test_prefix, "features.csv"]),
            content_type="text/csv",
            split_type="Line",
        ),
    )

    evaluation_report = PropertyFile(
        name="EvaluationReport", output_name="evaluation", path="evaluation.json"
    )
    evaluate = ProcessingStep(
        name="Evaluate",
        description="Precision, recall, F1, ROC AUC, PR AUC, confusion matrix on the test split",
        step_args=processor(chosen_processing, "mlops.training.evaluation").run(
            inputs=[
                code_input,
                ProcessingInput(
                    source=transform.properties.TransformOutput.S3OutputPath,
                    destination="/opt/ml/processing/input/predictions",
                    input_name="predictions",
                ),
                ProcessingInput(
                    source=Join(on="/", values=[test_prefix, "labels.csv"]),
                    destination="/opt/ml/processing/input/labels",
                    input_name="labels",
                ),
            ],
            outputs=[
                ProcessingOutput(
                    output_name="evaluation",
                    source="/opt/ml/processing/evaluation",
                    destination=run_path("evaluation"),
                )
            ],
            arguments=["score", "--positive-label", s.positive_label],
        ),
        property_files=[evaluation_report],
    )

    # f. Clarify: pre-training data bias of the train split for the configured facet. The SDK's
    # ClarifyCheckStep uploads its analysis config while the definition is built (not offline);
    # this is the same job as a processing step whose config ships as a CDK asset.
    clarify = Processor(
        role=role,
        image_uri=placeholder("ClarifyImageUri"),
        instance_count=1,
        instance_type=chosen_processing,
        volume_kms_key=key,
        output_kms_key=key,
        network_config=network,
        base_job_name=s.name_prefix,
        sagemaker_session=session,
    )
    bias = ProcessingStep(
        name="ClarifyBias",
        description=f"Pre-training bias report of the train split for facet {s.bias_facet}",
        step_args=clarify.run(
            inputs=[
                ProcessingInput(
                    source=f"s3://{placeholder('ClarifyConfigBucket')}/{placeholder('ClarifyConfigKey')}",
                    destination="/opt/ml/processing/input/config",
                    input_name="analysis_config",
                ),
                ProcessingInput(
                    source=split_uri("train"),
                    destination="/opt/ml/processing/input/data",
                    input_name="dataset",
                ),
            ],
            outputs=[
                ProcessingOutput(
                    output_name="analysis_result",
                    source="/opt/ml/processing/output",
                    destination=run_path("clarify-bias"),
                )
            ],
        ),
        depends_on=[gate],
    )
    bias_uri = bias.properties.ProcessingOutputConfig.Outputs["analysis_result"].S3Output.S3Uri

    # g. Register the best candidate, pending manual approval, with metrics and metadata.
    explainability = automl_step.properties.BestCandidate.CandidateProperties
    model_metrics = ModelMetrics(
        model_statistics=MetricsSource(
            s3_uri=Join(
                on="/",
                values=[
                    evaluate.properties.ProcessingOutputConfig.Outputs["evaluation"].S3Output.S3Uri,
                    "evaluation.json",
                ],
            ),
            content_type="application/json",
        ),
        bias_pre_training=MetricsSource(
            s3_uri=Join(on="/", values=[bias_uri, "analysis.json"]),
            content_type="application/json",
        ),
        explainability=MetricsSource(
            s3_uri=Join(
                on="/",
                values=[
                    explainability.CandidateArtifactLocations.Explainability,
                    "analysis.json",
                ],
            ),
            content_type="application/json",
        ),
    )
    best_model = automl_step.get_best_auto_ml_model(role=role, sagemaker_session=session)
    metadata = {
        "mlops:config-hash": s.config_hash,
        "mlops:code-version": s.code_version,
        "mlops:input-data": p_input,
        "mlops:input-fingerprint": JsonGet(
            step_name=partition.name, property_file=split_report, json_path="input.fingerprint"
        ),
        "mlops:split-seed": p_seed.to_string(),
        "mlops:automl-job": automl_step.properties.AutoMLJobName,
        "mlops:pipeline-execution": ExecutionVariables.PIPELINE_EXECUTION_ARN,
    }

    def register(name: str, status: str) -> ModelStep:
        return ModelStep(
            name=name,
            step_args=best_model.register(
                content_types=["text/csv"],
                response_types=["text/csv"],
                inference_instances=[s.endpoint_instance_type],
                transform_instances=[s.transform_instance_type],
                model_package_group_name=s.model_package_group,
                approval_status=status,
                model_metrics=model_metrics,
                customer_metadata_properties=metadata,
                description=f"Autopilot best candidate ({s.environment}), scored on test",
            ),
            depends_on=[evaluate, bias],
        )

    steps: list[Any] = [
        partition,
        preflight,
        gate,
        automl_step,
        prepare,
        create_model,
        transform,
        evaluate,
        bias,
    ]
    if s.auto_approve_f1_threshold is None:
        steps.append(register("RegisterModel", "PendingManualApproval"))
    else:
        # h. Non-prod only: approve when the test F1 reaches the threshold.
        f1: Any = JsonGet(
            step_name=evaluate.name,
            property_file=evaluation_report,
            json_path="binary_classification_metrics.f1.value",
        )
        steps.append(
            ConditionStep(
                name="CheckF1",
                conditions=[
                    ConditionGreaterThanOrEqualTo(left=f1, right=s.auto_approve_f1_threshold)
                ],
                if_steps=[register("RegisterApproved", "Approved")],
                else_steps=[register("RegisterModel", "PendingManualApproval")],
            )
        )

    pipeline = Pipeline(
        name=placeholder("PipelineName"),
        parameters=parameters,
        steps=steps,
        sagemaker_session=session,
    )
    body = pipeline.definition()
    if "${" in body:
        raise ValueError("the pipeline definition contains '${', which Fn::Sub would resolve")
    variables = tuple(sorted({name for name in _placeholders_in(body)}, key=lambda n: (len(n), n)))
    names = tuple(step["Name"] for step in _all_steps(json.loads(body)["Steps"]))
    return Definition(body=body, variables=variables, step_names=names)


def clarify_analysis_config(settings: PipelineSettings) -> dict[str, Any]:
    """Clarify's analysis config for the pre-training bias report (shipped as an asset)."""
    from sagemaker.clarify import BiasConfig, DataConfig, _AnalysisConfigGenerator

    label: int | str = (
        int(settings.positive_label)
        if settings.positive_label.isdigit()
        else settings.positive_label
    )
    data = DataConfig(
        s3_data_input_path="s3://unused/input",  # the job's dataset input
        s3_output_path="s3://unused/output",  # the job's output
        label=settings.target_column,
        dataset_type="text/csv",
    )
    bias = BiasConfig(label_values_or_threshold=[label], facet_name=settings.bias_facet)
    config: dict[str, Any] = _AnalysisConfigGenerator.bias_pre_training(data, bias, "all")
    config["methods"]["report"] = {"name": "report", "title": "Analysis Report"}
    return config


def _placeholders_in(body: str) -> list[str]:
    import re

    return re.findall(rf"{PLACEHOLDER_PREFIX}([A-Za-z0-9]+)", body)


def _all_steps(steps: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    found: list[Mapping[str, Any]] = []
    for step in steps:
        found.append(step)
        arguments = step.get("Arguments", {})
        if step.get("Type") == "Condition":
            found += _all_steps(arguments.get("IfSteps", []))
            found += _all_steps(arguments.get("ElseSteps", []))
    return found
