"""A fourth adapter, from a folder and an entry point, passes leadsync.testing's two suites."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from leadsync.registry import adapter_factory, available_adapters
from leadsync.testing import AdapterContract, SyncContract
from tests.toy_adapter import adapter
from tests.toy_adapter.fake import ToyCrm
from tests.toy_adapter.harness import ToyAdapterHarness, ToySyncHarness


class TestToyContract(AdapterContract):
    """The toy adapter passes the adapter contract."""

    @pytest.fixture
    def harness(self, toy_installed: None) -> Iterator[ToyAdapterHarness]:
        with ToyCrm() as crm:
            yield ToyAdapterHarness(crm)


class TestToySync(SyncContract):
    """The toy adapter passes the sync contract, on SQLite and PostgreSQL."""

    @pytest.fixture(scope="class")
    @classmethod
    def sync_harness(cls, toy_installed: None) -> ToySyncHarness:
        return ToySyncHarness()


def test_the_toy_is_an_installed_adapter(toy_installed: None) -> None:
    """leadsync finds the toy by its entry point, among the built-in adapters."""
    assert "toy" in available_adapters()
    assert {"hubspot", "salesforce", "zoho"} <= set(available_adapters())
    assert adapter_factory("toy") is adapter.from_options


def test_the_toy_adapter_imports_leadsync_api_only() -> None:
    tree = ast.parse(Path(adapter.__file__).read_text(encoding="utf-8"))
    modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    modules |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert {m for m in modules if m.startswith("leadsync")} == {"leadsync.api"}
