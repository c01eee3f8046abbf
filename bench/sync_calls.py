#!/usr/bin/env python3
"""HubSpot API calls of a sync per 1,000 changed contacts, against the minimum the batch endpoints allow.

    python bench/sync_calls.py [--contacts 2000] [--changed 1000] [--rules R.yaml] [--seed 1]

Seeds a local HubSpot sandbox (in this process, on 127.0.0.1, with its rate limits lifted: this
counts calls, it does not time them), runs ``leadsync setup`` against it, and then one ``SyncJob``
on a fresh SQLite state, four times, as the daemon would:

1. **backfill**: every contact is new to leadsync;
2. **no-op**: again, ``--interval`` seconds later (60 by the portal's clock: the daemon's
   ``every``, shortened; back to back, each run would read again what changed in the
   ``search_lag_s`` before the last one ended): nothing changed, so nothing may be written;
3. **incremental**: after a person edited ``--changed`` contacts in HubSpot (``jobtitle``: CEO
   becomes "Head of Sales", anything else becomes "CEO", so every edited contact's score moves);
4. **no-op** again, ``--interval`` later.

Each run's calls come from the sandbox's own request counts per endpoint (``stats()``). The
contact batch reads and batch updates serve several purposes on one endpoint, so the adapter's
client is wrapped to say which is which (its totals are checked against the sandbox's counts).
The minimum for each line is what HubSpot's batch endpoints allow for the contacts and
engagements that run had to read and the changes it had to write; see ``MINIMUM`` below.

Prints two Markdown tables on standard output: one row per run (calls per 1,000 changed contacts
and actual/minimum, for reads and writes), and the call breakdown by line for the backfill and the
incremental sync. Target: within 1.5x of the minimum; the no-op re-sync makes 0 write calls.
"""

from __future__ import annotations

import sys
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import benchkit as bk
import syncbench as sb
from benchkit import ceil

# line → (side, how the minimum is counted). N: contacts with news in the run; E_t: distinct
# engagements of type t associated with them; H: those whose stage needs its history;
# C: contacts whose decision changed; B: of those, the ones whose lifecycle stage moves back;
# T: tasks.
MINIMUM = {
    "search": ("read", "ceil(N/200): CRM search returns at most 200 contacts a page"),
    "associations": ("read", "ceil(N/1000) per engagement type read (calls, emails, meetings)"),
    "engagements": ("read", "ceil(E_t/100) per type: batch read takes 100 ids"),
    "signals": (
        "read",
        "0: the six contact properties behind page views and form conversions can come with the search page",
    ),
    "history": (
        "read",
        "ceil(H/50): nurture and disqualified have no 'became' date; batch read with history takes 50",
    ),
    "owners": ("read", "2: one page of active owners, one of deactivated ones (archived=true)"),
    "lifecycle": ("read", "1 per adapter, cached: the portal's lifecycle stage order"),
    "update": ("write", "ceil(C/100): batch update takes 100 contacts"),
    "clear": ("write", "ceil(B/100): HubSpot moves a stage forward only; back = clear, then set"),
    "verify": ("write", "ceil(B/100): read back the stage of backward moves HubSpot may drop"),
    "task_search": ("write", "0: the outbox already holds each task's key"),
    "task_create": ("write", "ceil(T/100): a batch create takes 100 tasks"),
}
LABELS = {
    "search": "contact search pages",
    "associations": "association batch reads",
    "engagements": "engagement batch reads",
    "signals": "contact batch reads: page view, conversions",
    "history": "contact batch reads: stage history",
    "owners": "owner pages",
    "lifecycle": "lifecycle stage definition",
    "update": "contact batch updates",
    "clear": "contact batch updates: clear stage first",
    "verify": "contact batch reads: stage read-back",
    "task_search": "task searches by action key",
    "task_create": "task batch creates",
}


