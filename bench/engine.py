#!/usr/bin/env python3
"""Time the phases of ``leadsync evaluate`` in one process on one core: load, decide, write.

    python bench/engine.py --rules examples/rules/bant.yaml --data bench/out/data [--repeat 3]

``run.py`` times the whole command; this splits it, so that the decision engine (what the daemon
runs on records its adapters already hold) and JSON parsing (what only ``evaluate`` pays) are
seen apart. Each phase calls the same functions ``leadsync evaluate`` does, and is timed in CPU
seconds of this process (``time.process_time``: the machine may be busy, and a per-core rate is read
on CPU time); the rates are contacts per CPU-second. Peak RSS is the process's high-water mark
(``ru_maxrss``) after the last repeat.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import sys
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from leadsync.jsonl import load_activities, load_contacts, load_owners  # noqa: E402
from leadsync.model import Activity  # noqa: E402
from leadsync.rules.decide import decide_all  # noqa: E402
from leadsync.rules.loader import load_rules  # noqa: E402
from leadsync.timeutil import parse_iso_ts  # noqa: E402


def run_once(rules_path: Path, data: Path, now_text: str) -> dict[str, float]:
    rules = load_rules(rules_path)
    now = parse_iso_ts(now_text)
    gc.disable()  # as evaluate does while it holds millions of objects
    t0 = time.process_time()
    contacts = load_contacts(data / "contacts.jsonl")
    ids = {c.id: c.id for c in contacts}
    grouped: dict[str, list[Activity]] = {c.id: [] for c in contacts}
    for a in load_activities(data / "activities.jsonl", rules.activity_types, rules.activity_fields, ids):
        bucket = grouped.get(a.contact_id)
        if bucket is not None:
            bucket.append(a)
    owners = load_owners(data / "owners.jsonl")
    t1 = time.process_time()
    decisions = decide_all(rules, contacts, lambda cid: grouped.pop(cid, ()), owners, now)
    t2 = time.process_time()
    out = b"".join(orjson.dumps(d.to_json()) + b"\n" for d in decisions)
    t3 = time.process_time()
    gc.enable()
    n = len(contacts)
    grouped.clear()
    del contacts, decisions, out
    gc.collect()
    return {"n": n, "load": t1 - t0, "decide": t2 - t1, "write": t3 - t2}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rules", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=ROOT / "bench" / "out" / "data")
    parser.add_argument("--now", default="2026-11-23T10:00:00Z")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--cpu", type=int, default=None, help="the core to pin to (default: the first allowed)"
    )
    args = parser.parse_args()
    cpu = args.cpu if args.cpu is not None else min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    runs = [run_once(args.rules, args.data, args.now) for _ in range(args.repeat)]
    best = {k: min(r[k] for r in runs) for k in ("load", "decide", "write")}
    n = runs[0]["n"]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    total = best["load"] + best["decide"] + best["write"]
    print(
        f"| `{args.rules.name}` | {n:,.0f} | {best['load']:.1f} | {best['decide']:.1f} "
        f"| **{n / best['decide']:,.0f}** | {best['write']:.1f} | {n / total:,.0f} | {rss:,.0f} |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
