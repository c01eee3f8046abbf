#!/usr/bin/env python3
"""Salesforce API calls of a sync per 1,000 changed leads, against the minimum Salesforce's API allows.

    python bench/sf_calls.py [--leads 2000] [--changed 1000] [--interval 300] [--batch-size 200]

Seeds a local Salesforce sandbox (in this process, on 127.0.0.1: this counts calls, it does not
time them), runs ``leadsync setup`` against it, and then one ``SyncJob`` (one adapter, as the
daemon keeps it) on a fresh SQLite state, four times:

1. **backfill**: every lead and contact is new to leadsync;
2. **no-op**: ``--interval`` seconds later (the org's clock is moved on; default 300, the
   daemon's ``every: 5m``): nothing changed, so nothing may be written;
3. **incremental**: after a person edited ``--changed`` leads and contacts in Salesforce
   (``Title``: CEO becomes "Head of Sales", anything else "CEO", so each one's score moves);
4. **no-op** again.

Each run's calls come from the sandbox's own request counts per endpoint (``stats()``); one
endpoint (``query``) serves most purposes, so the adapter's client is wrapped to say which query
is which, and its totals are checked against the sandbox's counts. Sign-in (OAuth token) is not an
API request in Salesforce's count and is shown apart. The minimum for each line is what
Salesforce's API allows for the records that run had to read and the changes it had to write; see
``MINIMUM`` below and bench/README.md.

Prints two Markdown tables on standard output: one row per run (calls per 1,000 leads with news
and actual/minimum, for reads and writes), and the breakdown by line for every run; on standard
error each run's counts, the inputs to the minimum and the rows each query line returned.
Target: within 1.5x of the minimum; a no-op re-sync makes 0 write calls.
"""

from __future__ import annotations

import re
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import benchkit as bk
import sfbench
import syncbench as sb
from benchkit import ceil

BATCH = 2000  # records in a SOQL query batch (Sforce-Query-Options batchSize: 200-2,000)
COLLECTION = 200  # records in one sObject Collections call
# Ids in one query's `Id IN (...)` list: a GET query's URI may hold 16,384 bytes (414 beyond, 431 with
# the headers); an 18-character Id quoted and comma-separated takes 27 bytes URL-encoded, so 500 Ids
# (13.5 KB) leave 2.9 KB for the SELECT, the rest of the URL and the headers.
IDS_PER_QUERY = 500
PEOPLE = {"00Q": "Lead", "003": "Contact"}

# line → (side, how the minimum is counted). R_o: records of object o (Lead, Contact) the run's
# SystemModstamp query returned; F_o: records read by Id (activity news whose record did not
# change); N_o: people of o whose activities were read (the contacts with news); A_o: the rows of
# their Tasks, Events and responded Campaign Members, H_o: their stage history rows; C: records
# written; T: tasks.
MINIMUM = {
    "records": (
        "read",
        "per object, max(1, ceil(R_o/2000)): a query batch holds 2,000 records (echoes share them)",
    ),
    "records_by_id": ("read", "per object, ceil(F_o/500): 500 Ids fit in a query's 16,384-byte URI"),
    "activities": (
        "read",
        "per object, max(ceil(N_o/500), ceil((N_o+A_o+H_o)/2000)): ONE query per 500 people, with "
        "Tasks, Events, CampaignMembers and Histories as parent-child subqueries (children count "
        "toward the 2,000-record batch)",
    ),
    "history": ("read", "0: a fourth subquery of the activities query (Histories, Field = the stage)"),
    "activity_news": (
        "read",
        "1 per object (Task, Event, CampaignMember) after the first run, more if over 2,000 changed",
    ),
    "deletions": ("read", "1 per object (Lead, Contact) per run, when a minute or more has passed"),
    "owners": ("read", "2: active and inactive Users, then lead Queues (owners.queues: true)"),
    "describe": ("read", "1 per object the adapter reads (Lead, Contact, Task), once per adapter"),
    "org_zone": ("read", "1 per adapter, when it first creates a task: the org's time zone"),
    "update": ("write", "ceil(C/200): PATCH composite/sobjects takes 200 records"),
    "task_create": ("write", "ceil(T/200): POST composite/sobjects creates 200 tasks"),
    "task_lookup": ("write", "0: tasks are looked up by their keys only after a crash"),
    "bulk": ("write", "0: more than bulk_threshold changes in one flush go through Bulk API 2.0"),
}
LABELS = {
    "records": "Lead/Contact by SystemModstamp (query + queryMore)",
    "records_by_id": "Lead/Contact by Id (activity news only)",
    "activities": "activities and stage history: Lead/Contact by Id with subqueries",
    "history": "stage history: LeadHistory, ContactHistory",
    "activity_news": "activity news: Task, Event, CampaignMember by SystemModstamp",
    "deletions": "deletions: sobjects/X/deleted",
    "owners": "owners: User, Group (queues)",
    "describe": "describe: Lead, Contact, Task",
    "org_zone": "Organization time zone",
    "update": "PATCH composite/sobjects",
    "task_create": "POST composite/sobjects (tasks)",
    "task_lookup": "Task by Leadsync_Key__c",
    "bulk": "Bulk API 2.0 requests",
}
_FROM = re.compile(r"\bFROM\s+(\w+)", re.IGNORECASE)


