"""`bench/idle_run.py` runs at HEAD on tiny portals (issue 14, item 5: every bench script runs).
What it measures, CPU seconds of idle runs, is the benchmark's to say, never a test's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "idle_run.py"


def test_the_idle_run_bench_runs_on_tiny_portals() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--small", "30", "--large", "60", "--runs", "1", "--rebuilt", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert (summary["small"], summary["large"], summary["runs"]) == (30, 60, 1)
    assert summary["ratio"] > 0 and summary["rebuilt_ratio"] > 0
    assert "| 60 | 1 |" in done.stdout  # the large portal's row
