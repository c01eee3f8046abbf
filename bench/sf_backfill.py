#!/usr/bin/env python3
"""A 20,000-lead Salesforce backfill: seconds, leads/s, and the API requests it takes from the org's day.

    python bench/sf_backfill.py [--leads 20000] [--licenses 50] [--batch-size 200] [--no-pin]

Salesforce has no short-window rate limit: what an integration spends is the org's **daily API
request allowance**, a rolling 24 hours shared by every integration and user of the org
(Enterprise Edition: 100,000 + 1,000 per Salesforce license; ``--licenses``, default 50, gives
150,000). leadsync stops at ``api_budget`` (80%) of it. So this reports the backfill's time and
its requests: per 1,000 leads and as a share of that allowance.

Starts the Salesforce sandbox in its own process (127.0.0.1; it stands in for Salesforce, so its
CPU is not the sync's), seeded with ``--leads`` leads (about 10% of them converted to contacts, 2%
deleted) and their Tasks, Events and Campaign Members; runs ``leadsync setup``; then times one
``SyncJob`` backfill on a fresh SQLite state. With two CPUs or more the sandbox is pinned to one
and this process to another (``--no-pin`` leaves them to the scheduler).

Prints a Markdown row on standard output, and on standard error the progress, the requests by
line, and where the wall time went: waiting for the sandbox (by line), this process's CPU in the
HTTP client (requests, TLS, JSON), the state store (SQLAlchemy and SQLite) and the rest of the
loop (decide, plan, convert); and the sandbox's own CPU seconds over the run.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import Any

import benchkit as bk
import sfbench
import syncbench as sb
from sf_calls import MINIMUM, Recorder, classify_call

BASE_ALLOWANCE, PER_LICENSE = 100_000, 1_000  # Enterprise Edition's daily API requests


class SfClocks:
    """Wall and CPU seconds by bucket, from wrappers around the Salesforce client (per HTTP request,
    named by the query line ``Recorder`` is reading), retry waits and the state store.

    ``wall`` is the run's own thread (its buckets and the rest add up to the run's time);
    ``elsewhere`` is HTTP on other threads (pages read ahead, if the loop does), which overlaps it.
    """

    STORE = "state store (SQLAlchemy, SQLite)"
    WAITING = "HTTP: waiting for the sandbox"

    def __init__(self, rec: Recorder) -> None:
        self.rec = rec
        self.wall: Counter[str] = Counter()
        self.elsewhere: Counter[str] = Counter()
        self.count: Counter[str] = Counter()
        self.endpoint_wait: Counter[str] = Counter()
        self.endpoint_calls: Counter[str] = Counter()
        self.loop_thread = threading.get_ident()
        self._lock = threading.Lock()

    def _add(self, bucket: str, seconds: float) -> None:
        with self._lock:
            mine = threading.get_ident() == self.loop_thread
            (self.wall if mine else self.elsewhere)[bucket] += seconds

    def retry_sleep(self, seconds: float) -> None:
        self._add("retry waits", seconds)
        self.count["retries"] += 1
        time.sleep(seconds)

    def attach(self, job: Any) -> None:
        """Wrap the job's client (after ``Recorder.attach``: its ``_once`` is the recorder's) and store."""
        self.attach_client(job.adapter.client)
        bk.time_store(job.store, partial(self._add, self.STORE))

    def attach_client(self, client: Any) -> None:
        once = client._once

        def timed_once(what: str, fn: Callable[..., Any]) -> Any:
            label = self.rec.label
            endpoint = f"{label[0]}: {label[1]}" if label else classify_call(what)
            t, c = time.perf_counter(), time.thread_time()
            try:
                return once(what, fn)
            finally:
                self.add_http(endpoint, time.perf_counter() - t, time.thread_time() - c)

        client._once = timed_once

    def add_http(self, endpoint: str, wall: float, cpu: float) -> None:
        """One HTTP request: ``wall`` seconds, ``cpu`` of them this thread's CPU."""
        self._add("HTTP: this process's CPU (client, TLS, JSON)", cpu)
        self._add(self.WAITING, max(0.0, wall - cpu))
        with self._lock:
            self.count["calls"] += 1
            self.endpoint_wait[endpoint] += max(0.0, wall - cpu)
            self.endpoint_calls[endpoint] += 1

    def waited(self) -> float:
        """Seconds waiting for the sandbox, over all threads."""
        return self.wall[self.WAITING] + self.elsewhere[self.WAITING]

    def report(self, run: bk.TimedRun, sandbox_rss: float, width: int, others: str) -> None:
        """On standard error, where the run's time went: the run's thread by bucket (``width``
        wide), the ``others`` threads' (overlapping), the sandbox's CPU, and the waits by line."""
        print(f"# where the {run.seconds:.1f} s went (this process: {run.cpu:.1f} s CPU):", file=sys.stderr)
        bk.print_split(self.wall, run.seconds, width)
        for bucket, secs in self.elsewhere.most_common():
            print(f"#   ({others}, overlapping) {bucket:30s} {secs:7.1f} s", file=sys.stderr)
        print(
            f"#   (the sandbox's CPU over the run: {run.sandbox_cpu:.1f} s; its peak RSS "
            f"{sandbox_rss:.0f} MiB; {self.count['retries']} retries)",
            file=sys.stderr,
        )
        bk.print_waits(self.endpoint_wait, self.endpoint_calls, 40, "by line (requests, seconds, mean ms)")