@dataclass
class Recorder:
    """What the adapter did in one run, beyond what the sandbox's per-endpoint counts can tell."""

    calls: Counter[str] = field(default_factory=Counter)
    backward: set[str] = field(default_factory=set)
    news: set[str] = field(default_factory=set)  # contacts whose activities were read
    first_stage: dict[str, str | None] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)  # the adapter's calls overlap

    def reset(self) -> None:
        self.calls.clear()
        self.backward.clear()
        self.news.clear()
        self.first_stage.clear()

    def attach(self, adapter: Any) -> None:
        client = adapter.client
        lcs = adapter.mapping.lifecycle_property
        batch_read, batch_update = client.batch_read, client.batch_update
        stage_dates, read_activities = adapter._stage_dates_from_history, adapter.read_activities

        def read(
            object_type: str, ids: Sequence[str], properties: Sequence[str], history: Sequence[str] = ()
        ) -> Any:
            if object_type == "contacts":
                kind = "history" if history else "verify" if list(properties) == [lcs] else "signals"
                with self.lock:
                    self.calls[kind] += 1
            return batch_read(object_type, ids, properties, history)

        def update(object_type: str, inputs: Sequence[tuple[str, Any]]) -> Any:
            inputs = list(inputs)
            clears = bool(inputs) and all(dict(props) == {lcs: ""} for _, props in inputs)
            with self.lock:
                self.calls["clear" if clears else "update"] += 1
                if clears:
                    self.backward.update(cid for cid, _ in inputs)
            return batch_update(object_type, inputs)

        def stages(contacts: list[Any]) -> None:
            for c in contacts:
                self.first_stage.setdefault(c.id, c.stage)
            stage_dates(contacts)

        def activities(ids: Sequence[str]) -> Any:
            self.news.update(ids)
            return read_activities(ids)

        client.batch_read, client.batch_update = read, update
        adapter._stage_dates_from_history, adapter.read_activities = stages, activities


def _sum(stats: dict[str, int], endpoints: Iterable[str]) -> int:
    return sum(stats.get(e, 0) for e in endpoints)


def measure(name: str, job: Any, portal: Any, rec: Recorder) -> dict[str, Any]:
    """Run the job once; its calls per line, the minimum per line, and the run's counts."""
    from leadsync.adapters.hubspot.mapping import HISTORY

    adapter = job.adapter
    types = adapter._activities.types()
    portal.reset_stats()
    rec.reset()
    result = job.run()
    stats: dict[str, int] = portal.stats()["by_endpoint"]
    obj = "POST /crm/v3/objects/"
    actual = {
        "search": stats.get(obj + "contacts/search", 0),
        "associations": _sum(stats, [f"POST /crm/v4/associations/contacts/{t}/batch/read" for t in types]),
        "engagements": _sum(stats, [f"{obj}{t}/batch/read" for t in types]),
        "signals": rec.calls["signals"],
        "history": rec.calls["history"],
        "owners": stats.get("GET /crm/v3/owners/", 0),
        "lifecycle": stats.get("GET /crm/v3/properties/contacts/{name}", 0),
        "update": rec.calls["update"],
        "clear": rec.calls["clear"],
        "verify": rec.calls["verify"],
        "task_search": stats.get(obj + "tasks/search", 0),
        "task_create": stats.get(obj + "tasks/batch/create", 0) + stats.get(obj + "tasks", 0),
    }
    # The wrapped client must agree with the sandbox, and no endpoint may go uncounted.
    contact_reads = rec.calls["signals"] + rec.calls["history"] + rec.calls["verify"]
    assert contact_reads == stats.get(obj + "contacts/batch/read", 0), (contact_reads, stats)
    assert rec.calls["update"] + rec.calls["clear"] == stats.get(obj + "contacts/batch/update", 0)
    assert sum(actual.values()) == sum(stats.values()), stats

    store = portal.store
    n = len(rec.news)
    engagements = {
        t: len({e for cid in rec.news for e in store.links.get(int(cid), {}).get(t, [])}) for t in types
    }
    stages = adapter.mapping.stages
    history = sum(
        1
        for cid in rec.news
        if (s := rec.first_stage.get(cid)) and s in stages and stages[s].changed_at == HISTORY
    )
    c = result.counts
    changed, backward = c.get("contacts_changed", 0), len(rec.backward)
    tasks = c.get("tasks_created", 0) + c.get("tasks_found", 0)
    minimum = {
        "search": max(1, ceil(n, 200)),
        "associations": len(types) * ceil(n, 1000),
        "engagements": sum(ceil(e, 100) for e in engagements.values()),
        "signals": 0,
        "history": ceil(history, 50),
        "owners": 2,
        "lifecycle": min(1, actual["lifecycle"]),
        "update": ceil(changed, 100),
        "clear": ceil(backward, 100),
        "verify": ceil(backward, 100),
        "task_search": 0,
        "task_create": ceil(tasks, 100),
    }
    inputs = {"N": n, **{f"E_{t}": e for t, e in engagements.items()}, "H": history}
    inputs.update(C=changed, B=backward, T=tasks)
    print(f"# {name}: {dict(c)}", file=sys.stderr)
    print(f"#   inputs to the minimum: {inputs}", file=sys.stderr)
    return {
        "name": name,
        "actual": actual,
        "minimum": minimum,
        "n": n,
        "changed": changed,
        "counts": c,
        "inputs": inputs,
    }


