#!/usr/bin/env python3
"""The state store's cost per contact and per page, without a CRM's latency: the loop's own steps.

    python bench/state_store.py [--contacts 1000] [--page 200] [--pg URL] [--repeat 3]

Drives ``SyncJob``'s steps by hand against the in-memory CRM of the sync tests
(``tests/sync/fake_crm.py``, which answers at once) on a fresh state store, one page at a time
(``run`` gathers pages into batches of ``decide_batch`` contacts; here each page is its own batch,
so the numbers are per page), and times each step that touches the store:

1. **backfill**: every contact is new. Per page: ``_split_echoes`` (one ``SELECT ... IN``),
   ``_decide`` (not the store's, shown for scale), the commit transaction of ``_commit``
   (snapshots, outbox, actions, conflicts, routing, cursor) and ``_flush`` (the fake CRM's
   writes, then the outbox marked sent, the written values and the snapshots updated);
2. **echoes**: the same contacts read again after leadsync's writes: split, then the commit
   transaction refreshing the echoes' snapshots.

Half the contacts are CEOs, some students (disqualified), one in 20 asked for a demo (two tasks
each), so every contact gets a write and a few get tasks. Prints a Markdown table on standard
output: milliseconds per page and per contact, the best of ``--repeat`` runs, on SQLite (a file
in a temporary folder) and, with ``--pg``, on PostgreSQL (a schema of its own, dropped at exit).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.sync.fake_crm

from leadsync.logging import configure_logging  # noqa: E402
from leadsync.model import Activity, Contact, Owner  # noqa: E402
from leadsync.rules.loader import load_rules  # noqa: E402
from leadsync.sync.loop import SyncJob, _Run  # noqa: E402
from leadsync.sync.progress import RunProgress  # noqa: E402
from leadsync.sync.run import RunContext, RunResult  # noqa: E402
from leadsync.sync.state import open_store  # noqa: E402
from tests.sync.fake_crm import FakeCrm  # noqa: E402

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday, inside the rules' business hours
RULES = ROOT / "tests" / "sync" / "rules.yaml"
TITLES = ("CEO", "Engineer", "CEO", "Student", "CEO", "Marketing Manager")


def portal(contacts: int, page: int) -> FakeCrm:
    fake = FakeCrm(owners=[Owner("u1"), Owner("u2")], page_size=page)
    for i in range(contacts):
        cid = f"c{i:06d}"
        fake.put(
            Contact(
                id=cid,
                created_at=NOW - timedelta(days=30 + i % 90),
                email=f"{cid}@co{i % 400}.com",
                title=TITLES[i % len(TITLES)],
                first_name="Ana",
                last_name=f"Lead {i}",
                company=f"Company {i % 400}",
            )
        )
        if i % 20 == 0:
            fake.activities.append(Activity(f"a{i}", cid, "demo_request", NOW - timedelta(minutes=30)))
    return fake


class Steps:
    """Seconds per step, summed over pages."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.pages: dict[str, int] = {}

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds
        self.pages[name] = self.pages.get(name, 0) + 1

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        t = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - t)


def one_pass(job: SyncJob, steps: Steps, label: str, owners: Any, index: Any, routing: Any) -> int:
    """Read every page once, as ``SyncJob.run`` does; the contacts read."""
    result = RunResult(run_id=uuid.uuid4().hex[:12])
    ctx = RunContext(job.name, job.adapter, job.store, job.batch_size, NOW, result, job.log)
    run = _Run(ctx, owners, index, routing, RunProgress(job.name, result, job.clock, job.log))
    flush = job._flush
    flushed = [0.0]

    def timed_flush(ctx: RunContext, *, hold_partial: bool = False) -> None:
        t = time.perf_counter()
        flush(ctx, hold_partial=hold_partial)
        flushed[0] += time.perf_counter() - t

    job._flush = timed_flush  # type: ignore[method-assign]
    read = 0
    pages = job.adapter.read_contacts(job.store.cursor(job.name))
    for page in job._pages(pages, run):
        read += len(page.records)
        with steps.timed(f"{label}: split echoes"):
            news, echoes = job._split_echoes(page.records, page.news)
        plans = []
        if news:
            with steps.timed(f"{label}: decide (not the store)"):
                plans = job._decide(run, news)
        flushed[0] = 0.0
        t = time.perf_counter()
        job._commit(run, plans, page.cursor, echoes)
        steps.add(f"{label}: commit transaction", time.perf_counter() - t - flushed[0])
        if plans:
            steps.add(f"{label}: flush", flushed[0])
    job._flush = flush  # type: ignore[method-assign]
    return read


def measure(url: str, contacts: int, page: int) -> tuple[Steps, int]:
    store = open_store(url)
    try:
        fake = portal(contacts, page)
        job = SyncJob("bench", fake, load_rules(RULES), store, clock=lambda: NOW)
        owners, index, routing = job._owners(False), job._index(), job._routing_state()
        steps = Steps()
        read = one_pass(job, steps, "backfill", owners, index, routing)
        one_pass(job, steps, "echoes", owners, index, routing)
        return steps, read
    finally:
        store.close()


def best(runs: list[tuple[Steps, int]]) -> tuple[dict[str, float], dict[str, int], int]:
    names = list(runs[0][0].seconds)
    seconds = {n: min(r.seconds[n] for r, _ in runs) for n in names}
    return seconds, runs[0][0].pages, runs[0][1]


def pg_url(base: str) -> tuple[str, Callable[[], None]]:
    from sqlalchemy import create_engine, text

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))

    def drop() -> None:
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        engine.dispose()

    return f"{base}?options=-csearch_path%3D{schema}", drop


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--contacts", type=int, default=1000, help="contacts in the fake CRM (1000)")
    p.add_argument("--page", type=int, default=200, help="contacts per page read (200)")
    p.add_argument("--pg", default=None, help="also on PostgreSQL at this URL (postgresql://...)")
    p.add_argument("--repeat", type=int, default=3, help="runs per backend; the best is shown (3)")
    args = p.parse_args()
    configure_logging("warning")
    print("| backend | step | pages | ms per page | ms per contact |")
    print("|---|---|---:|---:|---:|")
    backends = ["sqlite"] + (["postgresql"] if args.pg else [])
    for backend in backends:
        runs = []
        for _ in range(args.repeat):
            if backend == "sqlite":
                with tempfile.TemporaryDirectory() as folder:
                    runs.append(measure(f"sqlite:///{folder}/state.db", args.contacts, args.page))
            else:
                url, drop = pg_url(args.pg)
                try:
                    runs.append(measure(url, args.contacts, args.page))
                finally:
                    drop()
        seconds, pages, read = best(runs)
        for name, s in seconds.items():
            print(
                f"| {backend} | {name} | {pages[name]} | {1000 * s / pages[name]:.2f} "
                f"| {1000 * s / read:.3f} |"
            )


if __name__ == "__main__":
    main()