def classify(soql: str) -> tuple[str, str]:
    """(line, object) of a query the adapter sends."""
    if "(SELECT" in soql:  # people's activities and stage history as subqueries: the outer FROM
        return "activities", _FROM.findall(soql)[-1]
    obj = m.group(1) if (m := _FROM.search(soql)) else "?"
    if obj in ("User", "Group"):
        return "owners", obj
    if obj == "Organization":
        return "org_zone", obj
    if obj.endswith("History"):
        return "history", obj[: -len("History")]
    if obj in ("Task", "Event", "CampaignMember"):
        if "WHERE SystemModstamp" in soql:  # leaves leadsync's own tasks out: Leadsync_Key__c = null
            return "activity_news", obj
        if "WHERE Leadsync_Key__c" in soql:
            return "task_lookup", obj
        return "activities", obj
    if "WHERE Id IN" in soql:
        return "records_by_id", obj
    return "records", obj


def classify_call(what: str) -> str:
    """The line of a call that is not a query (``what`` as the client names it)."""
    if what.endswith("/describe"):
        return "describe"
    if "/deleted/" in what:
        return "deletions"
    if what == "PATCH composite/sobjects":
        return "update"
    if what in ("POST composite/sobjects", "POST sobjects/Task"):  # tasks: many a call, or one
        return "task_create"
    if what.startswith("bulk2"):
        return "bulk"
    return "other: " + what


CHILD_LISTS = ("Tasks", "Events", "CampaignMembers", "Histories")


def person(row: dict[str, Any]) -> str:
    """The lead or contact an activity or history row belongs to."""
    for key in ("WhoId", "LeadId", "ContactId"):
        value = str(row.get(key) or "")
        if value[:3] in PEOPLE:
            return value
    return ""


