#!/usr/bin/env python3
"""Zoho CRM API calls of a sync per 1,000 changed leads, against the minimum Zoho's API allows.

    python bench/zoho_calls.py [--leads 2000] [--contacts 200] [--changed 1000] [--interval 300]

Seeds a local Zoho sandbox (in this process, on 127.0.0.1: this counts calls, it does not time
them; its daily credits are set out of reach and its concurrency cap to Zoho's highest, 25), runs
``leadsync setup`` against it, and then one ``SyncJob`` (one adapter, as the daemon keeps it) on
a fresh SQLite state, four times, ``--interval`` seconds apart on the org's clock:

1. **backfill**: every lead and contact is new to leadsync;
2. **no-op**: nothing changed, so nothing may be written;
3. **incremental**: after a person edited ``--changed`` leads and contacts in Zoho (the lead's
   ``Designation``, the contact's ``Title``: CEO becomes "Head of Sales", anything else "CEO", so
   each one's score moves);
4. **no-op** again.

Each run's calls are the sandbox's own request counts (``stats()``: every ``/crm/v8`` request;
the token endpoint is Zoho Accounts, not an API call, and is shown apart). The adapter's client is
wrapped to say which line each call serves, and its total is checked against the sandbox's. The
minimum for each line is what Zoho's API allows for what the run had to read and write (``MINIMUM``
below; bench/README.md explains each line). The people the run had to decide are known here (every
unconverted lead and contact in the backfill, the edited ones in the incremental): one the run
did not decide is **missed**, and counted in the minimum all the same.

Prints two Markdown tables on standard output: one row per run (calls per 1,000 people with news
and actual/minimum, for reads and writes, and the credits), and the breakdown by line; on standard
error each run's counts, the inputs to the minimum and the rows each line returned.
Target: within 1.5x of the minimum; a no-op re-sync makes 0 write calls.
"""

from __future__ import annotations

import sys
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import benchkit as bk
import syncbench as sb
import zohobench as zb
from benchkit import ceil

PAGE = 200  # records a list or search page holds (per_page at most 200)
WRITE = 100  # records an update (or insert) call takes
IDS = 100  # ids one `GET /{module}?ids=` takes
TASKS = 100  # records one `POST /Tasks` takes (the adapter's task_batch)
# Values one search's `(What_Id:in:...)` takes. The v8 search page documents 10 criteria a search
# but no bound on `in` values; COQL documents 50 for `in`, and the adapter sends 50. 50 is assumed.
IN_VALUES = 50
CREDITS_PER_WRITE = 10  # an insert or update costs 1 credit per 10 records
PEOPLE = ("Leads", "Contacts")
KEY_FIELD = "Leadsync_Key"

# line → (side, how the minimum is counted). R_m: records of module m new to the run that its
# list returned (echoes included: a listing by `If-Modified-Since` cannot leave leadsync's own
# writes out; records the adapter read before and skips again, as its overlap lists them twice,
# are not) plus the people it missed; F_m:
# people with activity news the list did not return; P: people whose activities had to be read;
# A: activity rows a search returned; M_t: records of activity module t in the org; C_m:
# records written; T: tasks.
MINIMUM = {
    "records": ("read", "per module, max(1, ceil(R_m/200)): a page holds 200 records"),
    "records_by_id": ("read", "per module, ceil(F_m/100): `ids` takes 100"),
    "activities": (
        "read",
        "per activity module t, the cheaper of: searches, ceil(P_leads/50) + ceil(P_contacts/50) "
        "(each at least ceil(A/200) pages; Notes: one Parent_Id search for both), or listing the "
        "whole module, ceil(M_t/200)",
    ),
    "activity_news": ("read", "per activity module, max(1, ceil(changed/200)), after the first run"),
    "sizes": (
        "read",
        "0: the adapter counts modules (`actions/count`, kept a day) to choose between searching and "
        "listing; the minimum is counted knowing the sizes",
    ),
    "deletions": ("read", "1 per module (Leads, Contacts) and run, after the first"),
    "owners": ("read", "1: `GET /users?type=AllUsers` (each user's status says whether active)"),
    "fields": ("read", "1 per module the adapter reads, once per adapter (`GET /settings/fields`)"),
    "org_zone": ("read", "1 per adapter, when it first creates a task: the org's time zone"),
    "update": ("write", "per module, ceil(C_m/100): `PUT /{module}` takes 100 records"),
    "task_create": ("write", "ceil(T/100): `POST /Tasks` inserts 100 tasks a call"),
    "task_lookup": ("write", "0: a task is searched by its key only when Zoho refuses it as a duplicate"),
}
LABELS = {
    "records": "Leads/Contacts listed by id (`GET /{module}?sort_by=id`)",
    "records_by_id": "Leads/Contacts by id (`GET /{module}?ids=`)",
    "activities": "activities: searched (`(What_Id:in:…)`, `(Who_Id:in:…)`) or listed whole",
    "sizes": "module sizes (`GET /{module}/actions/count`)",
    "activity_news": "activity news: Calls, Events, Tasks, Notes listed by id",
    "deletions": "deletions (`GET /{module}/deleted`)",
    "owners": "owners (`GET /users`)",
    "fields": "field metadata (`GET /settings/fields`)",
    "org_zone": "org time zone (`GET /org`)",
    "update": "`PUT /{module}` (update)",
    "task_create": "`POST /Tasks`",
    "task_lookup": "`GET /Tasks/search` by key",
}


