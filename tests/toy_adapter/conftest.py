"""The toy adapter's distribution, installed for the test session as pip would install it."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator

import pytest

ENTRY_POINTS = "[leadsync.adapters]\ntoy = tests.toy_adapter.adapter:from_options\n"


@pytest.fixture(scope="session")
def toy_installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A ``toy-0.dist-info`` (METADATA and entry_points.txt) in a folder on ``sys.path``: what a
    wheel of the toy would leave in site-packages, so leadsync's registry finds ``toy`` by its
    entry point, as it finds the built-in adapters."""
    site = tmp_path_factory.mktemp("site-packages")
    info = site / "toy-0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toy\nVersion: 0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(ENTRY_POINTS, encoding="utf-8")
    sys.path.append(str(site))
    importlib.invalidate_caches()
    yield
    sys.path.remove(str(site))
    importlib.invalidate_caches()
