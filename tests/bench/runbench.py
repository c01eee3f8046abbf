"""Running a `bench/` script as the README says, in a child process, on a tiny input.

Every runnable script in `bench/` has a `tests/bench/test_<script>.py` that runs it this way
(`test_every_script_is_run.py` checks there is one), so a change to leadsync cannot break a
benchmark unseen. The tests check that a script runs and prints its table, never how fast.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
# A safety net for a hung child, not a measure: the slowest smoke run takes well under a minute.
TIMEOUT_S = 600


def run_bench(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``python bench/SCRIPT ARGS`` from the repository root; fails the test with the script's
    standard error when it exits with anything but 0."""
    done = subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, f"bench/{script} exited with {done.returncode}:\n{done.stderr[-4000:]}"
    return done


def generate(out: Path, contacts: int = 120) -> Path:
    """A tiny input made by bench/generate.py (seed 1): contacts, activities and owners."""
    run_bench("generate.py", "--contacts", str(contacts), "--activities-per-contact", "20", "--out", str(out))
    return out
