#!/usr/bin/env python3
"""What an idle HubSpot run costs at 2,000 and at 100,000 stored contacts, and their ratio.

    python bench/idle_run.py [--small 2000] [--large 100000] [--runs 5] [--rebuilt] [--json]

An idle run is one in which nothing changed in the CRM: the daemon's interval run on a quiet
portal. Its cost must not grow with the contacts leadsync holds (issue 14, item 4: idle(100,000)
within 1.5 times idle(2,000)). For each size, the script seeds a HubSpot sandbox in a process of
its own (127.0.0.1, limits lifted and the adapter's limiter at its maximum, as ``sync_memory.py``
does), runs ``leadsync setup`` and a backfill into a fresh SQLite state file, then runs the same
``SyncJob`` until a run reads no contact (the backfill's writes read back once), and times
``--runs`` idle runs: the CPU seconds of this process (the sync: the loop and the adapter's
threads; the sandbox is another process) and wall seconds. The adapter's ``search_lag_s`` is 0:
the sandbox's search shows a change at once, so the runs after the read-back read nothing.

``--rebuilt`` times each idle run a second time, with the routing index rebuilt from every stored
contact at its start, as runs did before it was read from the store when routing asks
(``leadsync.sync.routing_store``): the same runs, the old cost beside the new.

Prints a Markdown table on standard output (medians of the idle runs) and the ratio of the large
portal's median CPU seconds to the small one's; ``--json`` adds a one-line summary. Progress and
the machine on standard error.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from typing import Any

import syncbench as sb

TARGET = 1.5  # idle(large) / idle(small), CPU seconds


def _rebuilt_index(job: Any) -> Any:
    """The routing index as runs built it before: every stored contact, at the start of the run."""
    from sqlalchemy import select

    from leadsync.rules.routing import RoutingIndex
    from leadsync.sync.database import utc
    from leadsync.sync.tables import ContactRow

    class Rebuilt(RoutingIndex):
        def settle(self) -> None:
            """Kept for the whole run, updated in memory."""

    index = Rebuilt(job.rules.calendar.tz)
    columns = (ContactRow.contact_id, ContactRow.domain, ContactRow.created_at)
    q = select(*columns, ContactRow.owner_id, ContactRow.assigned_at).where(ContactRow.connection == job.name)
    with job.store.engine.connect() as conn:
        for cid, domain, created_at, owner_id, assigned_at in conn.execute(q):
            index.upsert(cid, domain, utc(created_at), owner_id, utc(assigned_at))
    return index


def _timed(job: Any) -> dict[str, Any]:
    cpu, wall = time.process_time(), time.perf_counter()
    result = job.run()
    return {
        "cpu": time.process_time() - cpu,
        "wall": time.perf_counter() - wall,
        "read": result.counts.get("contacts_read", 0),
        "swept": result.counts.get("contacts_swept", 0),
        "status": result.status,
    }


def measure(contacts: int, runs: int, rebuilt: bool, a: Any) -> dict[str, Any]:
    """Seed, back-fill, read back, then ``runs`` idle runs timed (and with the index rebuilt)."""
    folder = sb.scratch("leadsync-bench-idle-", keep=a.keep)
    t = time.perf_counter()
    with sb.SandboxProcess(contacts=contacts, seed=a.seed, now=a.now, limits=sb.UNLIMITED) as portal:
        print(f"# {contacts:,} contacts: sandbox seeded in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        playbook = sb.prepare(portal.url, sb.resolve(a.rules), folder)
        state = f"sqlite:///{folder}/state.db"
        job = sb.make_job(portal.url, playbook, state, portal.clock, fast=True, search_lag_s=0)
        backfill = _timed(job)
        print(f"#   backfill: {backfill['wall']:.1f} s, {backfill['cpu']:.1f} CPU s", file=sys.stderr)
        for _ in range(3):  # the backfill's own writes, read back (echoes)
            if _timed(job)["read"] == 0:
                break
        idle = [_timed(job) for _ in range(runs)]
        before = []
        if rebuilt:
            fresh = job._index
            job._index = lambda: _rebuilt_index(job)
            before = [_timed(job) for _ in range(runs)]
            job._index = fresh
        job.store.close()
    out = {"contacts": contacts, "runs": idle, "rebuilt": before}
    for key, rows in (("", idle), ("rebuilt_", before)):
        if rows:
            out[key + "cpu"] = statistics.median(r["cpu"] for r in rows)
            out[key + "wall"] = statistics.median(r["wall"] for r in rows)
    print(f"#   idle runs: {[round(r['cpu'], 3) for r in idle]} CPU s", file=sys.stderr)
    return out


def main(argv: list[str] | None = None) -> int:
    p = sb.parser(__doc__)
    p.add_argument("--small", type=int, default=2_000, help="contacts in the small portal (2000)")
    p.add_argument("--large", type=int, default=100_000, help="contacts in the large portal (100000)")
    p.add_argument("--runs", type=int, default=5, help="idle runs timed at each size (5)")
    p.add_argument("--rebuilt", action="store_true", help="also time them with the index rebuilt each run")
    p.add_argument("--json", action="store_true", help="a one-line JSON summary after the table")
    p.add_argument("--keep", action="store_true", help="keep the temporary state folders")
    sb.add_data_args(p, "portal")
    a = p.parse_args(argv)
    sb.quiet_logs()
    print(f"# {sb.machine()}; {sb.resolve(a.rules).name}, seed {a.seed}", file=sys.stderr)
    small, large = (measure(n, a.runs, a.rebuilt, a) for n in (a.small, a.large))
    head = ["stored contacts", "idle runs", "CPU s (median)", "wall s (median)", "contacts read", "swept"]
    if a.rebuilt:
        head += ["CPU s, index rebuilt each run", "wall s, index rebuilt"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---:|" * len(head))
    for m in (small, large):
        cells = [f"{m['contacts']:,}", str(len(m["runs"])), f"{m['cpu']:.3f}", f"{m['wall']:.3f}"]
        cells += [str(sum(r["read"] for r in m["runs"])), str(sum(r["swept"] for r in m["runs"]))]
        if a.rebuilt:
            cells += [f"{m['rebuilt_cpu']:.3f}", f"{m['rebuilt_wall']:.3f}"]
        print("| " + " | ".join(cells) + " |")
    ratio = large["cpu"] / small["cpu"]
    met = "met" if ratio <= TARGET else "NOT met"
    sizes = f"idle({a.large:,}) / idle({a.small:,})"
    print(f"\n{sizes}, CPU seconds: **{ratio:.2f}** (target <= {TARGET}: {met})")
    summary: dict[str, Any] = {"small": a.small, "large": a.large, "runs": a.runs, "ratio": round(ratio, 3)}
    summary.update(small_cpu=round(small["cpu"], 4), large_cpu=round(large["cpu"], 4))
    summary.update(small_wall=round(small["wall"], 4), large_wall=round(large["wall"], 4))
    if a.rebuilt:
        rebuilt = large["rebuilt_cpu"] / small["rebuilt_cpu"]
        print(f"with the index rebuilt each run (as before): **{rebuilt:.2f}**")
        summary.update(rebuilt_ratio=round(rebuilt, 3), small_rebuilt_cpu=round(small["rebuilt_cpu"], 4))
        summary.update(large_rebuilt_cpu=round(large["rebuilt_cpu"], 4))
    if a.json:
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
