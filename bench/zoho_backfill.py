#!/usr/bin/env python3
"""A 20,000-lead Zoho CRM backfill against the sandbox's limits: time, requests, credits, what binds.

    python bench/zoho_backfill.py [--leads 20000] [--contacts N] [--users 10] [--concurrency N]
                                  [--no-pin]

Zoho has no per-second rate limit. It counts **API credits** over a rolling 24 hours per org (1 a
call, 1 per 10 records written; Enterprise: 50,000 + 1,000 per user licence) and caps the calls
**in flight** per org and app (Free 5, Standard 10, Professional 15, Enterprise 20, Ultimate 25),
both answered 429 ``TOO_MANY_REQUESTS``. So this reports the backfill's wall time, requests,
credits and their share of each edition's day (``--users`` licences, default 10), records/s, the
peak of calls in flight against the cap, and where the time went.

Starts the Zoho sandbox in its own process (127.0.0.1; it stands in for Zoho, so its CPU is not
the sync's) with its default limits (60,000 credits a day, an Enterprise org of 10 licences; 10
calls in flight), seeded with ``--leads`` leads (a few converted) and ``--contacts`` contacts (a
tenth of the leads unless given) and their calls, meetings, tasks and notes; runs ``leadsync
setup``; then times one ``SyncJob`` backfill on a fresh SQLite state with the adapter's defaults
(4 calls in flight; ``--concurrency`` changes it). With two CPUs or more the sandbox is pinned to
one and this process to another (``--no-pin`` leaves them to the scheduler).

Prints a Markdown row on standard output, and on standard error the progress, the requests and
credits by line, the people the run did not decide, and where the wall time went: waiting for the
sandbox (by line), this process's CPU in the HTTP client, the activity searches (on the adapter's
threads), the state store and the rest of the loop; and the sandbox's own CPU over the run.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from functools import partial
from typing import Any

import benchkit as bk
import syncbench as sb
import zohobench as zb
from sf_backfill import SfClocks
from zoho_calls import MINIMUM, classify


class ZohoClocks(SfClocks):
    """``SfClocks`` (buckets, the state store) around the Zoho client's ``_once`` (one HTTP request)."""

    def __init__(self) -> None:
        super().__init__(rec=None)  # type: ignore[arg-type]
        self.lines: Counter[str] = Counter()
        self.credits: Counter[str] = Counter()

    def attach_client(self, client: Any) -> None:
        once = client._once

        def timed_once(method: str, path: str, params: Any, body: Any, headers: Any, **kw: Any) -> Any:
            line, module = classify(method, path, params, headers)
            records = len(body.get("data") or []) if isinstance(body, dict) else 0
            t, c = time.perf_counter(), time.thread_time()
            try:
                return once(method, path, params, body, headers, **kw)
            finally:
                self.add_http(f"{line}: {module}", time.perf_counter() - t, time.thread_time() - c)
                with self._lock:
                    self.lines[line] += 1
                    self.credits[line] += max(1, -(-records // 10)) if method in ("PUT", "POST") else 1

        client._once = timed_once

    def attach_activities(self, adapter: Any) -> None:
        """The loop's wait for ``read_activities`` (its searches overlap on the adapter's threads)."""
        bucket = "activities (searches, on the adapter's threads)"
        adapter.read_activities = bk.timed(adapter.read_activities, partial(self._add, bucket))


def main(argv: list[str] | None = None) -> int:
    p = sb.parser(__doc__)
    zb.add_org_args(p, 20_000)
    p.add_argument("--users", type=int, default=10, help="user licences of the org assumed (default 10)")
    p.add_argument("--concurrency", type=int, help="the adapter's calls in flight (default: its own, 4)")
    p.add_argument("--no-pin", action="store_true", help="do not pin the two processes to a CPU each")
    p.add_argument("--every", type=int, default=2000, help="progress line every N people (2000)")
    a = p.parse_args(argv)

    from leadsync.api import RetryPolicy

    sb.quiet_logs()
    rules = sb.resolve(a.rules)
    folder = sb.scratch("leadsync-bench-zoho-backfill-", keep=a.keep)
    contacts = zb.contacts_of(a)
    t = time.perf_counter()
    with zb.ZohoSandboxProcess(leads=a.leads, contacts=contacts, seed=a.seed, now=a.now) as org:
        pinned = "not pinned" if a.no_pin else sb.pin(org.proc.pid)
        print(
            f"# {sb.machine()}; {a.leads:,} leads and {contacts:,} contacts (seed {a.seed}), {rules.name}, "
            f"batch_size {a.batch_size}; {pinned}; sandbox seeded in {time.perf_counter() - t:.1f} s; "
            f"its limits: {org.limits()}",
            file=sys.stderr,
        )
        leads = org._control("GET", "/__sandbox/records/Leads")
        people = sum(not r.get("Converted__s") for r in leads) + contacts
        del leads
        opts = zb.options(org.url, org.credentials, org.clock)
        playbook = zb.prepare(opts, rules, folder)
        org.reset_stats()
        credits0 = org.credits_used()
        clocks = ZohoClocks()
        progress = sb.Progress(a.every, "people", lambda: f"{clocks.count['calls']:,} requests")
        opts["retry"] = RetryPolicy(sleep=clocks.retry_sleep)
        if a.concurrency:
            opts["concurrency"] = a.concurrency
        state = f"sqlite:///{folder}/state.db"
        job = zb.make_job(opts, playbook, state, org.clock, batch_size=a.batch_size, progress=progress)
        clocks.attach(job)
        clocks.attach_activities(job.adapter)
        run = bk.timed_run(job, progress, org.proc.pid)
        result, seconds, cpu = run.result, run.seconds, run.cpu
        stats = org.stats()
        credits = org.credits_used() - credits0
        sandbox_rss = org.peak_rss_mib()
        cap = org.limits()["concurrency"]
        job.store.close()

    by_endpoint: dict[str, int] = stats["by_endpoint"]
    tokens = sum(n for e, n in by_endpoint.items() if "/oauth/" in e)
    requests = sum(by_endpoint.values()) - tokens
    c = result.counts
    read, decided = c.get("contacts_read", 0), c.get("contacts_decided", 0)
    peak = stats["credits"]["peak_in_flight"]
    limited = stats.get("rate_limited") or {}
    print(f"# run: {dict(c)}", file=sys.stderr)
    print(
        f"# people in the org (unconverted leads and contacts): {people:,}; decided: {decided:,}; "
        f"NOT decided: {people - decided:,}; records read: {read:,} "
        f"(echoes {c.get('echoes_skipped', 0):,})",
        file=sys.stderr,
    )
    print(
        f"# API requests: {requests:,} (plus {tokens} token mint); credits: {credits:,}; by line: "
        f"{dict(clocks.lines)}; credits by line: {dict(clocks.credits)}",
        file=sys.stderr,
    )
    mine = job.adapter.client.concurrency
    flight = f"peak {peak} (the adapter's cap {mine}, the org's {cap})"
    print(f"# calls in flight: {flight}; 429s: {limited or 'none'}", file=sys.stderr)
    shares = {e: zb.edition_credits(e, a.users) for e in zb.EDITIONS}
    print(
        "# share of a day's credits by edition ("
        + f"{a.users} licences): "
        + "; ".join(f"{e} {credits / n:.1%} of {n:,}" for e, n in shares.items()),
        file=sys.stderr,
    )
    clocks.report(run, sandbox_rss, 50, "adapter threads")
    assert set(clocks.lines) <= set(MINIMUM), clocks.lines

    enterprise = shares["Enterprise"]
    waited = clocks.waited()
    print(
        "| leads + contacts seeded | people | decided | seconds | people/s | requests | credits "
        "| share of an Enterprise day | peak in flight | waiting for the sandbox | leadsync CPU |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {a.leads:,} + {contacts:,} | {people:,} | {decided:,} | {seconds:.1f} | {decided / seconds:.0f} "
        f"| {requests:,} | {credits:,} | {credits / enterprise:.2%} of {enterprise:,} | {peak} of {cap} "
        f"| {waited:.1f} s | {cpu:.1f} s ({cpu / seconds:.0%}) |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
