#!/usr/bin/env python3
"""What the decision history costs a sync run: time with it ÷ time without, and its memory.

    python bench/history_cost.py [--contacts 5000] [--repeat 3] [--pg URL] [--memory]

Runs ``SyncJob.run`` against the in-memory CRM of the sync tests (``tests/sync/fake_crm.py``,
which answers at once, so the state store's share of a run is as large as it gets) on a fresh
state store: a **backfill** (every contact new: most get a score, stage, owner, SLA and tasks,
each change one history row), then a **sweep** three hours later (the SLA of every MQL nobody
touched is breached: one history row each). Each is run with the history as it is, and with it
switched off (``history.history_rows`` returning nothing: no rows built, none inserted),
alternately, ``--repeat`` times; the best CPU time of each is kept (the process's CPU, which
the other processes of a shared machine do not inflate as they do wall time).

Prints a Markdown table: CPU seconds without and with the history, their ratio, and the rows
the history got, on SQLite (a file in a temporary folder) and, with ``--pg``, PostgreSQL (a schema
of its own, dropped at exit).

``--memory``: instead, the backfill's peak of Python allocations (``tracemalloc``) with and
without the history, at ``--contacts`` and at 4 times as many: the history's share must not grow
with the contacts (its rows are built and inserted per decision batch, then dropped).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.sync.fake_crm

from state_store import NOW, RULES, pg_url, portal  # noqa: E402

from leadsync.logging import configure_logging  # noqa: E402
from leadsync.rules.loader import load_rules  # noqa: E402
from leadsync.sync import history  # noqa: E402
from leadsync.sync.loop import SyncJob  # noqa: E402
from leadsync.sync.state import open_store  # noqa: E402
from leadsync.sync.tables import HistoryRow  # noqa: E402


@contextmanager
def history_off(off: bool) -> Iterator[None]:
    """The history switched off (no rows built or inserted) while the block runs, when ``off``."""
    rows = history.history_rows
    if off:
        history.history_rows = lambda *_a, **_k: []  # type: ignore[assignment]
    try:
        yield
    finally:
        history.history_rows = rows  # type: ignore[assignment]


def runs(url: str, contacts: int, off: bool) -> tuple[float, float, int]:
    """CPU seconds of the backfill and of the sweep, and the history's rows after both."""
    store = open_store(url)
    try:
        fake = portal(contacts, 200)
        rules = load_rules(RULES)
        spent = []
        with history_off(off):
            for now in (NOW, NOW + timedelta(hours=3)):
                job = SyncJob("bench", fake, rules, store, clock=lambda now=now: now)  # type: ignore[misc]
                t = time.process_time()
                result = job.run()
                spent.append(time.process_time() - t)
                assert result.status == "ok", result.error
        with store.transaction() as s:
            n = s.query(HistoryRow).count()
        return spent[0], spent[1], n
    finally:
        store.close()


def with_store(backend: str, base: str | None, body: Callable[[str], object]) -> object:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            return body(f"sqlite:///{folder}/state.db")
    assert base is not None
    url, drop = pg_url(base)
    try:
        return body(url)
    finally:
        drop()


def cost(backend: str, base: str | None, contacts: int, repeat: int) -> None:
    best: dict[bool, list[float]] = {True: [1e9, 1e9], False: [1e9, 1e9]}
    rows = 0
    for _ in range(repeat):
        for off in (True, False):
            backfill, sweep, n = with_store(backend, base, lambda url, off=off: runs(url, contacts, off))  # type: ignore[misc]
            best[off] = [min(best[off][0], backfill), min(best[off][1], sweep)]
            rows = n if not off else rows
    for i, name in enumerate(("backfill", "sweep 3 h later")):
        without, with_ = best[True][i], best[False][i]
        cells = [backend, name, f"{contacts:,}", f"{without:.2f}", f"{with_:.2f}", f"{with_ / without:.3f}"]
        print("| " + " | ".join([*cells, f"{rows:,}"]) + " |")


def peak(contacts: int, off: bool) -> int:
    """The backfill's peak of traced allocations, in bytes, above what was held before it."""

    def body(url: str) -> int:
        store = open_store(url)
        try:
            fake = portal(contacts, 200)
            job = SyncJob("bench", fake, load_rules(RULES), store, clock=lambda: NOW)
            with history_off(off):
                tracemalloc.start()
                base = tracemalloc.get_traced_memory()[0]
                job.run()
                top = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
            return top - base
        finally:
            store.close()

    return int(with_store("sqlite", None, body))  # type: ignore[call-overload]


def memory(contacts: int) -> None:
    print("| contacts | peak without history (MiB) | with (MiB) | history's share (MiB) |")
    print("|---:|---:|---:|---:|")
    for n in (contacts, 4 * contacts):
        without, with_ = peak(n, True), peak(n, False)
        mib = 1024 * 1024
        print(f"| {n:,} | {without / mib:.1f} | {with_ / mib:.1f} | {(with_ - without) / mib:+.1f} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--contacts", type=int, default=5000, help="contacts in the fake CRM (5000)")
    p.add_argument("--repeat", type=int, default=3, help="runs each way; the best is kept (3)")
    p.add_argument("--pg", default=None, help="also on PostgreSQL at this URL (postgresql://...)")
    p.add_argument("--memory", action="store_true", help="the backfill's peak allocations instead")
    args = p.parse_args()
    configure_logging("warning")
    if args.memory:
        memory(args.contacts)
        return
    print("| backend | run | contacts | CPU s without history | with | ratio | history rows |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for backend in ["sqlite"] + (["postgresql"] if args.pg else []):
        cost(backend, args.pg, args.contacts, args.repeat)


if __name__ == "__main__":
    main()
