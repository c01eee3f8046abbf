"""`bench/history_cost.py` (the decision history's cost on a sync run) runs at HEAD, on a tiny input,
in both of its modes."""

from __future__ import annotations

from tests.bench.runbench import run_bench


def test_the_history_cost_bench_runs_on_a_tiny_input() -> None:
    done = run_bench("history_cost.py", "--contacts", "40", "--repeat", "1")
    assert "| sqlite | backfill | 40 |" in done.stdout
    assert "| sqlite | sweep 3 h later | 40 |" in done.stdout


def test_its_memory_mode_runs_on_a_tiny_input() -> None:
    done = run_bench("history_cost.py", "--contacts", "30", "--memory")
    assert "| 30 |" in done.stdout and "| 120 |" in done.stdout
