"""`bench/state_store.py` runs at HEAD (issue 14: it crashed once the loop's run carried its progress).
It reaches into the loop's internals to time each step, so it is run here, on a tiny input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "state_store.py"


def test_the_state_store_bench_runs_on_a_tiny_input() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--contacts", "40", "--page", "20", "--repeat", "1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| sqlite | backfill: commit transaction |" in done.stdout
