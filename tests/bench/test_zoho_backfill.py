"""`bench/zoho_backfill.py` (a Zoho backfill: time, requests, credits) runs at HEAD on a tiny org."""

from __future__ import annotations

from tests.bench.runbench import run_bench


def test_the_zoho_backfill_bench_prints_its_row() -> None:
    done = run_bench("zoho_backfill.py", "--leads", "60")
    assert "| 60 + 6 | " in done.stdout, done.stdout
