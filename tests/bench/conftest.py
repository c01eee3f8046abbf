from __future__ import annotations

from pathlib import Path

import pytest

from tests.bench.runbench import generate


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """120 contacts x 20 activities from bench/generate.py, for the scripts that read JSON Lines."""
    return generate(tmp_path_factory.mktemp("benchdata"))
