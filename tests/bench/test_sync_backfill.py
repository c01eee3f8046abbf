"""`bench/sync_backfill.py` (a HubSpot backfill against the rate-limit ceiling) runs at HEAD on a tiny
portal, with the sandbox's default limits as the README's table is measured."""

from __future__ import annotations

from tests.bench.runbench import run_bench


def test_the_hubspot_backfill_bench_prints_its_row() -> None:
    done = run_bench("sync_backfill.py", "--contacts", "60")
    assert "| default limits | 60 | " in done.stdout, done.stdout
