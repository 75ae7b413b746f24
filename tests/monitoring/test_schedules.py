"""Schedules follow the approved version: created, switched, idempotent, pruned, deleted first."""

from __future__ import annotations

import pytest

from mlops.constants import (
    MANAGED_BY_VALUE,
    TAG_ENVIRONMENT,
    TAG_MANAGED_BY,
    TAG_MODEL_PACKAGE_ARN,
    TAG_MODEL_PACKAGE_GROUP,
)
from mlops.errors import RetryableError
from mlops.monitoring import names
from mlops.monitoring.schedules import delete_monitoring, ensure_monitoring
from tests.monitoring.conftest import (
    ARTIFACTS,
    ENDPOINT,
    ENVIRONMENT,
    GROUP,
    PACKAGE_GROUP,
    Account,
    settings,
)

MUTATIONS = (
    "CreateDataQualityJobDefinition",
    "CreateModelQualityJobDefinition",
    "CreateMonitoringSchedule",
    "UpdateMonitoringSchedule",
    "DeleteMonitoringSchedule",
    "DeleteDataQualityJobDefinition",
    "DeleteModelQualityJobDefinition",
)


def _definition(account: Account, monitor: str) -> str:
    return str(account.schedule(monitor)["MonitoringScheduleConfig"]["MonitoringJobDefinitionName"])


def test_approving_v1_creates_both_schedules_bound_to_its_baselines(account: Account) -> None:
    v1 = account.version(1)
    outcome = ensure_monitoring(account.sagemaker, settings(), GROUP, v1)
    assert outcome.actions == {"DataQuality": "created", "ModelQuality": "created"}
    dq = account.sagemaker.describe_data_quality_job_definition(
        JobDefinitionName=_definition(account, "DataQuality")
    )
    run = f"s3://{ARTIFACTS}/pipelines/dev/run-1"
    assert dq["DataQualityBaselineConfig"] == {
        "ConstraintsResource": {"S3Uri": f"{run}/data-quality-baseline/constraints.json"},
        "StatisticsResource": {"S3Uri": f"{run}/data-quality-baseline/statistics.json"},
    }
    mq = account.sagemaker.describe_model_quality_job_definition(
        JobDefinitionName=_definition(account, "ModelQuality")
    )
    endpoint_input = mq["ModelQualityJobInput"]["EndpointInput"]
    assert endpoint_input["EndpointName"] == ENDPOINT
    assert endpoint_input["InferenceAttribute"] == "0"
    assert (endpoint_input["StartTimeOffset"], endpoint_input["EndTimeOffset"]) == (
        "-PT48H",
        "-PT1H",
    )
    assert mq["ModelQualityJobInput"]["GroundTruthS3Input"] == {
        "S3Uri": f"s3://{ARTIFACTS}/ground-truth/{ENDPOINT}"
    }
    assert mq["ModelQualityAppSpecification"]["ProblemType"] == "BinaryClassification"
    for definition in (dq, mq):
        assert definition["NetworkConfig"]["EnableInterContainerTrafficEncryption"] is True
        assert definition["NetworkConfig"]["VpcConfig"]["Subnets"]
        assert (
            definition["JobResources"]["ClusterConfig"]["VolumeKmsKeyId"] == settings().kms_key_arn
        )
        assert definition["StoppingCondition"] == {"MaxRuntimeInSeconds": 1800}
    schedule = account.schedule("DataQuality")
    assert schedule["MonitoringScheduleConfig"]["ScheduleConfig"] == {
        "ScheduleExpression": "cron(0 0 ? * * *)"
    }
    assert _definition(account, "DataQuality").startswith(f"{ENDPOINT}-v1-dq-")
    # Tagged like the endpoint: the group as SageMaker names it, the version it serves.
    tags = {t["Key"]: t["Value"] for t in schedule["Tags"]}
    assert tags[TAG_MODEL_PACKAGE_GROUP] == PACKAGE_GROUP
    assert tags[TAG_MODEL_PACKAGE_ARN] == v1.arn and tags[TAG_ENVIRONMENT] == ENVIRONMENT


def test_approving_v2_switches_the_schedules_and_prunes_v1(account: Account) -> None:
    ensure_monitoring(account.sagemaker, settings(), GROUP, account.version(1))
    v1_definitions = account.definitions()
    outcome = ensure_monitoring(account.sagemaker, settings(), GROUP, account.version(2))
    assert outcome.actions == {"DataQuality": "updated", "ModelQuality": "updated"}
    assert _definition(account, "DataQuality").startswith(f"{ENDPOINT}-v2-dq-")
    assert _definition(account, "ModelQuality").startswith(f"{ENDPOINT}-v2-mq-")
    assert sorted(outcome.pruned) == v1_definitions
    assert all("-v2-" in name for name in account.definitions())
    dq = account.sagemaker.describe_data_quality_job_definition(
        JobDefinitionName=_definition(account, "DataQuality")
    )
    assert "run-2" in dq["DataQualityBaselineConfig"]["ConstraintsResource"]["S3Uri"]


def test_a_repeated_event_changes_nothing(account: Account) -> None:
    v1 = account.version(1)
    ensure_monitoring(account.sagemaker, settings(), GROUP, v1)
    before = len(account.requests.calls)
    outcome = ensure_monitoring(account.sagemaker, settings(), GROUP, v1)
    assert outcome.actions == {"DataQuality": "unchanged", "ModelQuality": "unchanged"}
    assert not set(account.requests.names()[before:]) & set(MUTATIONS)


