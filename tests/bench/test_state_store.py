"""`bench/state_store.py` runs at HEAD (issue 14: it crashed once the loop's run carried its progress).
It reaches into the loop's internals to time each step, so it is run here, on a tiny input."""

from __future__ import annotations

from tests.bench.runbench import run_bench


def test_the_state_store_bench_runs_on_a_tiny_input() -> None:
    done = run_bench("state_store.py", "--contacts", "40", "--page", "20", "--repeat", "1")
    assert "| sqlite | backfill: commit transaction |" in done.stdout
