"""`bench/sync_memory.py` runs at HEAD on a tiny portal, its `--json` summary included (issue 14,
items 3 and 5). The peak RSS it reports is the benchmark's to judge, never a test's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "sync_memory.py"


def test_the_sync_memory_bench_runs_on_a_tiny_portal() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--contacts", "40", "--every", "20", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["contacts"] == 40 and summary["peak_rss_mib"] > summary["floor_rss_mib"] > 0
    assert "| 40 |" in done.stdout
