"""The deploy Lambda's environment: one contract (to_environment / from_environment),
validated at invocation, one-line errors naming the variable."""

from __future__ import annotations

import pytest

from mlops.deployment import settings as env
from mlops.deployment.settings import DeploySettings, update_timeout_seconds
from mlops.errors import InputError
from tests.deployment.conftest import DEPLOY_ENVIRONMENT, SECURITY_GROUP, SUBNETS, settings

VALID = DEPLOY_ENVIRONMENT


def test_what_the_stack_writes_the_handler_reads_back() -> None:
    for shift in ("all_at_once", "canary", "linear"):
        written = settings(traffic_shift=shift, groups=frozenset({"a-group", "b"}))
        assert DeploySettings.from_environment(written.to_environment()) == written


def test_network_ids_become_the_models_vpc_config() -> None:
    settings = DeploySettings.from_environment(VALID)

    assert settings.subnet_ids == SUBNETS
    assert settings.security_group_ids == (SECURITY_GROUP,)
    assert settings.vpc_config == {
        "SecurityGroupIds": [SECURITY_GROUP],
        "Subnets": list(SUBNETS),
    }


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (env.ENV_SUBNET_IDS, None),
        (env.ENV_SUBNET_IDS, ""),
        (env.ENV_SUBNET_IDS, "subnet-0a1b2c3d4e5f60001,"),
        (env.ENV_SUBNET_IDS, "sg-0a1b2c3d4e5f60003"),
        (env.ENV_SUBNET_IDS, "subnet-0a1b2c3d4e5f60001,subnet-0a1b2c3d4e5f60001"),
        (env.ENV_SUBNET_IDS, ",".join(f"subnet-0a1b2c3d4e5f6{n:04}" for n in range(17))),
        (env.ENV_SECURITY_GROUP_IDS, None),
        (env.ENV_SECURITY_GROUP_IDS, "subnet-0a1b2c3d4e5f60001"),
        (env.ENV_SECURITY_GROUP_IDS, "sg-1"),
        (env.ENV_SECURITY_GROUP_IDS, ",".join(f"sg-0a1b2c3d4e5f6{n:04}" for n in range(6))),
    ],
)
def test_missing_or_malformed_network_ids_are_refused_naming_the_variable(
    name: str, value: str | None
) -> None:
    environ = {key: text for key, text in VALID.items() if key != name}
    if value is not None:
        environ[name] = value

    with pytest.raises(InputError) as raised:
        DeploySettings.from_environment(environ)

    message = str(raised.value)
    assert message.startswith(f"environment variable {name}")
    assert "\n" not in message


@pytest.mark.parametrize(
    ("name", "value", "allowed"),
    [
        # botocore UpdateEndpoint: CanarySize <= 50 % of the fleet, LinearStepSize 10-50 %.
        (env.ENV_CANARY_PERCENT, "0", "from 1 to 50"),
        (env.ENV_CANARY_PERCENT, "51", "from 1 to 50"),
        (env.ENV_LINEAR_STEP_PERCENT, "9", "from 10 to 50"),
        (env.ENV_LINEAR_STEP_PERCENT, "60", "from 10 to 50"),
        (env.ENV_TRAFFIC_SHIFT, "sideways", "all_at_once, canary, linear"),
        (env.ENV_GROUPS, "fraud_detection", "comma-separated ids"),
    ],
)
def test_out_of_range_values_are_refused_naming_what_is_allowed(
    name: str, value: str, allowed: str
) -> None:
    with pytest.raises(InputError, match=f"environment variable {name}=.*{allowed}"):
        DeploySettings.from_environment({**VALID, name: value})


def test_the_update_timeout_covers_every_wait_of_the_shift() -> None:
    # Each step waits once, the old fleet is kept one more bake, plus 30 min to launch.
    assert update_timeout_seconds("all_at_once", 10, 10) == 2 * 600 + 1800
    assert update_timeout_seconds("canary", 10, 10) == 3 * 600 + 1800
    assert update_timeout_seconds("linear", 20, 10) == 6 * 600 + 1800
    assert update_timeout_seconds("linear", 30, 10) == 5 * 600 + 1800  # 4 steps of 30 %
    # Never below SageMaker's minimum of 600 s.
    assert update_timeout_seconds("all_at_once", 10, 0) == 1800


def test_a_shift_longer_than_sagemakers_maximum_is_refused() -> None:
    environ = {
        **VALID,
        env.ENV_TRAFFIC_SHIFT: "linear",
        env.ENV_LINEAR_STEP_PERCENT: "10",
        env.ENV_BAKE_MINUTES: "60",
    }
    with pytest.raises(InputError, match="41400 s blue/green update; allowed: at most 28800 s"):
        DeploySettings.from_environment(environ)


def test_the_network_is_part_of_the_endpoint_settings() -> None:
    # A new network names a new endpoint config, whose deployment re-creates the model in it.
    here = DeploySettings.from_environment(VALID)
    reordered = DeploySettings.from_environment(
        {**VALID, env.ENV_SUBNET_IDS: ",".join(reversed(SUBNETS))}
    )
    elsewhere = DeploySettings.from_environment(
        {**VALID, env.ENV_SUBNET_IDS: "subnet-0ffffffffffff0001,subnet-0ffffffffffff0002"}
    )

    assert reordered.endpoint_settings_hash == here.endpoint_settings_hash
    assert elsewhere.endpoint_settings_hash != here.endpoint_settings_hash
