"""`bench/sf_backfill.py` (a Salesforce backfill: time, requests, share of a day's allowance) runs at
HEAD on a tiny org."""

from __future__ import annotations

from tests.bench.runbench import run_bench


def test_the_salesforce_backfill_bench_prints_its_row() -> None:
    done = run_bench("sf_backfill.py", "--leads", "60")
    assert "| 60 | " in done.stdout, done.stdout
    assert "of 150,000 |" in done.stdout, done.stdout
