"""Fixtures of the executor scenarios: generated raw data (once per session) and a moto
account where the synthesized training pipeline runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.pipeline.world import World, training_world
from tests.shipped.fixtures import MotoServer
from tests.synth import Synthesized

# Small but real: three generated parts (so K instances get different files), ~1.5 % fraud.
RAW_ROWS = 3000
RAW_PART_ROWS = 1000


@pytest.fixture(scope="session")
def raw_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python -m mlops data generate --rows 3000 --seed 7`` as a local folder."""
    from mlops.data import GeneratorConfig, generate

    out = tmp_path_factory.mktemp("raw") / "raw"
    generate(str(out), GeneratorConfig(rows=RAW_ROWS, seed=7), part_rows=RAW_PART_ROWS)
    return out


@pytest.fixture
def dev_world(dev: Synthesized, moto_server: MotoServer, tmp_path: Path, raw_data: Path) -> World:
    return training_world(dev.assembly, moto_server, tmp_path, raw_data)
