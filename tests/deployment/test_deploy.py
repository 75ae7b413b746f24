"""Approval decisions → what the endpoint serves: create, blue/green update, rollback, no-op.

Given a moto account with a model package group, when versions are approved or rejected and
the deploy logic runs, then the endpoint serves the most recent approval decision.
"""

from __future__ import annotations

import pytest

from mlops.constants import (
    TAG_ENVIRONMENT,
    TAG_MANAGED_BY,
    TAG_MODEL_PACKAGE_ARN,
    TAG_MODEL_PACKAGE_GROUP,
    TAG_MODEL_PACKAGE_VERSION,
)
from mlops.deployment import deploy as deploy_module
from mlops.deployment import names
from mlops.deployment.deploy import QuotaExceededError, converge
from mlops.errors import RetryableError
from tests.deployment.conftest import (
    ENVIRONMENT,
    GROUP,
    PACKAGE_GROUP,
    SECURITY_GROUP,
    SUBNETS,
    Account,
    settings,
)

ENDPOINT = names.endpoint_name(ENVIRONMENT, GROUP)


def deploy(account: Account, **overrides: object) -> str:
    outcome = converge(
        account.sagemaker, account.clients.service_quotas, settings(**overrides), GROUP
    )
    return outcome.action


def test_approve_v1_creates_the_endpoint_serving_v1(account: Account) -> None:
    v1 = account.register()
    account.decide(v1, "Approved")
    account.quota(4)

    assert deploy(account) == "created"

    assert account.served_version(ENDPOINT) == 1
    config = account.sagemaker.describe_endpoint_config(
        EndpointConfigName=account.endpoint(ENDPOINT)["EndpointConfigName"]
    )
    (variant,) = config["ProductionVariants"]
    assert (variant["InstanceType"], variant["InitialInstanceCount"]) == ("ml.m5.large", 1)
    assert config["KmsKeyId"].startswith("arn:aws:kms:")
    capture = config["DataCaptureConfig"]
    assert capture["EnableCapture"] is True
    assert capture["DestinationS3Uri"] == "s3://artifacts/data-capture"
    assert capture["KmsKeyId"] == config["KmsKeyId"]
    model = account.sagemaker.describe_model(ModelName=variant["ModelName"])
    assert model["PrimaryContainer"]["ModelPackageName"] == v1
    # The containers run in the environment's private subnets, in the workload group.
    assert model["VpcConfig"] == {"SecurityGroupIds": [SECURITY_GROUP], "Subnets": list(SUBNETS)}
    assert not model.get("EnableNetworkIsolation")
    tags = {
        t["Key"]: t["Value"]
        for t in account.sagemaker.list_tags(ResourceArn=model["ModelArn"])["Tags"]
    }
    assert tags == {
        TAG_ENVIRONMENT: ENVIRONMENT,
        TAG_MANAGED_BY: "fraud-mlops-platform",
        TAG_MODEL_PACKAGE_GROUP: PACKAGE_GROUP,
        TAG_MODEL_PACKAGE_ARN: v1,
        TAG_MODEL_PACKAGE_VERSION: "1",
    }
    assert account.updates == []