def classify(method: str, path: str, params: Any, headers: Any = None) -> tuple[str, str]:
    """(line, module) of a call the adapter sends. An activity module listed without
    ``If-Modified-Since`` is listed whole for its activities; with it, for activity news."""
    params = params or {}
    parts = path.strip("/").split("/")
    head, tail = parts[0], (parts[1] if len(parts) > 1 else "")
    if head == "settings":
        return "fields", str(params.get("module", "?"))
    if head == "users":
        return "owners", "users"
    if head == "org":
        return "org_zone", "org"
    if tail == "deleted":
        return "deletions", head
    if tail == "actions":
        return "sizes", head
    if tail == "search":
        return ("task_lookup" if KEY_FIELD in str(params.get("criteria")) else "activities"), head
    if method == "PUT":
        return "update", head
    if method == "POST" and head == "Tasks":
        return "task_create", head
    if head in PEOPLE:
        return ("records_by_id" if "ids" in params else "records"), head
    if method == "GET" and not tail and "If-Modified-Since" not in (headers or {}):
        return "activities", head
    return "activity_news", head


def link_of(params: Any) -> str:
    """The lookup a search names: What_Id (leads), Who_Id (contacts) or Parent_Id (notes)."""
    criteria = str((params or {}).get("criteria") or "")
    return criteria.lstrip("(").split(":", 1)[0]


@dataclass
class Recorder:
    """What the adapter did in one run, beyond what the sandbox's per-endpoint counts tell."""

    calls: Counter[str] = field(default_factory=Counter)  # line → HTTP requests
    by_module: Counter[tuple[str, str]] = field(default_factory=Counter)
    returned: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    rows: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (line, module, link)
    written: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    tasks: set[str] = field(default_factory=set)
    news: set[str] = field(default_factory=set)  # people whose activities were read
    kept: set[str] = field(default_factory=set)  # records the adapter handed the loop (not skipped)
    described: set[str] = field(default_factory=set)  # over all runs
    described_now: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        for c in (self.calls, self.by_module, self.rows):
            c.clear()
        for d in (self.returned, self.written):
            d.clear()
        self.tasks.clear()
        self.news.clear()
        self.kept.clear()
        self.described_now.clear()

    def attach(self, adapter: Any) -> None:
        client = adapter.client
        once = client._once
        read_activities = adapter.read_activities

        def recorded_once(method: str, path: str, params: Any, body: Any, headers: Any, **kw: Any) -> Any:
            line, module = classify(method, path, params, headers)
            answer = once(method, path, params, body, headers, **kw)
            data = (answer.body or {}).get("data") if isinstance(answer.body, dict) else None
            records = [r for r in data or [] if isinstance(r, dict)]
            with self.lock:
                self.calls[line] += 1
                self.by_module[line, module] += 1
                if line in ("records", "records_by_id"):
                    self.returned[line, module].update(str(r.get("id")) for r in records)
                if line in ("activities", "activity_news"):
                    self.rows[line, module, link_of(params)] += len(records)
                if line == "update":
                    self.written[module].update(str(r["id"]) for r in body["data"])
                if line == "task_create":
                    self.tasks.update(str(r.get(KEY_FIELD)) for r in body["data"])
                if line == "fields" and module not in self.described:
                    self.described.add(module)
                    self.described_now.add(module)
            return answer

        def recorded_activities(ids: Any) -> Any:
            with self.lock:
                self.news.update(ids)
            return read_activities(ids)

        read_contacts = adapter.read_contacts

        def recorded_contacts(cursor: Any) -> Any:
            for page in read_contacts(cursor):
                with self.lock:
                    self.kept.update(c.id for c in page.records)
                    self.kept.update(page.moved)
                    self.kept.update(page.deleted)
                yield page

        client._once = recorded_once
        adapter.read_activities = recorded_activities
        adapter.read_contacts = recorded_contacts


