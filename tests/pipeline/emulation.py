"""Autopilot and its inference container, emulated: outputs laid out where the Describe
response says they are, Describe responses that fit botocore's output shapes.

Autopilot (CreateAutoMLJob, ensembling): reads the channels (each a CSV prefix whose header
has the target), "trains" a fixed rule model on the feature columns, and writes under
``<S3OutputPath>/<job name>/`` the model artifact and the explainability and model-insights
JSON reports. ``BestCandidate.InferenceContainers[0].Environment`` carries the six variables
the SDK's ``get_best_auto_ml_model`` reads. AWS documents ``CandidateArtifactLocations.
Explainability`` only as "the S3 prefix to the explainability artifacts"; the JSON report's
own path is what the SDK's ``BestCandidateProperties.ExplainabilityJsonReportPath`` resolves
to. The emulation therefore puts the report *inside* the prefix under a name nothing else
states (``<prefix>/report/analysis.json``): a definition that guesses a name under the prefix
fails, one that uses the property works whatever AWS's layout is.

The inference container answers what ``SAGEMAKER_INFERENCE_OUTPUT`` asks, from the fields it
supports (``SAGEMAKER_INFERENCE_SUPPORTED``); without the variable it answers
``predicted_label`` only (AWS: Autopilot "Inference container definitions": binary
classification returns the predicted label by default). Batch transform writes each input
object ``<name>`` as ``<S3OutputPath>/<name>.out`` (AWS: "Batch transform").
"""

from __future__ import annotations

import csv
import io
import json
import math
import tarfile
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from tests.pipeline.s3 import S3, S3Failure

AUTOPILOT_IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/autogluon-inference:emulated"
CANDIDATE = "emulated-ensemble-candidate-1"
INFERENCE_ENVIRONMENT = {
    "MODEL_NAME": "emulated-model",
    "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv",
    "SAGEMAKER_INFERENCE_OUTPUT": "predicted_label",
    "SAGEMAKER_INFERENCE_SUPPORTED": "predicted_label,probability,probabilities,labels",
    "SAGEMAKER_PROGRAM": "tabular_serve.py",
    "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
}


class JobFailure(AssertionError):
    """The job fails with this reason."""


def now() -> datetime:
    return datetime.now(UTC)


def run_automl(request: Mapping[str, Any], *, s3: S3, arn: str) -> dict[str, Any]:
    """Emulate one CreateAutoMLJob; returns the DescribeAutoMLJob response plus ``__extra__``
    (the pipeline-only properties of the AutoML step)."""
    name = request["AutoMLJobName"]
    features: list[str] | None = None
    kinds = set()
    for channel in request["InputDataConfig"]:
        uri = channel["DataSource"]["S3DataSource"]["S3Uri"]
        target = channel["TargetAttributeName"]
        try:
            objects = s3.objects_under(uri)
        except S3Failure as error:
            raise JobFailure(f"ClientError: {error}") from None
        if not objects:
            raise JobFailure(f"ClientError: no data at {uri} ({channel.get('ChannelType')})")
        header = next(csv.reader(io.StringIO(s3.read_text(_uri(uri, objects[0][0])))))
        if target not in header:
            raise JobFailure(f"ClientError: target {target!r} not in {uri} columns {header}")
        columns = [column for column in header if column != target]
        if features is not None and columns != features:
            raise JobFailure("ClientError: the channels have different columns")
        features = columns
        kinds.add(channel.get("ChannelType", "training"))
    if "training" not in kinds:
        raise JobFailure("ClientError: no training channel")
    output = f"{request['OutputDataConfig']['S3OutputPath'].rstrip('/')}/{name}"
    key = request["OutputDataConfig"].get("KmsKeyId")
    model_data = f"{output}/sagemaker-automl-candidates/{CANDIDATE}/model.tar.gz"
    s3.write_bytes(model_data, _model_archive(features or []), kms_key=key)
    explainability = f"{output}/documentation/explainability/output/{CANDIDATE}"
    insights = f"{output}/documentation/model_monitor/output/{CANDIDATE}"
    explainability_report = f"{explainability}/report/analysis.json"
    insights_report = f"{insights}/report/model_insights.json"
    s3.write_text(explainability_report, json.dumps(_explanations(features or [])), kms_key=key)
    s3.write_text(insights_report, json.dumps({"emulated": True}), kms_key=key)
    started = now()
    objective = request.get("AutoMLJobObjective", {}).get("MetricName", "F1")
    candidate = {
        "CandidateName": CANDIDATE,
        "FinalAutoMLJobObjectiveMetric": {"MetricName": objective, "Value": 0.8},
        "ObjectiveStatus": "Succeeded",
        "CandidateSteps": [
            {
                "CandidateStepType": "AWS::SageMaker::TrainingJob",
                "CandidateStepArn": arn.replace(":automl-job/", ":training-job/") + "-t1",
                "CandidateStepName": f"{name}-t1",
            }
        ],
        "CandidateStatus": "Completed",
        "InferenceContainers": [
            {
                "Image": AUTOPILOT_IMAGE,
                "ModelDataUrl": model_data,
                "Environment": dict(INFERENCE_ENVIRONMENT),
            }
        ],
        "CreationTime": started,
        "EndTime": started,
        "LastModifiedTime": started,
        "CandidateProperties": {
            "CandidateArtifactLocations": {
                "Explainability": explainability,
                "ModelInsights": insights,
            },
        },
    }
    describe = {
        "AutoMLJobName": name,
        "AutoMLJobArn": arn,
        "InputDataConfig": request["InputDataConfig"],
        "OutputDataConfig": request["OutputDataConfig"],
        "RoleArn": request["RoleArn"],
        "AutoMLJobObjective": request.get("AutoMLJobObjective", {"MetricName": objective}),
        "ProblemType": request.get("ProblemType", "BinaryClassification"),
        "AutoMLJobConfig": request.get("AutoMLJobConfig", {}),
        "CreationTime": started,
        "EndTime": started,
        "LastModifiedTime": started,
        "BestCandidate": candidate,
        "AutoMLJobStatus": "Completed",
        "AutoMLJobSecondaryStatus": "Completed",
        "ModelDeployConfig": {"AutoGenerateEndpointName": False},
    }
    extra = {
        "BestCandidateProperties.ExplainabilityJsonReportPath": explainability_report,
        "BestCandidateProperties.ModelInsightsJsonReportPath": insights_report,
    }
    return {**describe, "__extra__": extra}


