"""`bench/dashboard.py` (the live dashboard's /report over a seeded state store) runs at HEAD on a
tiny input."""

from __future__ import annotations

from pathlib import Path

from tests.bench.runbench import run_bench


def test_the_dashboard_bench_prints_a_row_per_endpoint(tiny_data: Path) -> None:
    done = run_bench("dashboard.py", "--data", str(tiny_data), "--repeat", "1", "--profile")
    rows = [line for line in done.stdout.splitlines() if line.startswith("| 120 |")]
    assert [r.split(" | ")[2] for r in rows] == ["`/report`", "`/report.json`"]
    assert "cumulative" in done.stdout