def edit_contacts(portal: Any, count: int) -> list[str]:
    """A person edits ``count`` contacts, spread evenly over the portal, in HubSpot's UI."""
    ids = sorted(portal.contacts, key=int)
    step = max(1, len(ids) // max(1, count))
    chosen = ids[::step][:count]
    for cid in chosen:
        title = portal.contacts[cid].properties.get("jobtitle", "")
        portal.set_property(cid, "jobtitle", "Head of Sales" if title == "CEO" else "CEO")
    return chosen


def main(argv: list[str] | None = None) -> int:
    p = sb.parser(__doc__)
    sb.add_portal_args(p, 2000)
    p.add_argument("--changed", type=int, default=1000, help="contacts edited before run 3 (default 1000)")
    p.add_argument("--keep", action="store_true", help="keep the temporary state folder")
    p.add_argument(
        "--interval", type=float, default=60, help="seconds the portal's clock moves between runs (60)"
    )
    a = p.parse_args(argv)

    from leadsync.sandboxes.hubspot.sandbox import HubSpotSandbox, RateLimits
    from leadsync.sandboxes.kit.clock import SandboxClock

    sb.quiet_logs()
    rules = sb.resolve(a.rules)
    folder = sb.scratch("leadsync-bench-calls-", keep=a.keep)
    limits = RateLimits(**sb.UNLIMITED)
    now = sb.parse_now(a.now)
    clock = SandboxClock(now)
    with HubSpotSandbox(
        port=0, token=sb.TOKEN, seed=a.seed, contacts=a.contacts, now=now, limits=limits, clock=clock
    ) as portal:
        playbook = sb.prepare(portal.url, rules, folder)
        job = sb.make_job(portal.url, playbook, f"sqlite:///{folder}/state.db", portal.clock, fast=True)
        rec = Recorder()
        rec.attach(job.adapter)
        print(
            f"# {sb.machine()}; {a.contacts:,} contacts (seed {a.seed}), {rules.name}"
            + (f", state kept in {folder}" if a.keep else ""),
            file=sys.stderr,
        )
        runs = [measure("backfill", job, portal, rec)]
        clock.advance(a.interval)
        runs.append(measure("no-op re-sync", job, portal, rec))
        edited = edit_contacts(portal, a.changed)
        print(f"# a person edited the job title of {len(edited):,} contacts", file=sys.stderr)
        runs.append(measure("incremental", job, portal, rec))
        clock.advance(a.interval)
        runs.append(measure("no-op re-sync", job, portal, rec))
        job.store.close()

    bk.markdown_head(["sync", "contacts with news", "changed", "tasks", *bk.READS_WRITES])
    ok = True
    for run in runs:
        cells, met = bk.reads_writes(run, MINIMUM)
        i = run["inputs"]
        bk.markdown_row([run["name"], f"{run['n']:,}", f"{i['C']:,}", f"{i['T']:,}", *cells])
        ok = ok and met
    print()
    bk.print_breakdown([r for r in runs if r["n"]], MINIMUM, LABELS)
    print(
        f"# target (reads and writes within {bk.TARGET_RATIO}x of the minimum, no-op writes 0): "
        f"{'met' if ok else 'NOT met'}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
