"""`bench/leases.py` (what leases cost, how fast a replica takes over) runs at HEAD on a tiny CRM,
on PostgreSQL as the suites find it (``LEADSYNC_TEST_PG_URL``)."""

from __future__ import annotations

import os

import pytest

from leadsync.testing.stores import PG_URL
from tests.bench.runbench import run_bench


def test_the_leases_bench_prints_both_tables() -> None:
    if not os.environ.get("LEADSYNC_TEST_PG_URL", "unset"):
        pytest.skip("LEADSYNC_TEST_PG_URL is empty: PostgreSQL left out")
    done = run_bench("leases.py", "--pg", PG_URL, "--contacts", "40", "--repeat", "1", "--ttl", "0.6")
    assert "| backfill | " in done.stdout, done.stdout
    assert "| 0.6 s | " in done.stdout, done.stdout
