"""Run-time names of a group stay within SageMaker's 63 characters and keep what pruning reads:
the version (and settings hash) at their end, after one stem shared by all of them."""

from __future__ import annotations

import re

import boto3
import pytest
from moto import mock_aws

from mlops.deployment import deploy, names
from mlops.monitoring import names as monitoring_names
from tests.deployment.conftest import settings

# The longest group the config allows: mlops-prod- plus the group is 63 characters.
LONGEST_GROUP = "g" * (63 - len("mlops-prod-"))
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:1"
ROLE = "arn:aws:iam::123456789012:role/model"


@pytest.mark.parametrize("group", ["fraud-detection", "g" * 30, LONGEST_GROUP])
def test_every_name_of_a_group_fits_and_ends_with_its_version(group: str) -> None:
    stem = names.stem("prod", group)
    made = [
        names.model_name("prod", group, 12345678),
        names.endpoint_config_name("prod", group, 12345678, "f" * 64),
        *(
            monitoring_names.job_definition_name("prod", group, 12345678, monitor, "f" * 64)
            for monitor in monitoring_names.MONITOR_TYPES
        ),
        *(
            monitoring_names.schedule_name("prod", group, monitor)
            for monitor in monitoring_names.MONITOR_TYPES
        ),
    ]
    assert all(len(name) <= 63 and name.startswith(f"{stem}-") for name in made), made
    assert re.fullmatch(rf"{re.escape(names.name_prefix('prod', group))}12345678", made[0])


def test_short_names_are_the_groups_own() -> None:
    assert names.model_name("dev", "fraud-detection", 3) == "mlops-dev-fraud-detection-v3"


def test_pruning_a_long_groups_versions_keeps_the_model_in_use() -> None:
    """A cut name keeps its version: pruning reads the model a kept config uses from it."""
    group = LONGEST_GROUP.replace("g", "h")[: 63 - len("mlops-dev-")]
    with mock_aws():
        sagemaker = boto3.client("sagemaker", region_name="us-east-1")
        configs = []
        for version in (1, 2, 3):
            model = names.model_name("dev", group, version)
            sagemaker.create_model(
                ModelName=model, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE}
            )
            config = names.endpoint_config_name("dev", group, version, "ab" * 32)
            sagemaker.create_endpoint_config(
                EndpointConfigName=config,
                ProductionVariants=[
                    {"VariantName": names.VARIANT_NAME, "ModelName": model,
                     "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}
                ],
            )  # fmt: skip
            configs.append(config)

        deleted = deploy.prune(
            sagemaker, settings(keep_previous_versions=1), group, in_use=configs[2]
        )

        assert set(deleted) == {configs[0], names.model_name("dev", group, 1)}
        left = {m["ModelName"] for m in sagemaker.list_models()["Models"]}
        assert left == {names.model_name("dev", group, v) for v in (2, 3)}
