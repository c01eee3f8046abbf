#!/usr/bin/env python3
"""The decision engine alone, in contacts per CPU-second; and the phases of ``evaluate`` around it.

    python bench/engine.py --rules examples/rules/bant.yaml --data bench/out/data [--repeat 3] [--json]

"The engine alone" is what the daemon runs on records its adapters already hold: ``decide_all``
on contacts whose records are in memory, timed in CPU seconds of this process
(``time.process_time``), so that other work on a shared machine does not count. Loading (JSON
parsing, record objects) and writing the decisions as JSON Lines are timed apart, the same way.

**Records allocated contact by contact.** ``bench/generate.py`` writes contacts and activities in
shuffled order, so objects loaded straight from its files lie in memory in file order, and
visiting them contact by contact misses the CPU cache at nearly every activity: a cost of the
bench's own making, not of the engine (a streaming reader, or an adapter reading a CRM page by
page, allocates one contact's records together). Before timing, this bench therefore writes a
copy of the inputs ordered by contact id (to a temporary directory, deleted after) and loads that
copy with the same loaders ``leadsync evaluate`` uses, so each contact's records are allocated
together. ``--file-order`` skips that step and measures the shuffled layout instead.

Each phase calls the same functions ``leadsync evaluate`` does; the cyclic GC is off while the
records are held, as ``evaluate`` has it. Peak RSS is the process's high-water mark
(``ru_maxrss``) after the last repeat. The table row (or with ``--json`` one JSON object per line)
gives the best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from itertools import chain
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from leadsync.inputs.activities import group_by_contact, read_activities  # noqa: E402
from leadsync.inputs.contacts import load_contacts  # noqa: E402
from leadsync.jsonl import load_owners  # noqa: E402
from leadsync.rules.decide import decide_all  # noqa: E402
from leadsync.rules.loader import load_rules  # noqa: E402
from leadsync.timeutil import parse_iso_ts  # noqa: E402

PHASES = ("load", "decide", "write")


def contact_ordered_copy(data: Path, into: Path) -> Path:
    """``data``'s contacts and activities rewritten in order of contact id (owners as they are)."""
    contacts: dict[str, bytes] = {}
    with (data / "contacts.jsonl").open("rb") as handle:
        for line in handle:
            if line.strip():
                contacts[orjson.loads(line)["id"]] = line.rstrip(b"\n") + b"\n"
    activities: dict[str, list[bytes]] = {}
    with (data / "activities.jsonl").open("rb") as handle:
        for line in handle:
            if line.strip():
                cid = orjson.loads(line)["contact_id"]
                activities.setdefault(cid, []).append(line.rstrip(b"\n") + b"\n")
    with (into / "contacts.jsonl").open("wb") as out:
        out.writelines(contacts[cid] for cid in sorted(contacts))
    with (into / "activities.jsonl").open("wb") as out:
        for cid in sorted(activities):
            out.writelines(activities[cid])
    (into / "owners.jsonl").write_bytes((data / "owners.jsonl").read_bytes())
    return into


def run_once(rules_path: Path, data: Path, now_text: str) -> dict[str, float]:
    """One load, decide and write, each in CPU seconds; ``n`` is the number of contacts."""
    rules = load_rules(rules_path)
    now = parse_iso_ts(now_text)
    gc.disable()  # as evaluate does while it holds millions of objects
    t0 = time.process_time()
    contacts = load_contacts(data / "contacts.jsonl")
    batches = read_activities(data / "activities.jsonl", rules.activity_types, rules.activity_fields)
    grouped, _ = group_by_contact((c.id for c in contacts), chain.from_iterable(batches))
    owners = load_owners(data / "owners.jsonl")
    t1 = time.process_time()
    decisions = decide_all(rules, contacts, lambda cid: grouped.pop(cid, ()), owners, now)
    t2 = time.process_time()
    out = b"".join(orjson.dumps(d.to_json()) + b"\n" for d in decisions)
    t3 = time.process_time()
    n = len(contacts)
    grouped.clear()
    del contacts, decisions, out
    gc.enable()
    gc.collect()
    return {"n": n, "load": t1 - t0, "decide": t2 - t1, "write": t3 - t2}


def measure(rules: Path, data: Path, now: str, repeat: int, file_order: bool) -> dict[str, object]:
    """The best of ``repeat`` runs, per phase, with the engine's rate and the peak RSS."""

    def runs(where: Path) -> Iterator[dict[str, float]]:
        return (run_once(rules, where, now) for _ in range(repeat))

    if file_order:
        results = list(runs(data))
    else:
        with tempfile.TemporaryDirectory(prefix="leadsync-engine-") as tmp:
            results = list(runs(contact_ordered_copy(data, Path(tmp))))
    best = {k: min(r[k] for r in results) for k in PHASES}
    n = int(results[0]["n"])
    return {
        "rules": rules.name,
        "contacts": n,
        "layout": "file" if file_order else "contact",
        **{f"{k}_cpu_s": round(best[k], 3) for k in PHASES},
        "engine_contacts_per_cpu_s": round(n / best["decide"]) if best["decide"] else None,
        "evaluate_contacts_per_cpu_s": round(n / sum(best.values())) if sum(best.values()) else None,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main(argv: list[str] | None = None) -> int:
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
    parser.add_argument(
        "--file-order", action="store_true", help="load the files as they are (shuffled layout)"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object instead of a table row")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    cpu = args.cpu if args.cpu is not None else min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    r = measure(args.rules, args.data, args.now, args.repeat, args.file_order)
    if args.json:
        print(orjson.dumps(r).decode())
        return 0
    print(
        "| rules | contacts | load CPU s | decide CPU s | engine contacts/CPU-s | write CPU s "
        "| evaluate contacts/CPU-s | peak RSS MiB |"
    )
    print(
        f"| `{r['rules']}` | {r['contacts']:,} | {r['load_cpu_s']:.2f} | {r['decide_cpu_s']:.2f} "
        f"| **{r['engine_contacts_per_cpu_s']:,}** | {r['write_cpu_s']:.2f} "
        f"| {r['evaluate_contacts_per_cpu_s']:,} | {r['peak_rss_mib']:,} |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
