"""`bench/zoho_calls.py` (Zoho calls and credits against the minimum) runs at HEAD on a tiny org."""

from __future__ import annotations

from tests.bench.runbench import run_bench


def test_the_zoho_calls_bench_prints_its_four_runs() -> None:
    done = run_bench("zoho_calls.py", "--leads", "60", "--changed", "20")
    runs = [line.split(" | ")[0] for line in done.stdout.splitlines() if line.startswith("| ")]
    assert runs[1:5] == ["| backfill", "| no-op re-sync", "| incremental", "| no-op re-sync"], done.stdout
