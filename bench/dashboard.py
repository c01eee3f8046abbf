#!/usr/bin/env python3
"""The live dashboard's ``/report`` over a state store of N contacts (issue 15's target: 100,000
contacts answered within 2 s).

    python bench/dashboard.py --data /work/benchdata/100k [--rules examples/rules/smarketing-2h.yaml]
                              [--state sqlite:///PATH | postgresql+psycopg://...] [--repeat 3]
                              [--profile]

Seeds the state store with the data's contacts, each with its activities and the owners, as a
sync leaves them (skipped when the store already holds that many contacts: pass the same
``--state`` again to measure again without seeding), then starts the daemon's HTTP listener
(``Monitor`` with its ``Dashboard``, on 127.0.0.1) in this process and asks ``/report`` and
``/report.json``: first with nothing kept (the report computed while the request waits: wall
seconds, and this process's CPU seconds, the listener's thread being this process's), then
``--repeat`` times more (answered from the reports kept, ``leadsync.observe.reportcache``: the
median wall seconds). Prints one Markdown row per endpoint and whether each met the 2 s target.
``--profile`` also prints where one computed report's time goes (cProfile, by cumulative time):
reading the store, deciding, counting.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import re
import statistics
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 2.0
CONNECTION = "bench"
_CONTACT_ID = re.compile(rb'"contact_id":"([^"]+)"')
_PASSES = 8  # the activities file is read this many times, an eighth of the contacts at a time


def _lines(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        yield from (line for line in handle if line.strip())


def _seed(store: Any, data: Path) -> int:
    """The data's contacts, activities and owners in the store; the number of contacts."""
    from leadsync.records import contact_from_json
    from leadsync.sync.state import StateStore

    contacts = [json.loads(line) for line in _lines(data / "contacts.jsonl")]
    read_at = datetime.now(UTC)
    for part in range(_PASSES):
        mine = {c["id"] for i, c in enumerate(contacts) if i % _PASSES == part}
        grouped: dict[str, list[dict[str, Any]]] = {cid: [] for cid in mine}
        for line in _lines(data / "activities.jsonl"):
            match = _CONTACT_ID.search(line)
            if match and match.group(1).decode() in mine:
                activity = json.loads(line)
                grouped[activity["contact_id"]].append(activity)
        rows = []
        for i, record in enumerate(contacts):
            if i % _PASSES != part:
                continue
            c = contact_from_json(record)
            rows.append(
                {
                    "connection": CONNECTION,
                    "contact_id": c.id,
                    "record": record,
                    "activities": grouped[c.id],
                    "read_at": read_at,
                    "recheck_at": None,
                    "stage": c.stage,
                    "sla_status": None,
                    "domain": c.domain,
                    "created_at": c.created_at,
                    "owner_id": c.owner_id,
                    "assigned_at": c.assigned_at,
                }
            )
        for start in range(0, len(rows), 1000):
            with store.transaction() as s:
                StateStore.save_contacts(s, rows[start : start + 1000])
        print(f"seeded {part + 1}/{_PASSES}", file=sys.stderr, flush=True)
    owners = data / "owners.jsonl"
    if owners.exists():
        with store.transaction() as s:
            StateStore.save_owners(s, CONNECTION, [json.loads(line) for line in _lines(owners)])
    return len(contacts)


def _ask(url: str) -> tuple[float, float, int]:
    """Wall and CPU seconds of one request, and its body's size."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    wall, cpu = time.perf_counter(), time.process_time()
    with opener.open(url, timeout=600) as answer:
        body = answer.read()
        if answer.status != 200:
            raise SystemExit(f"{url}: {answer.status}")
    return time.perf_counter() - wall, time.process_time() - cpu, len(body)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--rules", type=Path, default=ROOT / "examples" / "rules" / "smarketing-2h.yaml")
    parser.add_argument("--state", default=None, help="default: a new SQLite file in a temporary folder")
    parser.add_argument("--now", default="2026-11-23T10:00:00Z")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    from leadsync.logging import configure_logging
    from leadsync.observe import ListenAddress
    from leadsync.observe.dashboard import Dashboard
    from leadsync.observe.monitor import Monitor
    from leadsync.rules.loader import load_rules
    from leadsync.sync.state import open_store

    configure_logging("warning", "console")
    folder = tempfile.TemporaryDirectory(prefix="leadsync-dashboard-")
    url = args.state or f"sqlite:///{Path(folder.name) / 'state.db'}"
    store = open_store(url)
    rules = load_rules(args.rules)
    stored = len(store.contact_ids(CONNECTION))
    contacts = sum(1 for _ in _lines(args.data / "contacts.jsonl"))
    if stored != contacts:
        wall = time.perf_counter()
        _seed(store, args.data)
        print(f"seeded {contacts:,} contacts in {time.perf_counter() - wall:.1f} s", file=sys.stderr)
    dashboard = Dashboard(store, [CONNECTION], lambda _name: rules)
    monitor = Monitor(store, {}, listen=ListenAddress("127.0.0.1", 0), dashboard=dashboard)
    monitor.start()
    try:
        print(
            "| contacts | state | endpoint | computed: wall s | computed: CPU s | kept: wall s (median) "
            "| bytes | computed within 2 s | kept within 2 s |"
        )
        print("|---:|---|---|---:|---:|---:|---:|---|---|")
        for path in ("/report", "/report.json"):
            dashboard.cache.clear()
            ask = f"http://{monitor.bound}{path}?now={args.now}"
            wall, cpu, size = _ask(ask)
            kept = statistics.median(_ask(ask)[0] for _ in range(args.repeat))
            kind = url.split(":", 1)[0]
            print(
                f"| {contacts:,} | {kind} | `{path}` | {wall:.2f} | {cpu:.2f} | {kept:.3f} | {size:,} | "
                f"{'yes' if wall <= TARGET_S else 'no'} | {'yes' if kept <= TARGET_S else 'no'} |"
            )
        if args.profile:
            dashboard.cache.clear()  # computed, not kept
            profiler = cProfile.Profile()
            profiler.enable()
            dashboard.report({"now": [args.now]})
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
            print(out.getvalue())
    finally:
        monitor.stop()
        store.close()
        folder.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
