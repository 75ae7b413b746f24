"""Studio users from the config: SageMaker's name pattern is enforced at synth, in one line."""

from __future__ import annotations

import pytest

from stacks.config import ConfigError, load_environment


def _load(studio: dict[str, object]) -> object:
    return load_environment({"environments": {"dev": {"studio": studio}}, "env": "dev"})


def test_valid_users_with_optional_instance_type() -> None:
    config = load_environment(
        {
            "environments": {
                "dev": {
                    "studio": {
                        "user_profiles": [
                            {"name": "alice"},
                            {"name": "bob-2", "instance_type": "ml.t3.large"},
                        ]
                    }
                }
            }
        }
    )
    assert [(u.name, u.instance_type) for u in config.studio.user_profiles] == [
        ("alice", None),
        ("bob-2", "ml.t3.large"),
    ]


@pytest.mark.parametrize("name", ["jane_doe", "-leading", "a" * 64, ""])
def test_names_outside_sagemakers_pattern_stop_synth(name: str) -> None:
    with pytest.raises(ConfigError) as error:
        _load({"user_profiles": [{"name": "ok"}, {"name": name}]})
    message = str(error.value)
    assert message.startswith(
        f"config error at environments.dev.studio.user_profiles[1].name: got {name!r}; allowed:"
    )
    assert "\n" not in message


def test_duplicate_users_stop_synth() -> None:
    with pytest.raises(ConfigError, match="name must be unique; repeated: alice"):
        _load({"user_profiles": [{"name": "alice"}, {"name": "alice"}]})


def test_idle_shutdown_below_sagemakers_minimum_stops_synth() -> None:
    with pytest.raises(ConfigError, match=r"studio\.idle_shutdown_minutes: got 30"):
        _load({"idle_shutdown_minutes": 30})
