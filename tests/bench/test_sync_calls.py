"""`bench/sync_calls.py` (HubSpot calls against the minimum) runs at HEAD on a tiny portal."""

from __future__ import annotations

from tests.bench.runbench import run_bench


def test_the_hubspot_calls_bench_prints_its_four_runs() -> None:
    done = run_bench("sync_calls.py", "--contacts", "60", "--changed", "20")
    runs = [line.split(" | ")[0] for line in done.stdout.splitlines() if line.startswith("| ")]
    assert runs[1:5] == ["| backfill", "| no-op re-sync", "| incremental", "| no-op re-sync"], done.stdout