def people(org: Any) -> dict[str, str]:
    """id → module of every unconverted lead and every contact in the org."""
    out = {rid: "Leads" for rid, r in org.records("Leads").items() if not r.get("Converted__s")}
    out.update(dict.fromkeys(org.records("Contacts"), "Contacts"))
    return out


def measure(name: str, job: Any, org: Any, rec: Recorder, expected: dict[str, str]) -> dict[str, Any]:
    """Run the job once; its calls per line, the minimum per line, and the run's counts.

    ``expected``: id → module of the people this run must decide (the rest may come as echoes).
    """
    credits0 = org.stats()["credits"]["used"]
    org.reset_stats()
    rec.reset()
    result = job.run()
    stats = org.stats()
    by_endpoint: dict[str, int] = stats["by_endpoint"]
    tokens = sum(n for e, n in by_endpoint.items() if "/oauth/" in e)
    api = sum(by_endpoint.values()) - tokens
    credits = stats["credits"]["used"] - credits0
    actual = {line: rec.calls[line] for line in MINIMUM}
    others = {line: n for line, n in rec.calls.items() if line not in MINIMUM}
    assert not others, others
    assert sum(actual.values()) == api, (actual, by_endpoint)

    where = people(org)
    missed = {cid: m for cid, m in expected.items() if cid not in rec.news}
    must = {cid: where.get(cid) or expected.get(cid) or "Leads" for cid in rec.news} | missed
    n_mod = {m: sum(1 for v in must.values() if v == m) for m in PEOPLE}
    returned = {m: rec.returned["records", m] for m in PEOPLE}
    # What the list had to return: the records new to this run (the adapter skips those it read
    # before and lists again: its listing reaches back OVERLAP, 5 minutes), and the missed.
    listed = {m: len(returned[m] & rec.kept) + sum(1 for v in missed.values() if v == m) for m in PEOPLE}
    # Activity news whose person the list did not return is read by id (the missed are the list's).
    by_id = {m: sum(1 for c in rec.news if must[c] == m and c not in returned[m]) for m in PEOPLE}
    activity_modules = list(job.adapter.mapping.activities.modules())
    act_min: dict[str, tuple[int, str]] = {}
    for t in activity_modules:
        if not must:
            act_min[t] = (0, "-")
            continue
        rows = {link: rec.rows["activities", t, link] for link in ("What_Id", "Who_Id", "Parent_Id")}
        if t == "Notes":
            search = max(ceil(n_mod["Leads"] + n_mod["Contacts"], IN_VALUES), ceil(rows["Parent_Id"], PAGE))
        else:
            search = max(ceil(n_mod["Leads"], IN_VALUES), ceil(rows["What_Id"], PAGE)) + max(
                ceil(n_mod["Contacts"], IN_VALUES), ceil(rows["Who_Id"], PAGE)
            )
        listing = max(1, ceil(len(org.records(t)), PAGE))
        act_min[t] = (search, "search") if search <= listing else (listing, "listing")
    news_rows = {t: rec.rows["activity_news", t, ""] for t in activity_modules}
    c_mod = {m: len(rec.written[m]) for m in PEOPLE}
    tasks = len(rec.tasks)
    minimum = {
        "records": sum(max(1, ceil(listed[m], PAGE)) for m in PEOPLE),
        "records_by_id": sum(ceil(by_id[m], IDS) for m in PEOPLE),
        "activities": sum(v for v, _ in act_min.values()),
        "activity_news": sum(max(1, ceil(news_rows[t], PAGE)) for t in activity_modules)
        if actual["activity_news"]
        else 0,
        "sizes": 0,
        "deletions": len(PEOPLE) if actual["deletions"] else 0,
        "owners": 1,
        "fields": len(rec.described_now),
        "org_zone": min(1, actual["org_zone"]),
        "update": sum(ceil(c_mod[m], WRITE) for m in PEOPLE),
        "task_create": ceil(tasks, TASKS),
        "task_lookup": 0,
    }
    reads_min = sum(v for k, v in minimum.items() if MINIMUM[k][0] == "read")
    written = sum(ceil(c_mod[m], CREDITS_PER_WRITE) for m in PEOPLE) + ceil(tasks, CREDITS_PER_WRITE)
    credits_min = reads_min + written
    c = result.counts
    inputs = {
        **{f"R_{m}": listed[m] for m in PEOPLE},
        **{f"F_{m}": by_id[m] for m in PEOPLE if by_id[m]},
        **{f"P_{m}": n_mod[m] for m in PEOPLE},
        **{f"C_{m}": c_mod[m] for m in PEOPLE},
        "T": tasks,
    }
    detail = {f"{line}:{m}:{k}": v for (line, m, k), v in sorted(rec.rows.items())}
    print(f"# {name}: {dict(c)}", file=sys.stderr)
    print(
        f"#   inputs to the minimum: {inputs}; missed: {len(missed):,} of {len(expected):,}", file=sys.stderr
    )
    print(f"#   activities' minimum per module: {act_min}", file=sys.stderr)
    print(f"#   calls by line and module: {dict(+rec.by_module)}; token mints: {tokens}", file=sys.stderr)
    print(f"#   activity rows by line, module and lookup: {detail}", file=sys.stderr)
    print(f"#   credits: {credits:,} (minimum {credits_min:,})", file=sys.stderr)
    return {
        "name": name,
        "actual": actual,
        "minimum": minimum,
        "n": len(must),
        "decided": len(rec.news),
        "missed": len(missed),
        "counts": c,
        "inputs": inputs,
        "credits": credits,
        "credits_min": credits_min,
        "act_min": act_min,
    }