def test_approve_v2_switches_blue_green_with_auto_rollback(account: Account) -> None:
    v1, v2 = account.register(), account.register()
    account.decide(v1, "Approved")
    account.quota(4, times=2)
    deploy(account)

    account.decide(v2, "Approved")
    assert deploy(account) == "updated"

    assert account.served_version(ENDPOINT) == 2
    (update,) = account.updates
    assert update["EndpointName"] == ENDPOINT
    policy = update["DeploymentConfig"]["BlueGreenUpdatePolicy"]
    assert policy["TrafficRoutingConfiguration"] == {
        "Type": "CANARY",
        "WaitIntervalInSeconds": 300,
        "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10},
    }
    # Longer than every wait: canary + rest, each 300 s, old fleet kept 300 s, 1800 s launch.
    assert policy["MaximumExecutionTimeoutInSeconds"] == 3 * 300 + 1800
    alarms = update["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]
    assert [a["AlarmName"] for a in alarms] == list(names.rollback_alarm_names(ENVIRONMENT, GROUP))


@pytest.mark.parametrize(
    ("shift", "expected"),
    [
        ("linear", {"LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 25}}),
        ("all_at_once", {}),
    ],
)
def test_traffic_shift_modes(account: Account, shift: str, expected: dict[str, object]) -> None:
    v1, v2 = account.register(), account.register()
    account.decide(v1, "Approved")
    account.quota(4, times=2)
    deploy(account, traffic_shift=shift, linear_step_percent=25)
    account.decide(v2, "Approved")
    deploy(account, traffic_shift=shift, linear_step_percent=25)

    routing = account.updates[0]["DeploymentConfig"]["BlueGreenUpdatePolicy"][
        "TrafficRoutingConfiguration"
    ]
    assert routing == {"Type": shift.upper(), "WaitIntervalInSeconds": 300, **expected}


def test_reject_live_v2_rolls_back_to_v1(account: Account) -> None:
    v1, v2 = account.register(), account.register()
    account.decide(v1, "Approved")
    account.quota(4, times=3)
    deploy(account)
    account.decide(v2, "Approved")
    deploy(account)

    account.decide(v2, "Rejected")
    assert deploy(account) == "updated"

    assert account.served_version(ENDPOINT) == 1


def test_approving_an_older_version_rolls_back_to_it(account: Account) -> None:
    v1, v2, v3 = account.register(), account.register(), account.register()
    account.quota(4, times=2)
    for arn in (v1, v3):
        account.decide(arn, "Approved")
    deploy(account)
    assert account.served_version(ENDPOINT) == 3

    account.decide(v1, "Approved")  # re-approval: the most recent decision
    deploy(account)

    assert account.served_version(ENDPOINT) == 1
    assert v2  # never approved: never served


def test_rejecting_a_version_that_is_not_live_changes_nothing(account: Account) -> None:
    v1, v2 = account.register(), account.register()
    account.decide(v1, "Approved")
    account.quota(4)
    deploy(account)

    account.decide(v2, "Rejected")
    assert deploy(account) == "unchanged"

    assert account.served_version(ENDPOINT) == 1
    assert account.updates == []


def test_same_decision_twice_deploys_once(account: Account) -> None:
    v1 = account.register()
    account.decide(v1, "Approved")
    account.quota(4)

    assert [deploy(account), deploy(account)] == ["created", "unchanged"]
    assert len(account.sagemaker.list_endpoints()["Endpoints"]) == 1


def test_stale_v2_event_after_v1_reapproval_keeps_v1(account: Account) -> None:
    # v2 approved then v1 re-approved: a late event about v2 must not bring v2 back.
    v1, v2 = account.register(), account.register()
    account.decide(v1, "Approved")
    account.decide(v2, "Approved")
    account.quota(4, times=2)
    deploy(account)
    account.decide(v1, "Approved")
    deploy(account)
    assert account.served_version(ENDPOINT) == 1

    assert deploy(account) == "unchanged"  # whatever event triggers it

    assert account.served_version(ENDPOINT) == 1


def test_no_approved_version_leaves_the_endpoint(account: Account) -> None:
    v1 = account.register()
    account.decide(v1, "Approved")
    account.quota(4)
    deploy(account)

    account.decide(v1, "Rejected")
    outcome = converge(account.sagemaker, account.clients.service_quotas, settings(), GROUP)

    assert outcome.action == "no_approved_version"
    assert outcome.notify is True
    assert account.served_version(ENDPOINT) == 1


@pytest.mark.parametrize("status", ["Creating", "Updating", "SystemUpdating", "RollingBack"])
def test_busy_endpoint_is_retryable_and_untouched(account: Account, status: str) -> None:
    v1, v2 = account.register(), account.register()
    account.decide(v1, "Approved")
    account.quota(4)
    deploy(account)
    account.set_endpoint_status(ENDPOINT, status)
    account.decide(v2, "Approved")

    with pytest.raises(RetryableError, match=status):
        deploy(account)

    assert account.updates == []
    assert len(account.sagemaker.list_endpoint_configs()["EndpointConfigs"]) == 1


def test_quota_short_fails_clearly_and_creates_nothing(account: Account) -> None:
    v1 = account.register()
    account.decide(v1, "Approved")
    account.quota(0)

    with pytest.raises(QuotaExceededError) as raised:
        deploy(account)

    message = str(raised.value)
    assert "'ml.m5.large for endpoint usage' is 0, 0 in use, 1 more needed" in message
    assert account.sagemaker.list_models()["Models"] == []
    assert account.sagemaker.list_endpoint_configs()["EndpointConfigs"] == []
    assert account.sagemaker.list_endpoints()["Endpoints"] == []


def test_blue_green_needs_room_for_both_fleets(account: Account) -> None:
    v1, v2 = account.register(), account.register()
    account.decide(v1, "Approved")
    account.quota(2)
    deploy(account, instance_count=2)  # uses the whole quota of 2
    account.decide(v2, "Approved")
    account.quota(3)  # old fleet 2 + new fleet 2 > 3

    with pytest.raises(QuotaExceededError, match="2 in use, 2 more needed for the blue/green"):
        deploy(account, instance_count=2)

    assert account.served_version(ENDPOINT) == 1
    assert len(account.sagemaker.list_endpoint_configs()["EndpointConfigs"]) == 1


def test_superseded_versions_beyond_keep_are_pruned(account: Account) -> None:
    arns = [account.register() for _ in range(4)]
    account.quota(10, times=4)
    for arn in arns:
        account.decide(arn, "Approved")
        deploy(account)
    assert account.served_version(ENDPOINT) == 4

    outcome = converge(account.sagemaker, account.clients.service_quotas, settings(), GROUP)

    assert outcome.action == "unchanged"
    configs = sorted(
        c["EndpointConfigName"]
        for c in account.sagemaker.list_endpoint_configs()["EndpointConfigs"]
    )
    models = sorted(m["ModelName"] for m in account.sagemaker.list_models()["Models"])
    # live v4 + keep_previous_versions=1 (v3); v1 and v2 deleted.
    assert [c.rsplit("-", 2)[-2] for c in configs] == ["v3", "v4"]
    assert models == [names.model_name(ENVIRONMENT, GROUP, v) for v in (3, 4)]
    assert len(outcome.pruned) == 4


def test_settings_change_deploys_a_new_config_of_the_same_version(account: Account) -> None:
    v1 = account.register()
    account.decide(v1, "Approved")
    account.quota(10, times=2)
    deploy(account)

    assert deploy(account, instance_type="ml.m5.large", instance_count=2) == "updated"
    assert account.served_version(ENDPOINT) == 1


def test_a_model_outside_the_network_is_recreated_in_it(account: Account) -> None:
    # v1 went live in another network (the VPC was replaced, or the model predates VPC
    # placement): the next deployment moves the endpoint's model into the current network.
    v1 = account.register()
    account.decide(v1, "Approved")
    account.quota(4, times=2)
    old = ("subnet-0ffffffffffff0001", "subnet-0ffffffffffff0002")
    deploy(account, subnet_ids=old, security_group_ids=("sg-0ffffffffffff0003",))

    assert deploy(account) == "updated"

    assert account.served_version(ENDPOINT) == 1
    (update,) = account.updates
    config = account.sagemaker.describe_endpoint_config(
        EndpointConfigName=update["EndpointConfigName"]
    )
    model = account.sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    assert model["ModelName"] == names.model_name(ENVIRONMENT, GROUP, 1)
    assert model["VpcConfig"] == {"SecurityGroupIds": [SECURITY_GROUP], "Subnets": list(SUBNETS)}
    assert len(account.sagemaker.list_models()["Models"]) == 1


def test_a_model_already_in_the_network_is_reused(account: Account) -> None:
    v1 = account.register()
    account.decide(v1, "Approved")
    account.quota(4, times=2)
    deploy(account)
    created = account.sagemaker.describe_model(ModelName=names.model_name(ENVIRONMENT, GROUP, 1))

    # Same network, subnets listed in another order; a new instance count makes a new config.
    assert deploy(account, subnet_ids=SUBNETS[::-1], instance_count=2) == "updated"

    again = account.sagemaker.describe_model(ModelName=created["ModelName"])
    assert again["CreationTime"] == created["CreationTime"]


def test_a_duplicate_event_during_the_switch_to_the_wanted_config_is_done(
    account: Account,
) -> None:
    # SageMaker "may send multiple events" for one change: while the endpoint is Updating
    # to the wanted config, a duplicate is neither retried nor dead-lettered.
    v1, v2 = account.register(), account.register()
    account.decide(v1, "Approved")
    account.quota(4, times=2)
    deploy(account)
    account.slow_updates = True
    account.decide(v2, "Approved")
    assert deploy(account) == "updated"
    assert account.endpoint(ENDPOINT)["EndpointStatus"] == "Updating"

    outcome = converge(account.sagemaker, account.clients.service_quotas, settings(), GROUP)

    assert (outcome.action, outcome.notify) == ("in_progress", False)
    assert len(account.updates) == 1
    account.finish_updates()
    assert account.served_version(ENDPOINT) == 2


def test_a_duplicate_event_while_the_endpoint_is_created_is_done(account: Account) -> None:
    v1 = account.register()
    account.decide(v1, "Approved")
    account.quota(4)
    deploy(account)
    account.set_endpoint_status(ENDPOINT, "Creating")  # CreateEndpoint still running

    assert deploy(account) == "in_progress"
    assert len(account.sagemaker.list_endpoint_configs()["EndpointConfigs"]) == 1


def test_an_update_to_another_config_is_waited_for(account: Account) -> None:
    # v2 is being deployed, then v2 is rejected: v1 is wanted again once the update ends.
    v1, v2 = account.register(), account.register()
    account.decide(v1, "Approved")
    account.quota(4, times=3)
    deploy(account)
    account.slow_updates = True
    account.decide(v2, "Approved")
    deploy(account)
    account.decide(v2, "Rejected")

    with pytest.raises(RetryableError, match="is Updating"):
        deploy(account)

    account.finish_updates()
    account.slow_updates = False
    assert deploy(account) == "updated"
    assert account.served_version(ENDPOINT) == 1


@pytest.mark.parametrize(
    ("status", "says"),
    [
        ("OutOfService", "is OutOfService: it takes no requests (instance health)"),
        ("UpdateRollbackFailed", "an update failed and so did its rollback (instance health)"),
    ],
)
def test_an_endpoint_needing_a_person_is_reported_and_left_alone(
    account: Account, status: str, says: str
) -> None:
    v1, v2 = account.register(), account.register()
    account.decide(v1, "Approved")
    account.quota(4)
    deploy(account)
    account.set_endpoint_status(ENDPOINT, status, reason="instance health")
    account.decide(v2, "Approved")

    outcome = converge(account.sagemaker, account.clients.service_quotas, settings(), GROUP)

    assert (outcome.action, outcome.notify) == ("needs_attention", True)
    assert says in outcome.message
    assert f"aws sagemaker delete-endpoint --endpoint-name {ENDPOINT}" in outcome.message
    assert "approve v2 again" in outcome.message
    assert account.updates == []
    assert len(account.sagemaker.list_endpoint_configs()["EndpointConfigs"]) == 1


def test_create_endpoint_waits_until_the_new_config_is_visible(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deploy_module, "CREATE_RETRY_DELAYS", (0.0, 0.0, 0.0))
    v1 = account.register()
    account.decide(v1, "Approved")
    account.quota(4)
    account.lag_configs = 2  # CreateEndpoint reads the new config stale twice

    assert deploy(account) == "created"

    assert account.served_version(ENDPOINT) == 1


def test_a_config_that_stays_invisible_is_retried_later_not_failed(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deploy_module, "CREATE_RETRY_DELAYS", (0.0, 0.0, 0.0))
    v1 = account.register()
    account.decide(v1, "Approved")
    account.quota(4, times=2)
    account.lag_configs = 4

    with pytest.raises(RetryableError, match="not visible to CreateEndpoint after 4 tries"):
        deploy(account)
    assert account.sagemaker.list_endpoints()["Endpoints"] == []

    assert deploy(account) == "created"  # the next delivery: config and model are reused
    assert len(account.sagemaker.list_models()["Models"]) == 1


def test_a_model_of_another_package_under_the_versions_name_is_replaced(
    account: Account,
) -> None:
    # A group re-created under its name numbers its versions from 1 again: the old v1's
    # model (and config) must not be served for the new v1.
    stale = account.register()
    account.sagemaker.create_model(
        ModelName=names.model_name(ENVIRONMENT, GROUP, 1),
        PrimaryContainer={"ModelPackageName": stale.replace("/1", "/9")},
        ExecutionRoleArn=settings().execution_role_arn,
        VpcConfig=settings().vpc_config,
    )
    account.decide(stale, "Approved")
    account.quota(4)

    deploy(account)

    model = account.sagemaker.describe_model(ModelName=names.model_name(ENVIRONMENT, GROUP, 1))
    assert model["PrimaryContainer"]["ModelPackageName"] == stale
