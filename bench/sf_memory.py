#!/usr/bin/env python3
"""Peak RSS of a 100,000-lead Salesforce backfill, measured on the sync's own process.

    python bench/sf_memory.py [--leads 100000] [--rules R.yaml] [--seed 1] [--batch-size 200]

Three processes, so that nothing but the sync is counted:

- this one (the harness) imports only the standard library: Linux charges a parent's high-water
  RSS at fork/exec to the child's ``ru_maxrss``, so the harness stays small;
- the Salesforce sandbox, seeded with ``--leads`` leads and their activities, in a child of its
  own (127.0.0.1);
- the sync, ``sf_memory.py --child``: ``leadsync setup`` then one ``SyncJob`` backfill on a fresh
  SQLite state (a file, as the daemon uses). Its peak RSS is ``ru_maxrss`` from ``os.wait4()`` on
  that process (KiB on Linux, shown in MiB).

Salesforce has no short-window rate limit and the sandbox's daily allowance is set out of reach,
so nothing throttles the run: the data and the calls are a normal backfill's. Prints a Markdown
row on standard output; progress, the sync's RSS after start-up and setup (its floor), and the
sandbox's own peak on standard error. Target: under 500 MB (477 MiB).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import benchkit as bk
import sfbench
import syncbench as sb


def child(url: str, ca_file: str, rules: Path, folder: Path, a: argparse.Namespace) -> int:
    """The measured process: setup, then one backfill; a JSON line on standard output.

    The org's clock is read from the sandbox (``advance`` by 0 s) and run on from there.
    """
    sb.quiet_logs()
    clock = sb.running_clock(*sb.org_time(url))
    c = sb.control(url, "GET", "/__sandbox/credentials")
    opts = sfbench.options(url, c["client_id"], c["client_secret"], ca_file, clock)
    reps = [u for u in a.reps.split(",") if u]
    playbook = sfbench.prepare(opts, rules, reps, folder)
    floor_kib = bk.peak_kib()
    progress = sb.Progress(a.every, "leads and contacts", sb.peak_rss_so_far)

    state = f"sqlite:///{folder}/state.db"
    job = sfbench.make_job(opts, playbook, state, clock, batch_size=a.batch_size, progress=progress)
    return bk.run_backfill(job, progress, floor_kib)


def main(argv: list[str] | None = None) -> int:
    p = sb.parser(__doc__)
    sfbench.add_org_args(p, 100_000)
    p.add_argument("--every", type=int, default=10_000, help="progress line every N leads (10000)")
    p.add_argument("--child", metavar="URL", help=argparse.SUPPRESS)
    p.add_argument("--ca-file", help=argparse.SUPPRESS)
    p.add_argument("--reps", default="", help=argparse.SUPPRESS)
    p.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--keep", action="store_true", help="keep the temporary state folder")
    a = p.parse_args(argv)
    rules = sb.resolve(a.rules)
    if a.child:
        return child(a.child, a.ca_file, rules, a.folder, a)

    folder = sb.scratch("leadsync-bench-sf-memory-", keep=a.keep)
    print(f"# {sb.machine()}; {a.leads:,} leads (seed {a.seed}), {rules.name}", file=sys.stderr)
    t = time.perf_counter()
    with sfbench.SfSandboxProcess(leads=a.leads, seed=a.seed, now=a.now) as org:
        print(f"# sandbox seeded in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", org.url, "--ca-file", org.ca_file]
        cmd += ["--folder", str(folder), "--rules", str(rules), "--reps", ",".join(org.reps())]
        cmd += ["--every", str(a.every), "--batch-size", str(a.batch_size)]
        run = sb.run_child(cmd)
        sandbox_mib = org.peak_rss_mib()
        requests = org.usage()
    if run.returncode != 0:
        print(f"# the sync failed (exit status {run.returncode})", file=sys.stderr)
        return 1
    report, peak_mib = run.report, run.peak_mib
    c = report["counts"]
    people = c.get("contacts_read", 0)
    bk.report_child(run, sandbox_mib, f"; API requests (setup and backfill) {requests:,}")
    print("| leads seeded | leads and contacts | activities | seconds | per second | peak RSS MiB |")
    print("|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {a.leads:,} | {people:,} | {c.get('activities_read', 0):,} | {report['seconds']:.0f} "
        f"| {people / report['seconds']:.0f} | **{peak_mib:.0f}** |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