def test_new_settings_give_new_definitions_and_a_schedule_update(account: Account) -> None:
    v1 = account.version(1)
    ensure_monitoring(account.sagemaker, settings(), GROUP, v1)
    old = _definition(account, "DataQuality")
    bigger = settings(instance_type="ml.m5.xlarge")
    outcome = ensure_monitoring(account.sagemaker, bigger, GROUP, v1)
    assert outcome.actions["DataQuality"] == "updated"
    assert _definition(account, "DataQuality") != old
    assert old in outcome.pruned


def test_a_cron_change_updates_the_schedule_in_place(account: Account) -> None:
    v1 = account.version(1)
    ensure_monitoring(account.sagemaker, settings(), GROUP, v1)
    definitions = account.definitions()
    changed = settings(data_quality_schedule="cron(0 0/6 ? * * *)")
    outcome = ensure_monitoring(account.sagemaker, changed, GROUP, v1)
    assert outcome.actions == {"DataQuality": "updated", "ModelQuality": "unchanged"}
    assert account.definitions() == definitions  # the schedule is not in the definition hash
    expression = account.schedule("DataQuality")["MonitoringScheduleConfig"]["ScheduleConfig"]
    assert expression == {"ScheduleExpression": "cron(0 0/6 ? * * *)"}


def test_a_version_without_baselines_gets_no_schedules(account: Account) -> None:
    ensure_monitoring(account.sagemaker, settings(), GROUP, account.version(1))
    bare = account.version(2, baselines=False)
    outcome = ensure_monitoring(account.sagemaker, settings(), GROUP, bare)
    assert outcome.actions == {"DataQuality": "no_baseline", "ModelQuality": "no_baseline"}
    assert account.schedules.schedules == {}
    assert account.definitions() == []  # v1's are ours and unused: pruned
    assert "no DataQuality baseline" in outcome.message


def test_pruning_spares_what_is_not_ours_or_still_used(account: Account) -> None:
    ensure_monitoring(account.sagemaker, settings(), GROUP, account.version(1))
    foreign = f"{ENDPOINT}-v9-dq-0123abcd"  # same name pattern, another owner's tags
    used_elsewhere = f"{ENDPOINT}-v8-dq-4567cdef"
    template = account.sagemaker.describe_data_quality_job_definition(
        JobDefinitionName=_definition(account, "DataQuality")
    )
    for name, tags in (
        (foreign, [{"Key": TAG_ENVIRONMENT, "Value": "prod"}]),
        (
            used_elsewhere,
            [
                {"Key": TAG_ENVIRONMENT, "Value": ENVIRONMENT},
                {"Key": TAG_MANAGED_BY, "Value": MANAGED_BY_VALUE},
                {"Key": "mlops:model-package-group", "Value": PACKAGE_GROUP},
            ],
        ),
    ):
        account.sagemaker.create_data_quality_job_definition(
            JobDefinitionName=name,
            **{
                key: template[key]
                for key in (
                    "DataQualityBaselineConfig",
                    "DataQualityAppSpecification",
                    "DataQualityJobInput",
                    "DataQualityJobOutputConfig",
                    "JobResources",
                    "RoleArn",
                )
            },
            Tags=tags,
        )
    account.sagemaker.create_monitoring_schedule(
        MonitoringScheduleName="someone-elses-schedule",
        MonitoringScheduleConfig={
            "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
            "MonitoringJobDefinitionName": used_elsewhere,
            "MonitoringType": "DataQuality",
        },
    )
    outcome = ensure_monitoring(account.sagemaker, settings(), GROUP, account.version(2))
    assert foreign in account.definitions() and used_elsewhere in account.definitions()
    assert foreign not in outcome.pruned and used_elsewhere not in outcome.pruned


def test_a_pending_schedule_is_retried_later(account: Account) -> None:
    ensure_monitoring(account.sagemaker, settings(), GROUP, account.version(1))
    account.schedule("DataQuality")["MonitoringScheduleStatus"] = "Pending"
    with pytest.raises(RetryableError, match="is Pending"):
        ensure_monitoring(account.sagemaker, settings(), GROUP, account.version(2))
    with pytest.raises(RetryableError, match="is Pending"):
        delete_monitoring(account.sagemaker, ENVIRONMENT, GROUP)


def test_teardown_deletes_schedules_before_definitions(account: Account) -> None:
    ensure_monitoring(account.sagemaker, settings(), GROUP, account.version(1))
    start = len(account.requests.calls)
    deleted = delete_monitoring(account.sagemaker, ENVIRONMENT, GROUP)
    calls = [c for c in account.requests.names()[start:] if c.startswith("Delete")]
    assert calls[:2] == ["DeleteMonitoringSchedule", "DeleteMonitoringSchedule"]
    assert set(calls[2:]) == {"DeleteDataQualityJobDefinition", "DeleteModelQualityJobDefinition"}
    assert account.schedules.schedules == {} and account.definitions() == []
    assert names.schedule_name(ENVIRONMENT, GROUP, "DataQuality") in deleted
    assert delete_monitoring(account.sagemaker, ENVIRONMENT, GROUP) == ()  # idempotent


def test_every_name_fits_sagemakers_limits() -> None:
    long_group = "g" * 50
    for monitor in names.MONITOR_TYPES:
        for name in (
            names.schedule_name("prod", long_group, monitor),
            names.job_definition_name("prod", long_group, 123, monitor, "f" * 64),
        ):
            assert len(name) <= 63 and names.NAME_PATTERN.fullmatch(name)
    assert len(names.definition_prefix("prod", long_group)) <= 63
