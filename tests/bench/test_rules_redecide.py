"""`bench/rules_redecide.py` (the run after a rules edit) runs at HEAD on a tiny CRM."""

from __future__ import annotations

from tests.bench.runbench import run_bench


def test_the_rules_redecide_bench_prints_its_runs() -> None:
    done = run_bench("rules_redecide.py", "--contacts", "40")
    assert "| SQLite | after the edit" in done.stdout, done.stdout