def _uri(prefix_uri: str, key: str) -> str:
    bucket = prefix_uri[len("s3://") :].split("/", 1)[0]
    return f"s3://{bucket}/{key}"


def _model_archive(features: list[str]) -> bytes:
    model = json.dumps({"emulated": "rules", "features": features}).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("model.json")
        info.size = len(model)
        archive.addfile(info, io.BytesIO(model))
    return buffer.getvalue()


def _explanations(features: list[str]) -> dict[str, Any]:
    return {
        "version": "1.0",
        "explanations": {
            "kernel_shap": {
                "label0": {"global_shap_values": {f: 1.0 / max(len(features), 1) for f in features}}
            }
        },
    }


def load_model(s3: S3, model_data_url: str) -> dict[str, Any]:
    bucket, _, key = model_data_url[len("s3://") :].partition("/")
    body = s3.client.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as archive:
        member = archive.extractfile("model.json")
        if member is None:
            raise JobFailure(f"ClientError: {model_data_url} has no model.json")
        return dict(json.loads(member.read()))


def score_rows(model: Mapping[str, Any], environment: Mapping[str, str], text: str) -> str:
    """The emulated inference container on CSV records (one per line, no header)."""
    supported = environment.get("SAGEMAKER_INFERENCE_SUPPORTED", "predicted_label").split(",")
    wanted = environment.get("SAGEMAKER_INFERENCE_OUTPUT", "predicted_label").split(",")
    unsupported = [field for field in wanted if field not in supported]
    if unsupported:
        raise JobFailure(f"ClientError: inference output {unsupported} is not supported")
    features: list[str] = list(model["features"])
    lines = []
    for row in csv.reader(io.StringIO(text)):
        if not row:
            continue
        if len(row) != len(features):
            raise JobFailure(
                f"ClientError: a record has {len(row)} fields, the model takes {len(features)}"
            )
        record = dict(zip(features, row, strict=True))
        probability = _fraud_probability(record)
        label = "1" if probability >= 0.5 else "0"
        answer = {
            "predicted_label": label,
            "probability": f"{probability if label == '1' else 1 - probability:.6f}",
        }
        lines.append(",".join(answer.get(field, "") for field in wanted))
    return "\n".join(lines) + "\n"


def _fraud_probability(record: Mapping[str, str]) -> float:
    """A fixed rule on the generator's fraud signal (amount, away from home, night)."""
    amount = float(record.get("amount", "30") or 30)
    away = record.get("transaction_state") != record.get("state")
    night = int(record.get("time_of_day", "12") or 12) < 6
    logit = 1.6 * math.log(max(amount, 1.0) / 30.0) + 2.5 * away + 1.5 * night - 4.0
    return 1.0 / (1.0 + math.exp(-logit))
