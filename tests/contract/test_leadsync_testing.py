"""leadsync.testing as a product: what it exports, what its pytest plugin costs, what it imports."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Mapping
from importlib.metadata import entry_points
from pathlib import Path
from typing import ClassVar

import pytest

import leadsync.testing
from leadsync.testing import SyncHarness, plugin

PACKAGE = Path(leadsync.testing.__file__).parent


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_the_exported_names() -> None:
    assert leadsync.testing.__all__ == [
        "AUTOMATION", "CAPABILITIES", "CONVERT", "DELETE", "LOCKS", "QUOTA", "WRITE_CALLS",
        "AdapterContract", "AdapterHarness", "CallLog", "CallTap", "Crash", "QuotaStop",
        "SleepRecorder", "SyncContract", "SyncHarness", "example_playbook", "http_calls",
    ]  # fmt: skip
    for name in leadsync.testing.__all__:
        assert getattr(leadsync.testing, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'Harness'"):
        leadsync.testing.Harness  # noqa: B018


def test_the_plugin_is_registered_for_pytest() -> None:
    found = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert found.get("leadsync") == "leadsync.testing.plugin"


def test_the_plugin_costs_nothing_to_a_run_that_does_not_use_it() -> None:
    """Loading it imports neither leadsync's core nor its dependencies, and no fixture is autouse."""
    done = _python(
        "import sys, leadsync.testing.plugin\n"
        "heavy = [m for m in ('leadsync.api', 'leadsync.sync.state', 'sqlalchemy', 'pydantic', 'requests')"
        " if m in sys.modules]\n"
        "print(heavy)"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    markers = [getattr(plugin, name)._fixture_function_marker for name in plugin.__all__]
    assert markers and not any(m.autouse for m in markers)


def test_without_pytest_the_import_says_what_to_install() -> None:
    done = _python(
        "import sys\nsys.modules['pytest'] = None  # as if pytest were not installed\nimport leadsync.testing"
    )
    assert done.returncode != 0
    assert "leadsync.testing needs pytest" in done.stderr and "pip install 'leadsync[test]'" in done.stderr


def test_it_imports_no_adapter_and_no_sandbox() -> None:
    """The suites know CRMs only through harnesses: the adapters and sandboxes stay in tests."""
    for path in PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        modules |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert not [m for m in modules if m.startswith(("leadsync.adapters", "leadsync.sandboxes"))], (
            path.name
        )


def test_a_harness_that_lacks_an_unknown_capability_is_refused() -> None:
    with pytest.raises(TypeError, match=r"no capability `convrt`; did you mean `convert`\?"):

        class Typo(SyncHarness[object]):
            lacks: ClassVar[Mapping[str, str]] = {"convrt": "no leads"}
