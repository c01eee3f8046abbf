"""What the deployment tests share: where deploy/ is, its YAML, and the tools that check it.

The tools (systemd-analyze, kubectl's kustomize, hadolint) are on this kind of machine and in
CI. Elsewhere a test skips saying which is missing; with LEADSYNC_REQUIRE_DEPLOY_TOOLS set (CI
sets it) a missing tool fails the test instead, so a check can never go quietly unrun.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PLAYBOOK = ROOT / "examples" / "rules" / "smarketing-2h.yaml"
PORT = 9464  # `leadsync run --http HOST:9464`, the Prometheus exporters' convention
CONFIG_PATH = "/etc/leadsync/leadsync.yaml"  # where every deployment mounts the config


def tool(name: str) -> str:
    """The path of a command-line tool, or a skip (a failure under LEADSYNC_REQUIRE_DEPLOY_TOOLS)."""
    found = shutil.which(name)
    if found is None:
        # A console script installed with the test extra sits beside this interpreter.
        beside = Path(sys.executable).with_name(name)
        found = str(beside) if beside.exists() else None
    if found is None:
        why = f"`{name}` is not installed, so this deployment check cannot run"
        if os.environ.get("LEADSYNC_REQUIRE_DEPLOY_TOOLS"):
            pytest.fail(why)
        pytest.skip(why)
    return found


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run a tool to completion, its output as text (never raises on a non-zero exit)."""
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def kustomize(folder: Path) -> list[dict[str, Any]]:
    """The resources a kustomization builds (`kubectl kustomize`, offline), as dicts."""
    done = run(tool("kubectl"), "kustomize", str(folder))
    assert done.returncode == 0, done.stderr
    return [d for d in yaml.safe_load_all(done.stdout) if d]


def only(resources: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    """The one resource of a kind."""
    found = [r for r in resources if r["kind"] == kind]
    assert len(found) == 1, f"{len(found)} resources of kind {kind}"
    return found[0]
