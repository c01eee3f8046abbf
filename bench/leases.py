#!/usr/bin/env python3
"""What leases cost and how fast they move: a run's overhead, and the takeover time.

    python bench/leases.py [--pg URL] [--contacts 1000] [--batch 1000] [--repeat 5] [--ttl 3]

**Overhead per run.** ``SyncJob.run`` against the in-memory CRM of the sync tests (which answers
at once, so only leadsync's own work is timed) on a PostgreSQL schema of its own: a backfill of
``--contacts`` contacts in decision batches of ``--batch``, then a run that reads them again (all
echoes: the cheapest run, where a fixed cost shows most). Each is timed without leases, and
fenced by a lease (``StateStore.fenced``: every transaction of the run begins with the lease's
conditional UPDATE), alternating, each on a fresh schema; the best of ``--repeat`` is shown, and
the ratio fenced / unfenced. A lease tick (one transaction, on its own thread in the daemon) is
timed too.

**Takeover.** Two replicas' leases on 4 connections, ``--ttl`` seconds, each ticking every
ttl / 3 on a thread. Replica A holds everything and is then "killed" (stops ticking); the time
until B holds every connection is measured, ``--repeat`` times. The bound is ttl + one tick.

Prints Markdown tables on standard output (paste them in the README's "Two or more replicas").
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.sync.fake_crm, bench.state_store

from bench.state_store import NOW, RULES, pg_url, portal  # noqa: E402
from leadsync.logging import configure_logging  # noqa: E402
from leadsync.rules.loader import load_rules  # noqa: E402
from leadsync.sync.leases import Leases  # noqa: E402
from leadsync.sync.loop import DECIDE_BATCH, SyncJob  # noqa: E402
from leadsync.sync.state import StateStore, open_store  # noqa: E402

FENCED: dict[str, int] = {}  # transactions fenced, per run kind


def timed_runs(url: str, contacts: int, batch: int, fenced: bool) -> tuple[float, float, float]:
    """Seconds of a backfill run and of an echoes run (and of one lease tick) on a fresh store."""
    store = open_store(url)
    try:
        job = SyncJob(
            "bench", portal(contacts, 200), load_rules(RULES), store, clock=lambda: NOW, decide_batch=batch
        )
        leases = Leases(store, ["bench"], ttl=60)
        t = time.perf_counter()
        leases.tick()
        tick = time.perf_counter() - t
        out = []
        check = leases.fence("bench")
        for kind in ("backfill", "echoes only"):

            def counted(s: Any, kind: str = kind) -> None:
                FENCED[kind] = FENCED.get(kind, 0) + 1
                check(s)

            FENCED[kind] = 0
            t = time.perf_counter()
            if fenced:
                with store.fenced(counted):
                    job.run()
            else:
                job.run()
            out.append(time.perf_counter() - t)
        return out[0], out[1], tick
    finally:
        store.close()


def overhead(base: str, contacts: int, batch: int, repeat: int) -> None:
    results: dict[bool, list[tuple[float, float, float]]] = {False: [], True: []}
    for _ in range(repeat):
        for fenced in (False, True):
            url, drop = pg_url(base)
            try:
                results[fenced].append(timed_runs(url, contacts, batch, fenced))
            finally:
                drop()
    print(
        f"| run ({contacts} contacts, batches of {batch}) | transactions fenced | without leases "
        "| with leases | ratio |"
    )
    print("|---|---:|---:|---:|---:|")
    for i, name in enumerate(("backfill", "echoes only")):
        without = min(r[i] for r in results[False])
        fenced = min(r[i] for r in results[True])
        print(
            f"| {name} | {FENCED[name]} | {1000 * without:.0f} ms | {1000 * fenced:.0f} ms "
            f"| {fenced / without:.3f} |"
        )
    tick = statistics.median(r[2] for r in results[True] + results[False])
    print(f"\nA lease tick (one transaction, on its own thread): {1000 * tick:.1f} ms (median).")
    plain, fenced_tx = fence_cost(base)
    print(
        f"A transaction writing one cursor: {1000 * plain:.2f} ms; fenced: {1000 * fenced_tx:.2f} ms "
        f"(median of {FENCE_SAMPLES}, alternating): the fence adds {1000 * (fenced_tx - plain):.2f} ms "
        "to each transaction of a run.\n"
    )


FENCE_SAMPLES = 300


def fence_cost(base: str) -> tuple[float, float]:
    """Median seconds of a transaction that writes a cursor (as a batch's does, so both pay the
    commit's WAL flush), without and with the fence."""
    url, drop = pg_url(base)
    store = open_store(url)
    try:
        leases = Leases(store, ["bench"], ttl=60)
        leases.tick()
        times: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(FENCE_SAMPLES):
            for fenced in (False, True):
                t = time.perf_counter()
                if fenced:
                    with store.fenced(leases.fence("bench")), store.transaction() as s:
                        store.set_cursor(s, "bench", f"c{t}")
                else:
                    with store.transaction() as s:
                        store.set_cursor(s, "bench", f"c{t}")
                times[fenced].append(time.perf_counter() - t)
        return statistics.median(times[False]), statistics.median(times[True])
    finally:
        store.close()
        drop()


def _ticking(leases: Leases, stop: threading.Event) -> threading.Thread:
    def loop() -> None:
        while not stop.wait(leases.tick_seconds):
            leases.tick()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread


def takeover(base: str, ttl: float, repeat: int) -> None:
    names = ["c1", "c2", "c3", "c4"]
    times = []
    for _ in range(repeat):
        url, drop = pg_url(base)
        store: StateStore | None = None
        try:
            store = open_store(url)
            a, b = Leases(store, names, ttl=ttl), Leases(store, names, ttl=ttl)
            a.tick()
            b.tick(claim=False)
            stop_a, stop_b = threading.Event(), threading.Event()
            _ticking(a, stop_a)
            _ticking(b, stop_b)
            time.sleep(ttl / 2)
            stop_a.set()  # A is killed: no more renewals, no release
            killed = time.perf_counter()
            _wait(lambda b=b: set(b.held()) == set(names), 3 * ttl)  # type: ignore[misc]
            times.append(time.perf_counter() - killed)
            stop_b.set()
        finally:
            if store is not None:
                store.close()
            drop()
    tick = ttl / 3
    print(f"| ttl | tick | bound (ttl + tick) | takeover, median | max ({repeat} kills) |")
    print("|---:|---:|---:|---:|---:|")
    print(
        f"| {ttl:g} s | {tick:.2f} s | {ttl + tick:.2f} s | {statistics.median(times):.2f} s "
        f"| {max(times):.2f} s |"
    )


def _wait(done: Callable[[], bool], timeout: float) -> None:
    deadline = time.perf_counter() + timeout
    while not done():
        if time.perf_counter() > deadline:
            raise SystemExit(f"no takeover within {timeout} s")
        time.sleep(0.01)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test", help="PostgreSQL URL")
    p.add_argument("--contacts", type=int, default=1000, help="contacts in the fake CRM (1000)")
    p.add_argument(
        "--batch", type=int, default=DECIDE_BATCH, help=f"decide_batch (leadsync's default, {DECIDE_BATCH})"
    )
    p.add_argument("--repeat", type=int, default=5, help="repetitions; the best run is shown (5)")
    p.add_argument("--ttl", type=float, default=3.0, help="lease ttl for the takeover (3 s)")
    args = p.parse_args()
    configure_logging("warning")
    overhead(args.pg, args.contacts, args.batch, args.repeat)
    takeover(args.pg, args.ttl, args.repeat)


if __name__ == "__main__":
    main()
