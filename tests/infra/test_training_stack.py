"""Training stack: the SageMaker Pipeline definition asserted structurally, plus its wiring."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from mlops.constants import MODELS_PREFIX
from tests.synth import Synthesized, normalized

PIPELINE_TYPE = "AWS::SageMaker::Pipeline"


def pipeline_resource(synth: Synthesized) -> dict[str, Any]:
    [resource] = synth.resources("training", PIPELINE_TYPE).values()
    return resource


def definition(synth: Synthesized) -> tuple[dict[str, Any], dict[str, Any]]:
    """The definition JSON with each ${Variable} left as the string "${Variable}", and the
    variables' CloudFormation values."""
    body, variables = pipeline_resource(synth)["Properties"]["PipelineDefinition"][
        "PipelineDefinitionBody"
    ]["Fn::Sub"]
    return json.loads(body), variables


def all_steps(steps: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for step in steps:
        found[step["Name"]] = step
        if step["Type"] == "Condition":
            found.update(all_steps(step["Arguments"].get("IfSteps", [])))
            found.update(all_steps(step["Arguments"].get("ElseSteps", [])))
    return found


@pytest.fixture(scope="module")
def dev_definition(dev: Synthesized) -> dict[str, Any]:
    return definition(dev)[0]


@pytest.fixture(scope="module")
def steps(dev_definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return all_steps(dev_definition["Steps"])


def test_pipeline_has_every_step_of_the_issue(steps: dict[str, dict[str, Any]]) -> None:
    assert {name: step["Type"] for name, step in steps.items()} == {
        "Partition": "Processing",
        "QuotaPreflight": "Lambda",
        "CheckQuotas": "Condition",
        "QuotaShortage": "Fail",
        "AutoML": "AutoML",
        "PrepareTest": "Processing",
        "CreateScoringModel-CreateModel": "Model",
        "ScoreTestSplit": "Transform",
        "Evaluate": "Processing",
        "ClarifyBias": "Processing",
        "RegisterModel-RegisterModel": "RegisterModel",
    }


def test_steps_run_in_order(steps: dict[str, dict[str, Any]]) -> None:
    text = {name: json.dumps(step) for name, step in steps.items()}
    assert steps["QuotaPreflight"]["DependsOn"] == ["Partition"]
    for gated in ("AutoML", "PrepareTest", "ClarifyBias"):
        assert steps[gated]["DependsOn"] == ["CheckQuotas"]
    # Data dependencies through properties.
    assert "Steps.Partition.ProcessingOutputConfig" in text["AutoML"]
    assert (
        "Steps.AutoML.BestCandidate.InferenceContainers[0]"
        in text["CreateScoringModel-CreateModel"]
    )
    assert "Steps.CreateScoringModel-CreateModel.ModelName" in text["ScoreTestSplit"]
    assert "Steps.PrepareTest.ProcessingOutputConfig" in text["ScoreTestSplit"]
    assert "Steps.ScoreTestSplit.TransformOutput.S3OutputPath" in text["Evaluate"]
    assert set(steps["RegisterModel-RegisterModel"]["DependsOn"]) == {"Evaluate", "ClarifyBias"}


def test_quota_gate_fails_with_the_preflight_message(steps: dict[str, dict[str, Any]]) -> None:
    gate = steps["CheckQuotas"]["Arguments"]
    assert gate["Conditions"] == [
        {
            "Type": "Equals",
            "LeftValue": {"Get": "Steps.QuotaPreflight.OutputParameters['proceed']"},
            "RightValue": False,
        }
    ]
    assert [s["Name"] for s in gate["IfSteps"]] == ["QuotaShortage"]
    assert gate["ElseSteps"] == []
    assert steps["QuotaShortage"]["Arguments"]["ErrorMessage"] == {
        "Get": "Steps.QuotaPreflight.OutputParameters['message']"
    }
    preflight = steps["QuotaPreflight"]
    assert preflight["FunctionArn"] == "${PreflightFunctionArn}"
    assert {o["OutputName"]: o["OutputType"] for o in preflight["OutputParameters"]} == {
        "proceed": "Boolean",
        "verdict": "String",
        "message": "String",
        "processing_instance_type": "String",
        "transform_instance_type": "String",
    }
    # Later steps use the instance types the preflight chose (fallback).
    cluster = steps["Evaluate"]["Arguments"]["ProcessingResources"]["ClusterConfig"]
    assert cluster["InstanceType"] == {
        "Get": "Steps.QuotaPreflight.OutputParameters['processing_instance_type']"
    }
    resources = steps["ScoreTestSplit"]["Arguments"]["TransformResources"]
    assert resources["InstanceType"] == {
        "Get": "Steps.QuotaPreflight.OutputParameters['transform_instance_type']"
    }


def test_parameters_with_config_defaults(dev_definition: dict[str, Any]) -> None:
    parameters = {p["Name"]: p.get("DefaultValue") for p in dev_definition["Parameters"]}
    assert parameters == {
        "InputDataUri": "s3://${DataBucket}/raw/",
        "TargetColumn": "is_fraud",
        "ProblemType": "BinaryClassification",
        "ObjectiveMetric": "F1",
        "SplitMethod": "stratified",
        "SplitRatios": "0.7,0.15,0.15",
        "SplitSeed": 42,
        "MaxCandidates": 5,  # cdk.json dev
        "MaxRuntimePerTrainingJobSeconds": 3600,
        "MaxAutoMLRuntimeSeconds": 7200,  # cdk.json dev
        "ProcessingInstanceType": "ml.m5.xlarge",
        "TransformInstanceType": "ml.m5.large",
        "AutoMLProcessingInstanceType": "ml.m5.4xlarge",
        "AutoMLTrainingInstanceType": "ml.m5.4xlarge",
    }


def test_prod_uses_its_own_caps_and_blue_green_endpoint_count(prod: Synthesized) -> None:
    body, _ = definition(prod)
    parameters = {p["Name"]: p.get("DefaultValue") for p in body["Parameters"]}
    assert parameters["MaxCandidates"] == 20
    preflight = all_steps(body["Steps"])["QuotaPreflight"]["Arguments"]
    assert preflight["endpoint_instance_type"] == "ml.m5.xlarge"
    assert preflight["endpoint_instance_count"] == 2


def test_automl_is_ensembling_capped_encrypted_and_in_the_vpc(
    steps: dict[str, dict[str, Any]],
) -> None:
    arguments = steps["AutoML"]["Arguments"]
    job = arguments["AutoMLJobConfig"]
    assert job["Mode"] == "ENSEMBLING"
    assert job["CompletionCriteria"] == {
        "MaxCandidates": {"Get": "Parameters.MaxCandidates"},
        "MaxRuntimePerTrainingJobInSeconds": {"Get": "Parameters.MaxRuntimePerTrainingJobSeconds"},
        "MaxAutoMLJobRuntimeInSeconds": {"Get": "Parameters.MaxAutoMLRuntimeSeconds"},
    }
    security = job["SecurityConfig"]
    assert security["VolumeKmsKeyId"] == "${KeyArn}"
    assert security["EnableInterContainerTrafficEncryption"] is True
    assert security["VpcConfig"] == {
        "SecurityGroupIds": ["${SecurityGroup0}"],
        "Subnets": ["${Subnet0}", "${Subnet1}"],
    }
    assert arguments["OutputDataConfig"]["KmsKeyId"] == "${KeyArn}"
    assert arguments["AutoMLJobObjective"] == {"MetricName": {"Get": "Parameters.ObjectiveMetric"}}
    assert [c["ChannelType"] for c in arguments["InputDataConfig"]] == ["training", "validation"]


@pytest.mark.parametrize("name", ["Partition", "PrepareTest", "Evaluate", "ClarifyBias"])
def test_processing_jobs_are_encrypted_and_in_the_vpc(
    steps: dict[str, dict[str, Any]], name: str
) -> None:
    arguments = steps[name]["Arguments"]
    assert arguments["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == "${KeyArn}"
    assert arguments["ProcessingOutputConfig"]["KmsKeyId"] == "${KeyArn}"
    network = arguments["NetworkConfig"]
    assert network["EnableInterContainerTrafficEncryption"] is True
    assert network["VpcConfig"]["Subnets"] == ["${Subnet0}", "${Subnet1}"]
    assert arguments["RoleArn"] == "${PipelineRoleArn}"


def test_partition_and_evaluation_run_our_mlops_code(steps: dict[str, dict[str, Any]]) -> None:
    partition = steps["Partition"]["Arguments"]
    assert partition["AppSpecification"]["ContainerEntrypoint"] == [
        "python3", "-m", "mlops.data.processing",
    ]  # fmt: skip
    code = partition["ProcessingInputs"][0]["S3Input"]
    assert code["S3Uri"] == "s3://${CodeAssetBucket}/${CodeAssetKey}"
    assert re.fullmatch(
        r"/opt/ml/processing/code/[0-9a-f]{64}\.zip", partition["Environment"]["PYTHONPATH"]
    )
    evaluate = steps["Evaluate"]["Arguments"]["AppSpecification"]
    assert evaluate["ContainerEntrypoint"] == ["python3", "-m", "mlops.training.evaluation"]
    assert evaluate["ContainerArguments"][0] == "score"


def test_registration_wires_metrics_and_metadata(steps: dict[str, dict[str, Any]]) -> None:
    register = steps["RegisterModel-RegisterModel"]["Arguments"]
    assert register["ModelPackageGroupName"] == "mlops-dev-fraud-detection"
    assert register["ModelApprovalStatus"] == "PendingManualApproval"
    metrics = json.dumps(register["ModelMetrics"])
    assert "Steps.Evaluate.ProcessingOutputConfig.Outputs['evaluation']" in metrics
    assert "evaluation.json" in metrics
    assert "Steps.ClarifyBias.ProcessingOutputConfig.Outputs['analysis_result']" in metrics
    assert (
        "Steps.AutoML.BestCandidate.CandidateProperties.CandidateArtifactLocations.Explainability"
        in metrics
    )
    assert set(register["ModelMetrics"]) == {"ModelQuality", "Bias", "Explainability"}
    metadata = register["CustomerMetadataProperties"]
    assert set(metadata) == {
        "mlops:config-hash",
        "mlops:code-version",
        "mlops:input-data",
        "mlops:input-fingerprint",
        "mlops:split-seed",
        "mlops:automl-job",
        "mlops:pipeline-execution",
    }
    assert metadata["mlops:automl-job"] == {"Get": "Steps.AutoML.AutoMLJobName"}


def test_every_placeholder_has_a_cloudformation_value(dev: Synthesized) -> None:
    body, variables = pipeline_resource(dev)["Properties"]["PipelineDefinition"][
        "PipelineDefinitionBody"
    ]["Fn::Sub"]
    used = set(re.findall(r"\$\{([A-Za-z0-9]+)\}", body))
    assert used == set(variables)
    assert "mlopsplaceholder" not in body
    assert variables["SklearnImageUri"]["Fn::FindInMap"][1:] == [{"Ref": "AWS::Region"}, "Sklearn"]


def test_image_mapping_covers_main_regions(dev: Synthesized) -> None:
    [mapping] = dev.templates["training"]["Mappings"].values()
    assert mapping["eu-west-1"]["Sklearn"].endswith("/sagemaker-scikit-learn:1.4-2-cpu-py3")
    assert "sagemaker-clarify-processing" in mapping["us-east-1"]["Clarify"]


def test_execution_status_changes_go_to_the_notification_topic(dev: Synthesized) -> None:
    [rule] = dev.resources("training", "AWS::Events::Rule").values()
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["detail-type"] == ["SageMaker Model Building Pipeline Execution Status Change"]
    assert pattern["detail"]["currentPipelineExecutionStatus"] == ["Failed", "Stopped", "Succeeded"]
    assert "pipeline/mlops-dev-training" in json.dumps(pattern["detail"]["pipelineArn"])
    assert "NotificationsTopic" in json.dumps(rule["Properties"]["Targets"])


def test_pipeline_role_passes_only_itself_to_sagemaker(dev: Synthesized) -> None:
    policies = dev.resources("training", "AWS::IAM::Policy")
    statements = [
        s
        for p in policies.values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Sid") == "PassOnlyThisRoleToSageMaker"
    ]
    assert len(statements) == 1
    assert statements[0]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
    }
    assert statements[0]["Resource"] == {"Fn::GetAtt": ["TrainingExecutionRole0CBEB7FB", "Arn"]}
    for policy in policies.values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"]
            assert "*" not in (actions if isinstance(actions, list) else [actions])


def test_normalised_pipeline_definition_snapshot(
    dev: Synthesized, snapshot: SnapshotAssertion
) -> None:
    body, _ = definition(dev)
    assert normalized(body) == snapshot.use_extension(JSONSnapshotExtension)


def test_models_land_where_endpoints_may_read_them(dev: Synthesized, steps: dict[str, Any]) -> None:
    """Autopilot's output (the registered model's artifacts) is under the one prefix the
    Deployment stack's model execution role may read, else endpoints could not load it."""
    output = steps["AutoML"]["Arguments"]["OutputDataConfig"]["S3OutputPath"]
    assert output["Std:Join"]["Values"][0]["Std:Join"]["Values"][:2] == [
        "s3://${ArtifactsBucket}",
        MODELS_PREFIX.rstrip("/"),
    ]
    readable = [
        statement["Resource"]
        for policy in dev.resources("deployment", "AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement.get("Sid") == "ReadModels"
    ]
    assert readable, "the model execution role has no ReadModels statement"
    assert all(f"/{MODELS_PREFIX}*" in json.dumps(resource) for resource in readable)