def edit_people(org: Any, count: int) -> dict[str, str]:
    """A person edits the job title of ``count`` leads and contacts, spread evenly over the org."""
    title = {"Leads": "Designation", "Contacts": "Title"}
    everyone = sorted(people(org).items(), key=lambda kv: (kv[1] != "Leads", kv[0]))
    count = min(count, len(everyone))
    chosen = [everyone[i * len(everyone) // count] for i in range(count)] if count else []
    for rid, module in chosen:
        old = org.record(module, rid).get(title[module])
        org.touch(module, rid, {title[module]: "Head of Sales" if old == "CEO" else "CEO"})
    return dict(chosen)


def print_tables(runs: list[dict[str, Any]]) -> bool:
    head = ["sync", "people with news", "decided", "missed", "changed", "tasks", *bk.READS_WRITES]
    bk.markdown_head([*head, "credits", "minimum"])
    ok = True
    for run in runs:
        # per 1,000 people with news: "–" under 100 (a no-op's few)
        cells, met = bk.reads_writes(run, MINIMUM, least=100)
        changed = run["counts"].get("contacts_changed", 0)
        row = [run["name"], f"{run['n']:,}", f"{run['decided']:,}", f"{run['missed']:,}", f"{changed:,}"]
        row += [f"{run['inputs']['T']:,}", *cells, f"{run['credits']:,}", f"{run['credits_min']:,}"]
        bk.markdown_row(row)
        ok = ok and met and not run["missed"]
    print()
    bk.print_breakdown(runs, MINIMUM, LABELS, rules=False)
    return ok


def main(argv: list[str] | None = None) -> int:
    p = sb.parser(__doc__)
    zb.add_org_args(p, 2000)
    p.add_argument("--changed", type=int, default=1000, help="people edited before run 3 (default 1000)")
    p.add_argument(
        "--interval", type=float, default=300, help="seconds between runs on the org's clock (default 300)"
    )
    a = p.parse_args(argv)

    from leadsync.sandboxes.zoho.sandbox import Limits, ZohoSandbox

    sb.quiet_logs()
    rules = sb.resolve(a.rules)
    folder = sb.scratch("leadsync-bench-zoho-calls-", keep=a.keep)
    limits = Limits(daily_credits=10**9, concurrency=25)
    contacts = zb.contacts_of(a)
    now = sb.parse_now(a.now)
    with ZohoSandbox(port=0, seed=a.seed, leads=a.leads, contacts=contacts, now=now, limits=limits) as org:
        opts = zb.in_process_options(org)
        playbook = zb.prepare(opts, rules, folder)
        job = zb.make_job(opts, playbook, f"sqlite:///{folder}/state.db", org.clock, batch_size=a.batch_size)
        rec = Recorder()
        rec.attach(job.adapter)
        everyone = people(org)
        print(
            f"# {sb.machine()}; {a.leads:,} leads and {contacts:,} contacts seeded (seed {a.seed}; "
            f"{len(everyone):,} unconverted leads and contacts), {rules.name}, batch_size {a.batch_size}, "
            f"runs {a.interval:g} s apart" + (f", state kept in {folder}" if a.keep else ""),
            file=sys.stderr,
        )
        runs = [measure("backfill", job, org, rec, everyone)]
        org.advance(a.interval)
        runs.append(measure("no-op re-sync", job, org, rec, {}))
        edited = edit_people(org, a.changed)
        print(f"# a person edited the title of {len(edited):,} leads and contacts", file=sys.stderr)
        org.advance(a.interval)
        runs.append(measure("incremental", job, org, rec, edited))
        org.advance(a.interval)
        runs.append(measure("no-op re-sync", job, org, rec, {}))
        job.store.close()

    ok = print_tables(runs)
    print(
        f"# target (reads and writes within {bk.TARGET_RATIO}x of the minimum, nobody missed, no-op writes "
        f"0): {'met' if ok else 'NOT met'}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
