"""`bench/zoho_memory.py` (peak RSS of a Zoho backfill, in a measured child) runs at HEAD on a tiny
org."""

from __future__ import annotations

from tests.bench.runbench import run_bench


def test_the_zoho_memory_bench_prints_its_row() -> None:
    done = run_bench("zoho_memory.py", "--leads", "60")
    assert "| 60 + 6 | " in done.stdout, done.stdout
