"""`bench/sync_memory.py` (peak RSS of a HubSpot backfill, in a measured child) runs at HEAD on a tiny
portal."""

from __future__ import annotations

from tests.bench.runbench import run_bench


def test_the_hubspot_memory_bench_prints_its_row() -> None:
    done = run_bench("sync_memory.py", "--contacts", "60")
    assert "| 60 | " in done.stdout, done.stdout
    assert "peak RSS MiB" in done.stdout