def main(argv: list[str] | None = None) -> int:
    p = sb.parser(__doc__)
    sfbench.add_org_args(p, 20_000)
    p.add_argument(
        "--licenses", type=int, default=50, help="Salesforce licenses of the org assumed (default 50)"
    )
    p.add_argument("--no-pin", action="store_true", help="do not pin the two processes to a CPU each")
    p.add_argument("--every", type=int, default=2000, help="progress line every N leads (2000)")
    p.add_argument("--keep", action="store_true", help="keep the temporary state folder")
    a = p.parse_args(argv)

    from leadsync.api import RetryPolicy

    sb.quiet_logs()
    rules = sb.resolve(a.rules)
    folder = sb.scratch("leadsync-bench-sf-backfill-", keep=a.keep)
    allowance = BASE_ALLOWANCE + PER_LICENSE * a.licenses
    t = time.perf_counter()
    with sfbench.SfSandboxProcess(leads=a.leads, seed=a.seed, now=a.now) as org:
        pinned = "not pinned" if a.no_pin else sb.pin(org.proc.pid)
        print(
            f"# {sb.machine()}; {a.leads:,} leads (seed {a.seed}), {rules.name}, batch_size "
            f"{a.batch_size}; {pinned}; sandbox seeded in {time.perf_counter() - t:.1f} s",
            file=sys.stderr,
        )
        opts = sfbench.process_options(org)
        playbook = sfbench.prepare(opts, rules, org.reps(), folder)
        org.reset_stats()
        used0 = org.usage()
        rec = Recorder()
        clocks = SfClocks(rec)
        progress = sb.Progress(a.every, "leads and contacts", lambda: f"{clocks.count['calls']:,} requests")

        opts["retry"] = RetryPolicy(sleep=clocks.retry_sleep)
        state = f"sqlite:///{folder}/state.db"
        job = sfbench.make_job(opts, playbook, state, org.clock, batch_size=a.batch_size, progress=progress)
        rec.attach(job.adapter)
        clocks.attach(job)
        run = bk.timed_run(job, progress, org.proc.pid)
        result, seconds, cpu = run.result, run.seconds, run.cpu
        stats = org.stats()
        used = org.usage() - used0
        sandbox_rss = org.peak_rss_mib()
        job.store.close()

    by_endpoint: dict[str, int] = stats["by_endpoint"]
    logins = sum(n for e, n in by_endpoint.items() if "/oauth2/" in e)
    requests = sum(by_endpoint.values()) - logins
    people = result.counts.get("contacts_read", 0)
    per_1k = requests * 1000 / people if people else 0.0
    share = requests / allowance
    print(f"# run: {dict(result.counts)}", file=sys.stderr)
    print(
        f"# API requests: {requests:,} (the org counted {used:,}; plus {logins} OAuth sign-in), "
        f"{per_1k:.1f} per 1,000 leads and contacts; {share:.3%} of a {allowance:,}-request day "
        f"(Enterprise Edition, {a.licenses} licenses); by line: "
        f"{ {k: v for k, v in rec.calls.items() if v} }",
        file=sys.stderr,
    )
    print(f"# by endpoint: {by_endpoint}", file=sys.stderr)
    clocks.report(run, sandbox_rss, 45, "other threads")
    assert set(rec.calls) <= set(MINIMUM), rec.calls

    print(
        "| leads seeded | leads and contacts | seconds | per second | API requests | per 1,000 "
        "| share of a day's allowance | waiting for the sandbox | leadsync CPU |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    waited = clocks.waited()
    print(
        f"| {a.leads:,} | {people:,} | {seconds:.1f} | {people / seconds:.1f} | {requests:,} | {per_1k:.1f} "
        f"| {share:.2%} of {allowance:,} | {waited:.1f} s ({waited / seconds:.0%}) "
        f"| {cpu:.1f} s ({cpu / seconds:.0%}) |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
