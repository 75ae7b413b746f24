"""The deploy Lambda's environment: validated at invocation, one-line errors naming the variable."""

from __future__ import annotations

import pytest

from mlops.deployment import settings as env
from mlops.deployment.settings import DeploySettings
from mlops.errors import InputError
from tests.deployment.conftest import DEPLOY_ENVIRONMENT, SECURITY_GROUP, SUBNETS

VALID = DEPLOY_ENVIRONMENT


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
    assert message.startswith(f"environment variable {name}=")
    assert "\n" not in message


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
