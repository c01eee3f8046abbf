"""A lead's or contact's activities from Zoho: Calls, Events (Meetings), Tasks and Notes.

**How they are found.** Zoho links an activity to a lead through ``What_Id`` + ``$se_module:
Leads`` and to a contact through ``Who_Id`` (notes: ``Parent_Id``). For a batch of people, one
search a module per 50 people — ``GET /{module}/search?criteria=(What_Id:in:…)`` for the leads
and ``(Who_Id:in:…)`` for the contacts. When the run's people are many against the module's
records (a backfill), the module is instead listed whole once a run and indexed by person
(``activity_listing``: 200 a page, about a fifth of the searches' cost). Search results lag a
little behind the data, so activity records listed by the run's news pass (a listing, which does
not lag) are merged in: a call logged a moment ago is there. Search stops at 2,000 results; a
batch that reaches it is split in two and searched again. The searches of a batch overlap, at
most ``concurrency`` at once.

**What they become**, through the mapping: a completed Call of a listed ``Call_Type`` is a
``call`` (``Call_Result`` → ``outcome``, ``Call_Duration_in_seconds`` → ``duration_s``); an Event
is a ``meeting`` at its start (its ``Participants`` that are leads or contacts see it too); a Task
of a listed status, or a Note, is whatever type the mapping gives them (none by default).
leadsync's own tasks (a ``Leadsync_Key``) never count. Activity ids: ``call:<id>`` and so on.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import structlog

from leadsync.api import JSON, Activity, parse_crm_ts

from .activity_listing import ListingPlan, ModuleSizes, list_whole
from .client import ZohoClient
from .convert import lookup_id
from .mapping import ZohoMapping
from .paging import Capped, pages

__all__ = ["ACTIVITY_FIELDS", "KEY_FIELD", "SEARCH_CHUNK", "ActivityReader", "people_of"]

KEY_FIELD = "Leadsync_Key"
SEARCH_CHUNK = 50
_PREFIX = {"Calls": "call", "Events": "event", "Tasks": "task", "Notes": "note"}
_PARTICIPANT = {"lead": "Leads", "contact": "Contacts"}
_NOT_DONE = {"scheduled", "cancelled", "overdue"}
_LINKS = ("Modified_Time", "Created_Time", "Owner")  # `id` comes unasked
ACTIVITY_FIELDS: dict[str, tuple[str, ...]] = {
    "Calls": (*_LINKS, "What_Id", "Who_Id", "Subject", "Call_Type", "Call_Start_Time",
              "Call_Duration", "Call_Duration_in_seconds", "Call_Result", "Outgoing_Call_Status"),
    "Events": (*_LINKS, "What_Id", "Who_Id", "Event_Title", "Start_DateTime", "End_DateTime", "Participants"),
    "Tasks": (*_LINKS, "What_Id", "Who_Id", "Subject", "Status", "Due_Date", "Closed_Time"),
    "Notes": (*_LINKS, "Parent_Id", "Note_Title"),
}  # fmt: skip
log = structlog.get_logger("leadsync.zoho.activities")


def people_of(record: JSON, modules: Sequence[str]) -> list[tuple[str, str]]:
    """(id, module) of the mapped leads and contacts an activity record names."""
    out: list[tuple[str, str]] = []
    what = lookup_id(record.get("What_Id")) or lookup_id(record.get("Parent_Id"))
    if what and record.get("$se_module") in modules:
        out.append((what, str(record["$se_module"])))
    who = lookup_id(record.get("Who_Id"))
    if who and "Contacts" in modules:
        out.append((who, "Contacts"))
    for p in record.get("Participants") or []:
        kind = _PARTICIPANT.get(str(p.get("type")).lower()) if isinstance(p, dict) else None
        pid = lookup_id(p.get("participant")) if isinstance(p, dict) else None
        if kind in modules and pid:
            out.append((pid, str(kind)))
    return list(dict.fromkeys(out))


class ActivityReader:
    """Reads the activities of some leads and contacts, as canonical activities.

    Each activity module is searched per 50 people, or listed whole once a run when that is
    cheaper (``activity_listing``: a backfill); ``start`` begins a run.
    """

    def __init__(
        self,
        client: ZohoClient,
        mapping: ZohoMapping,
        fields: Callable[[str], list[str]],
        module_of: Callable[[Sequence[str]], dict[str, str]],
        sizes: ModuleSizes,
    ) -> None:
        self.client = client
        self.mapping = mapping
        self.map = mapping.activities
        self.fields = fields
        self.module_of = module_of
        self.listed: dict[str, dict[str, JSON]] = {}  # module → id → record, from the news pass
        self.plan = ListingPlan(sizes, list(mapping.modules))

    def start(self, *, full: bool) -> None:
        """A new run (``full``: every person will be decided): forget the last run's records."""
        self.listed = {}
        self.plan.start(full=full)

    def keep(self, module: str, record: JSON) -> None:
        self.listed.setdefault(module, {})[str(record.get("id"))] = record

    def read(self, contact_ids: Sequence[str]) -> list[Activity]:
        wanted = set(contact_ids)
        if not wanted:
            return []
        modules = self.module_of(list(wanted))
        leads = sorted(i for i, m in modules.items() if m == "Leads")
        contacts = sorted(i for i, m in modules.items() if m == "Contacts")
        jobs: list[tuple[str, str, list[str]]] = []
        whole: dict[str, list[str]] = {}  # module listed whole → the people it serves now
        for module in self.map.modules():
            chunks = _jobs(module, leads, contacts)
            if self.plan.lists(module, len(chunks)):
                self._list(module)
                index = self.plan.indexes[module]
                whole[module] = [i for i in (*leads, *contacts) if i not in index.served]
                again = set(leads + contacts) - set(whole[module])  # asked twice this run: search
                chunks = _jobs(module, [i for i in leads if i in again], [i for i in contacts if i in again])
            self.plan.count(module, len(chunks))
            jobs += chunks
        workers = max(1, min(self.client.concurrency, len(jobs)))
        with ThreadPoolExecutor(workers, thread_name_prefix="zoho-activities") as pool:
            # each search in a copy of the run's context, so its log lines name the connection and run
            futures = [
                pool.submit(contextvars.copy_context().run, self._search, m, k, ids) for m, k, ids in jobs
            ]
            found = [(job[0], future.result()) for job, future in zip(jobs, futures, strict=True)]
        records: dict[tuple[str, str], JSON] = {}
        for module, rows in found:
            for r in rows:
                records[(module, str(r.get("id")))] = r
        for module, listed in self.listed.items():
            for rid, r in listed.items():
                records[(module, rid)] = r
        out: dict[str, Activity] = {}
        for module, served in whole.items():
            for kept in self.plan.indexes[module].take(served):
                out[f"{kept.id}>{kept.contact_id}"] = kept
        skips = {module: set(served) for module, served in whole.items()}  # the listing is fresher
        people = list(self.mapping.modules)
        for (module, _), r in records.items():
            skip = skips.get(module, set())
            for who, _ in people_of(r, people):
                if who in wanted and who not in skip and (made := self.convert(module, r, who)) is not None:
                    out[f"{made.id}>{who}"] = made
        log.info(
            "activities_read",
            contacts=len(wanted),
            activities=len(out),
            searches=len(jobs),
            listed=sorted(whole),
        )
        return list(out.values())

    def _list(self, module: str) -> None:
        """List ``module`` whole, once a run (the first batch that makes it pay)."""
        if module in self.plan.indexes:
            return
        people = list(self.mapping.modules)
        index = list_whole(
            self.client,
            module,
            self.fields(module),
            lambda r: people_of(r, people),
            self.convert,
            self.listed.get(module, {}),
        )
        self.plan.indexes[module] = index
        self.plan.sizes.set(module, index.records)

    def _search(self, module: str, link: str, ids: list[str]) -> list[JSON]:
        params = {"criteria": f"({link}:in:{','.join(ids)})", "fields": ",".join(self.fields(module))}
        try:
            return [r for page in pages(self.client, f"/{module}/search", params, tokens=False) for r in page]
        except Capped:
            if len(ids) == 1:
                log.warning("zoho_activities_capped", module=module, contact=ids[0])
                return []
            half = len(ids) // 2
            return self._search(module, link, ids[:half]) + self._search(module, link, ids[half:])

    # -- one record -----------------------------------------------------------------------------

    def convert(self, module: str, r: JSON, who: str) -> Activity | None:
        owner = lookup_id(r.get("Owner"))
        rid = f"{_PREFIX[module]}:{r.get('id')}"
        if module == "Calls":
            return self.call(r, rid, who, owner)
        if module == "Events" and self.map.meeting:
            at = parse_crm_ts(r.get("Start_DateTime"))
            return Activity(rid, who, self.map.meeting, at, owner, {}) if at else None
        if module == "Tasks" and self.map.task and not r.get(KEY_FIELD):
            if str(r.get("Status") or "") not in self.map.task_statuses:
                return None
            at = parse_crm_ts(r.get("Closed_Time")) or parse_crm_ts(r.get("Modified_Time"))
            return Activity(rid, who, self.map.task, at, owner, {}) if at else None
        if module == "Notes" and self.map.note:
            at = parse_crm_ts(r.get("Created_Time"))
            return Activity(rid, who, self.map.note, at, owner, {}) if at else None
        return None

    def call(self, r: JSON, rid: str, who: str, owner: str | None) -> Activity | None:
        if not self.map.call or str(r.get("Call_Type") or "") not in self.map.call_types:
            return None
        if str(r.get("Outgoing_Call_Status") or "").lower() in _NOT_DONE:
            return None
        at: datetime | None = parse_crm_ts(r.get("Call_Start_Time")) or parse_crm_ts(r.get("Created_Time"))
        if at is None:
            return None
        extra: dict[str, Any] = {"call_type": r.get("Call_Type")}
        result = str(r.get("Call_Result") or "")
        if result.lower() in self.map.call_outcomes:
            extra["outcome"] = self.map.call_outcomes[result.lower()]
        duration = _seconds(r.get("Call_Duration_in_seconds"), r.get("Call_Duration"))
        if duration is not None:
            extra["duration_s"] = duration
        return Activity(rid, who, self.map.call, at, owner, extra)


def _jobs(module: str, leads: list[str], contacts: list[str]) -> list[tuple[str, str, list[str]]]:
    """The searches of one module for these people: 50 a search, per lookup."""
    if module == "Notes":
        return _chunks(module, "Parent_Id", leads + contacts)
    return _chunks(module, "What_Id", leads) + _chunks(module, "Who_Id", contacts)


def _chunks(module: str, link: str, ids: list[str]) -> list[tuple[str, str, list[str]]]:
    return [(module, link, ids[i : i + SEARCH_CHUNK]) for i in range(0, len(ids), SEARCH_CHUNK)]


def _seconds(seconds: Any, text: Any) -> int | None:
    """``Call_Duration_in_seconds``, else ``Call_Duration`` ("mm:ss")."""
    if isinstance(seconds, int | float) and not isinstance(seconds, bool):
        return int(seconds)
    parts = str(text or "").split(":")
    if len(parts) == 2 and all(p.strip().isdigit() for p in parts):
        return int(parts[0]) * 60 + int(parts[1])
    return None