@dataclass
class Recorder:
    """What the adapter did in one run, beyond what the sandbox's per-endpoint counts can tell."""

    calls: Counter[str] = field(default_factory=Counter)  # line → HTTP requests
    rows: Counter[tuple[str, str]] = field(default_factory=Counter)  # (line, object) → records returned
    child_rows: Counter[str] = field(default_factory=Counter)  # person's object → activity/history rows
    news: set[str] = field(default_factory=set)  # people whose activities were read
    written: set[str] = field(default_factory=set)  # records sent in composite/sobjects updates
    described: set[str] = field(default_factory=set)  # objects described (over all runs)
    described_now: set[str] = field(default_factory=set)
    # The query line a thread is reading (pages may be read ahead on a thread of their own).
    local: threading.local = field(default_factory=threading.local)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def label(self) -> tuple[str, str] | None:
        label: tuple[str, str] | None = getattr(self.local, "label", None)
        return label

    def reset(self) -> None:
        self.calls.clear()
        self.rows.clear()
        self.child_rows.clear()
        self.news.clear()
        self.written.clear()
        self.described_now.clear()

    def _labelled(
        self, label: Callable[[], tuple[str, str] | None], inner: Iterator[list[dict[str, Any]]]
    ) -> Iterator[list[dict[str, Any]]]:
        """``inner``'s pages, each fetched with this thread's label set to ``label()`` (the
        requests that fetch it are that query line's), and set back after."""
        while True:
            outer, self.local.label = self.label, label()
            try:
                page = next(inner)
            except StopIteration:
                return
            finally:
                self.local.label = outer
            yield page

    def attach(self, adapter: Any) -> None:
        client = adapter.client
        once, query_pages, rest, more_pages = client._once, client.query_pages, client.rest, client.more_pages
        read_activities = adapter.read_activities

        def counted_once(what: str, fn: Any) -> Any:
            line = self.label[0] if self.label else classify_call(what)
            with self.lock:
                self.calls[line] += 1
            return once(what, fn)

        def labelled_pages(soql: str, **kwargs: Any) -> Iterator[list[dict[str, Any]]]:
            label = classify(soql)
            for page in self._labelled(lambda: label, query_pages(soql, **kwargs)):
                with self.lock:
                    self.rows[label] += len(page)
                    if label[0] in ("activities", "history"):
                        for row in page:
                            if "Id" in row and row["Id"][:3] in PEOPLE:  # a person, children inside
                                lists = [row.get(k) or {} for k in CHILD_LISTS]
                                self.child_rows[label[1]] += sum(x.get("totalSize", 0) for x in lists)
                            else:
                                self.child_rows[PEOPLE.get(person(row)[:3], "?")] += 1
                self.local.reading = label  # a long child list's pages are this query's calls
                yield page

        def labelled_more(result: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
            yield from self._labelled(lambda: getattr(self.local, "reading", None), more_pages(result))

        def recorded_rest(method: str, path: str, body: Any = None, headers: Any = None) -> Any:
            with self.lock:
                if method == "PATCH" and path == "composite/sobjects":
                    self.written.update(str(r["id"]) for r in body["records"])
                if path.endswith("/describe"):
                    obj = path.split("/")[1]
                    if obj not in self.described:
                        self.described_now.add(obj)
                    self.described.add(obj)
            return rest(method, path, body, headers)

        def recorded_activities(ids: Any) -> Any:
            with self.lock:
                self.news.update(ids)
            return read_activities(ids)

        client._once, client.query_pages, client.rest = counted_once, labelled_pages, recorded_rest
        client.more_pages = labelled_more
        adapter.read_activities = recorded_activities


def measure(name: str, job: Any, org: Any, rec: Recorder) -> dict[str, Any]:
    """Run the job once; its calls per line, the minimum per line, and the run's counts."""
    objects = list(job.adapter.mapping.objects)
    org.reset_stats()
    rec.reset()
    result = job.run()
    stats: dict[str, int] = org.stats()["by_endpoint"]
    logins = {e: n for e, n in stats.items() if "/oauth2/" in e or "/Soap/" in e}
    api = sum(stats.values()) - sum(logins.values())
    actual = {line: rec.calls[line] for line in MINIMUM}
    others = {line: n for line, n in rec.calls.items() if line not in MINIMUM}
    # The wrapped client must agree with the sandbox, and no request may go uncounted.
    assert not others, others
    assert sum(actual.values()) == api, (actual, stats)
    queries = stats.get("GET /services/data/vXX.X/query", 0) + stats.get(
        "GET /services/data/vXX.X/query/{locator}", 0
    )
    query_lines = ("records", "records_by_id", "activities", "history", "activity_news", "owners")
    assert queries == sum(actual[k] for k in (*query_lines, "org_zone", "task_lookup")), stats

    n = {o: sum(1 for cid in rec.news if PEOPLE.get(cid[:3]) == o) for o in objects}
    read = {o: rec.rows["records", o] for o in objects}
    by_id = {o: rec.rows["records_by_id", o] for o in objects}
    children = {o: rec.child_rows[o] for o in objects}
    news_rows = {o: rec.rows["activity_news", o] for o in ("Task", "Event", "CampaignMember")}
    c = result.counts
    tasks = c.get("tasks_created", 0) + c.get("tasks_found", 0)
    minimum = {
        "records": sum(max(1, ceil(read[o], BATCH)) for o in objects),
        "records_by_id": sum(ceil(by_id[o], IDS_PER_QUERY) for o in objects),
        "activities": sum(
            max(ceil(n[o], IDS_PER_QUERY), ceil(n[o] + children[o], BATCH)) for o in objects if n[o]
        ),
        "history": 0,
        "activity_news": sum(max(1, ceil(news_rows[o], BATCH)) for o in news_rows)
        if actual["activity_news"]
        else 0,
        "deletions": len(objects) if actual["deletions"] else 0,
        "owners": 2 if job.adapter.mapping.queues else 1,
        "describe": len(rec.described_now),
        "org_zone": min(1, actual["org_zone"]),
        "update": ceil(len(rec.written), COLLECTION),
        "task_create": ceil(tasks, COLLECTION),
        "task_lookup": 0,
        "bulk": 0,
    }
    # The same, with the adapter's old query shapes: a query per child object (Task, Event,
    # CampaignMember) and one for stage history, each per 500 Ids (the adapter sent 300).
    shaped = sum(4 * ceil(n[o], IDS_PER_QUERY) for o in objects)
    inputs = {
        **{f"R_{o}": read[o] for o in objects},
        **{f"F_{o}": by_id[o] for o in objects if by_id[o]},
        **{f"N_{o}": n[o] for o in objects},
        **{f"A+H_{o}": children[o] for o in objects},
        "C": len(rec.written),
        "T": tasks,
    }
    detail = {f"{line}:{o}": k for (line, o), k in sorted(rec.rows.items()) if line != "records"}
    print(f"# {name}: {dict(c)}", file=sys.stderr)
    print(f"#   inputs to the minimum: {inputs}", file=sys.stderr)
    print(f"#   calls by line: {dict(+rec.calls)}; OAuth sign-ins: {sum(logins.values())}", file=sys.stderr)
    print(f"#   rows returned by query line and object: {detail}", file=sys.stderr)
    floor = sum(v for k, v in minimum.items() if MINIMUM[k][0] == "read") - minimum["activities"] + shaped
    print(
        f"#   reads' floor with the old query shapes (Task, Event, CampaignMember and history "
        f"queries apart, {IDS_PER_QUERY} Ids each): {floor}",
        file=sys.stderr,
    )
    return {
        "name": name,
        "actual": actual,
        "minimum": minimum,
        "n": len(rec.news),
        "counts": c,
        "inputs": inputs,
        "logins": sum(logins.values()),
    }


def edit_people(org: Any, count: int) -> list[str]:
    """A person edits the title of ``count`` leads and contacts, spread evenly over the org."""
    people = [
        (otype, rid, rec.get("Title"))
        for otype in ("Lead", "Contact")
        for rid, rec in sorted(org.records(otype, deleted=False).items())
        if not rec.get("IsConverted")
    ]
    count = min(count, len(people))
    chosen = [people[i * len(people) // count] for i in range(count)] if count else []
    for otype, rid, title in chosen:
        org.set_field(otype, rid, "Title", "Head of Sales" if title == "CEO" else "CEO")
    return [rid for _, rid, _ in chosen]


def main(argv: list[str] | None = None) -> int:
    p = sb.parser(__doc__)
    sfbench.add_org_args(p, 2000)
    p.add_argument("--changed", type=int, default=1000, help="people edited before run 3 (default 1000)")
    p.add_argument(
        "--interval", type=float, default=300, help="seconds between runs on the org's clock (default 300)"
    )
    p.add_argument("--keep", action="store_true", help="keep the temporary state folder")
    a = p.parse_args(argv)

    from leadsync.sandboxes.salesforce.sandbox import Limits, SalesforceSandbox

    sb.quiet_logs()
    rules = sb.resolve(a.rules)
    folder = sb.scratch("leadsync-bench-sf-calls-", keep=a.keep)
    limits = Limits(daily_api_requests=sfbench.SANDBOX_DAILY)
    now = sb.parse_now(a.now)
    with SalesforceSandbox(port=0, seed=a.seed, leads=a.leads, now=now, limits=limits) as org:
        opts = sfbench.in_process_options(org)
        reps = [
            u["Id"] for u in org.users(active=True) if u["Id"] not in (org.org.api_user, org.org.admin_user)
        ]
        playbook = sfbench.prepare(opts, rules, reps, folder)
        job = sfbench.make_job(
            opts, playbook, f"sqlite:///{folder}/state.db", org.org.now, batch_size=a.batch_size
        )
        rec = Recorder()
        rec.attach(job.adapter)
        leads = sum(not r.get("IsConverted") for r in org.records("Lead", deleted=False).values())
        people = leads + len(org.records("Contact", deleted=False))
        print(
            f"# {sb.machine()}; {a.leads:,} leads seeded (seed {a.seed}; {people:,} unconverted leads and "
            f"contacts), {rules.name}, batch_size {a.batch_size}, runs "
            f"{a.interval:g} s apart" + (f", state kept in {folder}" if a.keep else ""),
            file=sys.stderr,
        )
        runs = [measure("backfill", job, org, rec)]
        org.advance(a.interval)
        runs.append(measure("no-op re-sync", job, org, rec))
        edited = edit_people(org, a.changed)
        print(f"# a person edited the title of {len(edited):,} leads and contacts", file=sys.stderr)
        org.advance(a.interval)
        runs.append(measure("incremental", job, org, rec))
        org.advance(a.interval)
        runs.append(measure("no-op re-sync", job, org, rec))
        job.store.close()

    bk.markdown_head(["sync", "leads/contacts with news", "changed", "tasks", *bk.READS_WRITES])
    ok = True
    for run in runs:
        # per 1,000 leads with news: "–" under 100 (a no-op's few overlap re-reads)
        cells, met = bk.reads_writes(run, MINIMUM, least=100)
        changed = run["counts"].get("contacts_changed", 0)
        bk.markdown_row([run["name"], f"{run['n']:,}", f"{changed:,}", f"{run['inputs']['T']:,}", *cells])
        ok = ok and met
    print()
    bk.print_breakdown(runs, MINIMUM, LABELS)
    print(f"# OAuth sign-ins (not API requests): {[r['logins'] for r in runs]}", file=sys.stderr)
    print(
        f"# target (reads and writes within {bk.TARGET_RATIO}x of the minimum, no-op writes 0): "
        f"{'met' if ok else 'NOT met'}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
