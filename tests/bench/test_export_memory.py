"""`bench/export_memory.py` runs at HEAD: state stores of 200 and 2,000 contacts x 3, a Markdown row
each, the RSS ratio and a one-line JSON summary (the figures are the bench's to judge, not this
test's)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "export_memory.py"


def test_the_export_memory_bench_runs_on_tiny_stores(tmp_path: Path) -> None:
    leadsync = Path(sys.executable).parent / "leadsync"  # this venv's
    args = ["--sizes", "200,2000", "--activities-per-contact", "3", "--json"]
    done = subprocess.run(
        [sys.executable, str(BENCH), *args, "--work", str(tmp_path), "--leadsync", str(leadsync)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| 2")]
    assert len(rows) == 2
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert [r["contacts"] for r in summary["runs"]] == [200, 2000]
    assert summary["rss_ratio"] > 0
    assert not any(tmp_path.iterdir())  # the stores are gone
