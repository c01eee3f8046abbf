#!/usr/bin/env python3
"""Peak RSS of a 100,000-lead Zoho CRM backfill, measured on the sync's own process.

    python bench/zoho_memory.py [--leads 100000] [--contacts N] [--rules R.yaml] [--seed 1]

Three processes, so that nothing but the sync is counted:

- this one (the harness) imports only the standard library: Linux charges a parent's high-water
  RSS at fork/exec to the child's ``ru_maxrss``, so the harness stays small;
- the Zoho sandbox, seeded with ``--leads`` leads, ``--contacts`` contacts (a tenth of the leads
  unless given) and their activities, in a child of its own (127.0.0.1), its daily credits set out
  of reach (this measures memory, not the budget: ``zoho_backfill.py`` reports credits);
- the sync, ``zoho_memory.py --child``: ``leadsync setup`` then one ``SyncJob`` backfill on a
  fresh SQLite state (a file, as the daemon uses). Its peak RSS is ``ru_maxrss`` from
  ``os.wait4()`` on that process (KiB on Linux, shown in MiB).

Prints a Markdown row on standard output; progress, the sync's RSS after start-up and setup (its
floor), the requests and credits, and the sandbox's own peak on standard error. Target: under
500 MB (477 MiB).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import benchkit as bk
import syncbench as sb
import zohobench as zb


def child(url: str, folder: Path, rules: Path, a: argparse.Namespace) -> int:
    """The measured process: setup, then one backfill; a JSON line on standard output.

    The org's clock is read from the sandbox (``advance`` by 0 s) and run on from there.
    """
    sb.quiet_logs()
    from leadsync.api import CrmError

    clock = sb.running_clock(*sb.org_time(url))
    opts = zb.options(url, sb.control(url, "GET", "/__sandbox/credentials"), clock)
    playbook = zb.prepare(opts, rules, folder)
    floor_kib = bk.peak_kib()
    progress = sb.Progress(a.every, "people", sb.peak_rss_so_far)
    state = f"sqlite:///{folder}/state.db"
    job = zb.make_job(opts, playbook, state, clock, batch_size=a.batch_size, progress=progress)
    runs: list[dict[str, Any]] = []
    counts: Counter[str] = Counter()
    started = time.monotonic()
    for _ in range(a.runs):  # as the daemon would: a failed run is followed by another
        progress.start()
        t = time.monotonic()
        try:
            result = job.run()
        except CrmError as exc:
            runs.append({"status": "failed", "seconds": time.monotonic() - t, "error": str(exc)[:300]})
            print(f"#   run failed: {exc}", file=sys.stderr, flush=True)
            continue
        counts.update(result.counts)
        runs.append({"status": result.status, "seconds": time.monotonic() - t, "counts": result.counts})
        break
    seconds = time.monotonic() - started
    job.store.close()
    with sqlite3.connect(folder / "state.db") as db:  # the people decided over all runs
        stored = db.execute("SELECT count(*) FROM contacts WHERE connection = 'bench'").fetchone()[0]
    out = {"seconds": seconds, "counts": counts, "floor_kib": floor_kib, "runs": runs, "stored": stored}
    print(json.dumps(out), flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = sb.parser(__doc__)
    zb.add_org_args(p, 100_000)
    p.add_argument("--every", type=int, default=10_000, help="progress line every N people (10000)")
    p.add_argument(
        "--runs",
        type=int,
        default=3,
        help="runs at most, until one ends ok (a failed run is followed "
        "by another, as the daemon does; default 3)",
    )
    p.add_argument("--child", metavar="URL", help=argparse.SUPPRESS)
    p.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    rules = sb.resolve(a.rules)
    if a.child:
        return child(a.child, a.folder, rules, a)

    folder = sb.scratch("leadsync-bench-zoho-memory-", keep=a.keep)
    contacts = zb.contacts_of(a)
    print(f"# {sb.machine()}; {a.leads:,} leads and {contacts:,} contacts (seed {a.seed}), {rules.name}",
          file=sys.stderr)  # fmt: skip
    t = time.perf_counter()
    with zb.ZohoSandboxProcess(
        leads=a.leads, contacts=contacts, seed=a.seed, now=a.now, daily_credits=10**9
    ) as org:
        print(f"# sandbox seeded in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", org.url, "--folder", str(folder)]
        cmd += ["--rules", str(rules), "--every", str(a.every), "--batch-size", str(a.batch_size)]
        cmd += ["--runs", str(a.runs)]
        run = sb.run_child(cmd)
        sandbox_mib = org.peak_rss_mib()
        stats = org.stats()
    if run.returncode != 0:
        print(f"# the sync failed (exit status {run.returncode}); its peak RSS {run.peak_mib:.0f} MiB",
              file=sys.stderr)  # fmt: skip
        return 1
    for i, r in enumerate(run.report["runs"], 1):
        print(f"# run {i}: {r['status']} in {r['seconds']:.0f} s: {r.get('counts') or r.get('error')}",
              file=sys.stderr)  # fmt: skip
    c = run.report["counts"]
    seconds = run.report["seconds"]
    tokens = sum(n for e, n in stats["by_endpoint"].items() if "/oauth/" in e)
    requests = stats["requests"] - tokens
    more = (
        f"; API requests (setup and backfill) {requests:,}, credits {stats['credits']['used']:,}; {sb.load()}"
    )
    bk.report_child(run, sandbox_mib, more)
    print(
        "| leads + contacts seeded | runs | records read (last run) | people decided (state) | activities "
        "| seconds | decided/s | peak RSS MiB |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    read = c.get("contacts_read", 0)
    cells = [f"{a.leads:,} + {contacts:,}", str(len(run.report["runs"])), f"{read:,}"]
    cells += [f"{run.report['stored']:,}", f"{c.get('activities_read', 0):,}", f"{seconds:.0f}"]
    cells += [f"{run.report['stored'] / seconds:.0f}", f"**{run.peak_mib:.0f}**"]
    print("| " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
