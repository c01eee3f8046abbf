#!/usr/bin/env python3
"""Peak RSS of a 100,000-contact HubSpot backfill, measured on the sync's own process.

    python bench/sync_memory.py [--contacts 100000] [--rules R.yaml] [--seed 1]

This measures memory, not rate. At the sandbox's default limit (190 requests per 10 s) a
100,000-contact backfill would take about 15 minutes of waiting alone, so the sandbox's limits
are lifted (``ten_second_max`` 10,000,000, ``search_per_second`` 1,000,000) and the adapter's
limiter raised to its maximum (10,000 per 10 s, 1,000 searches/s). The data and the calls are
those of a normal backfill.

Three processes, so that nothing but the sync is counted:

- this one (the harness) imports only the standard library: Linux charges a parent's
  high-water RSS at fork/exec to the child's ``ru_maxrss``, so the harness stays small;
- the HubSpot sandbox, seeded with the contacts, in a child of its own (127.0.0.1);
- the sync, ``sync_memory.py --child``: ``leadsync setup`` then one ``SyncJob`` backfill on a
  fresh SQLite state (a file, as the daemon uses). Its peak RSS is ``ru_maxrss`` from
  ``os.wait4()`` on that process (KiB on Linux, shown in MiB).

Prints a Markdown row on standard output (``--json``: then a one-line JSON summary, for the
backfill's ratio RSS(100,000) / RSS(10,000) in ``bench/README.md``); progress, the sync's RSS
after start-up and setup (its floor), and the sandbox's own peak on standard error. Target: under
500 MB (477 MiB).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import benchkit as bk
import syncbench as sb


def child(url: str, rules: Path, folder: Path, now: str, t0: float, every: int) -> int:
    """The measured process: setup, then one backfill; a JSON line on standard output.

    The sync's clock is the portal's: ``now`` at the monotonic instant ``t0`` the harness took
    when it started the sandbox (Linux's monotonic clock is one for all processes).
    """
    sb.quiet_logs()
    playbook = sb.prepare(url, rules, folder)
    floor_kib = bk.peak_kib()
    progress = sb.Progress(every, "contacts", sb.peak_rss_so_far)
    clock = sb.running_clock(sb.parse_now(now), t0)
    job = sb.make_job(url, playbook, f"sqlite:///{folder}/state.db", clock, fast=True, progress=progress)
    return bk.run_backfill(job, progress, floor_kib)


def main(argv: list[str] | None = None) -> int:
    p = sb.parser(__doc__)
    sb.add_portal_args(p, 100_000)
    p.add_argument("--every", type=int, default=10_000, help="progress line every N contacts (10000)")
    p.add_argument("--child", metavar="URL", help=argparse.SUPPRESS)
    p.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--t0", type=float, help=argparse.SUPPRESS)
    p.add_argument("--keep", action="store_true", help="keep the temporary state folder")
    p.add_argument("--json", action="store_true", help="a one-line JSON summary after the table")
    a = p.parse_args(argv)
    rules = sb.resolve(a.rules)
    if a.child:
        return child(a.child, rules, a.folder, a.now, a.t0, a.every)

    folder = sb.scratch("leadsync-bench-memory-", keep=a.keep)
    print(f"# {sb.machine()}; {a.contacts:,} contacts (seed {a.seed}), {rules.name}", file=sys.stderr)
    t = time.perf_counter()
    with sb.SandboxProcess(contacts=a.contacts, seed=a.seed, now=a.now, limits=sb.UNLIMITED) as portal:
        print(f"# sandbox seeded in {time.perf_counter() - t:.1f} s, limits lifted", file=sys.stderr)
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", portal.url, "--folder", str(folder)]
        cmd += ["--rules", str(rules), "--now", a.now, "--t0", repr(portal.t0), "--every", str(a.every)]
        run = sb.run_child(cmd)
        sandbox_mib = portal.peak_rss_mib()
    if run.returncode != 0:
        print(f"# the sync failed (exit status {run.returncode})", file=sys.stderr)
        return 1
    report, peak_mib = run.report, run.peak_mib
    c = report["counts"]
    contacts = a.contacts
    bk.report_child(run, sandbox_mib)
    print("| contacts | activities | seconds | contacts/s | peak RSS MiB |")
    print("|---:|---:|---:|---:|---:|")
    print(
        f"| {contacts:,} | {c.get('activities_read', 0):,} | {report['seconds']:.0f} "
        f"| {contacts / report['seconds']:.0f} | **{peak_mib:.0f}** |"
    )
    if a.json:
        summary = {
            "contacts": contacts,
            "activities": c.get("activities_read", 0),
            "seconds": round(report["seconds"], 3),
            "peak_rss_mib": round(peak_mib, 1),
            "floor_rss_mib": round(report["floor_kib"] / 1024, 1),
            "rules": rules.name,
        }
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
