"""The import contracts (pyproject.toml ``[tool.importlinter]``, run by ``lint-imports`` in CI)
name every module of the core: a new module of ``connector/`` must join them, as it joins the
packages list (test_packaging.py)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
# Not the core: the adapters, the sandboxes, and the suites third-party adapters run
# (leadsync.testing, which has contracts of its own).
NOT_CORE = {"adapters", "sandboxes", "testing"}


def _contracts() -> dict[str, dict[str, Any]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    assert config["root_package"] == "leadsync"
    return {c["id"]: c for c in config["contracts"]}


def _core() -> set[str]:
    """``leadsync.<name>`` for every module and package of connector/ and the data packages."""
    names = {p.stem for p in (ROOT / "connector").glob("*.py") if p.stem != "__init__"}
    names |= {p.name for p in (ROOT / "connector").iterdir() if (p / "__init__.py").exists()}
    names |= {"mappings", "examples"}
    return {f"leadsync.{n}" for n in names - NOT_CORE}


def test_the_core_contract_names_every_core_module() -> None:
    contract = _contracts()["core"]
    assert set(contract["source_modules"]) == _core()
    assert set(contract["forbidden_modules"]) == {
        "leadsync.adapters",
        "leadsync.sandboxes",
        "leadsync.testing",
    }


def test_the_shipped_suites_import_no_adapter_or_sandbox() -> None:
    contract = _contracts()["testing-apart"]
    assert contract["source_modules"] == ["leadsync.testing"]
    assert set(contract["forbidden_modules"]) == {"leadsync.adapters", "leadsync.sandboxes"}


def test_adapters_may_import_only_the_api() -> None:
    contract = _contracts()["adapters-seam"]
    assert contract["source_modules"] == ["leadsync.adapters"]
    assert set(contract["forbidden_modules"]) == (_core() - {"leadsync.api"}) | {"leadsync.sandboxes"}
    assert contract["allow_indirect_imports"] is True


def test_every_adapter_is_independent() -> None:
    adapters = {f"leadsync.adapters.{p.parent.name}" for p in (ROOT / "adapters").glob("*/__init__.py")}
    assert set(_contracts()["adapters-apart"]["modules"]) == adapters
