"""A contact's activities from HubSpot: engagements through associations, and contact properties.

For a list of contacts: one associations v4 batch read per engagement type (≤1000 contacts a
call, each contact's own ``after`` when it has more than a page), then batch reads of those
engagements (≤100 a call) — https://developers.hubspot.com/docs/api/crm/associations/associations-v4 .
Then what HubSpot keeps on the contact itself: the last page seen and the first and most recent
form conversions (https://knowledge.hubspot.com/properties/hubspots-default-contact-properties).
Contact reads ask for those properties too (``signal_properties``) and hand the records over
(``remember``), so contacts just read cost no second read; a contact not read that way (or read
long ago) is batch-read for them.

The calls of one read do not depend on each other beyond associations → engagements, so they
overlap (``Fanout``): the association reads of every type first, then every engagement and
contact batch read.

Activity ids are stable across reads: ``call:<call id>:<contact id>`` (an engagement logged on two
contacts is one touch for each), ``view:<contact>:<epoch ms>`` and ``conv:<contact>:<epoch ms>``
(the same conversion keeps its id when it stops being the most recent one).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from functools import partial
from typing import Any

import structlog

from leadsync.api import JSON, Activity, parse_crm_ts

from .client import HubSpotClient
from .convert import to_ms
from .fanout import Fanout
from .mapping import ActivityMap
from .paging import next_after
from .tasks import LEGACY_KEY, TASK_KEY

__all__ = ["ASSOC_BATCH", "READ_BATCH", "ActivityReader"]

ASSOC_BATCH = 1000
READ_BATCH = 100
REMEMBERED = 5_000  # contacts' signal properties kept between a contact read and the activity read
TASK_KEYS = (TASK_KEY, LEGACY_KEY)  # leadsync's own tasks carry one and are never activities
log = structlog.get_logger("leadsync.hubspot.activities")

_OWNER = "hubspot_owner_id"
_PROPERTIES = {
    "calls": (
        "hs_timestamp",
        "hs_call_disposition",
        "hs_call_duration",
        "hs_call_direction",
        "hs_call_status",
    ),
    "emails": ("hs_timestamp", "hs_email_direction", "hs_email_status"),
    "meetings": (
        "hs_timestamp",
        "hs_meeting_start_time",
        "hs_meeting_outcome",
        "hs_meeting_source",
        "hs_createdate",
    ),
    "notes": ("hs_timestamp",),
    "tasks": ("hs_timestamp", "hs_task_status", "hs_task_completion_date", *TASK_KEYS),
}
CONTACT_SIGNALS = (
    "hs_analytics_last_visit_timestamp",
    "hs_analytics_last_url",
    "first_conversion_event_name",
    "first_conversion_date",
    "recent_conversion_event_name",
    "recent_conversion_date",
)
_OUTGOING = {"EMAIL", "FORWARDED_EMAIL"}
_NOT_SENT = {"FAILED", "SCHEDULED", "SENDING"}
_NOT_HELD = {"CANCELED", "QUEUED"}
_NO_ANSWER_STATUS = {"NO_ANSWER", "BUSY"}


# (id prefix, activity type, at, properties, done by sales)
_Made = list[tuple[str, str, datetime, dict[str, Any], bool]]


def chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


class ActivityReader:
    """Reads every activity HubSpot exposes for some contacts, as canonical activities."""

    def __init__(self, client: HubSpotClient, activities: ActivityMap, fanout: Fanout | None = None) -> None:
        self.client = client
        self.map = activities
        self.fanout = fanout or Fanout(1)
        self._remembered: OrderedDict[str, JSON] = OrderedDict()
        self._lock = threading.Lock()  # contact reads remember (a reader thread), activity reads take

    def signal_properties(self) -> tuple[str, ...]:
        """The contact properties activities are made from (none when the mapping reads none)."""
        return (
            CONTACT_SIGNALS if self.map.page_view or self.map.conversion or self.map.conversion_rules else ()
        )

    def remember(self, records: Iterable[JSON]) -> None:
        """Contact records just read with ``signal_properties``: the next ``read`` uses them once."""
        if not self.signal_properties():
            return
        kept = {
            str(r.get("id")): {k: (r.get("properties") or {}).get(k) for k in CONTACT_SIGNALS}
            for r in records
        }
        with self._lock:
            for cid, props in kept.items():
                self._remembered.pop(cid, None)
                self._remembered[cid] = {"id": cid, "properties": props}
            while len(self._remembered) > REMEMBERED:
                self._remembered.popitem(last=False)

    def types(self) -> list[str]:
        """The engagement types the mapping turns into activities."""
        m = self.map
        wanted = {
            "calls": m.call,
            "emails": m.email_outgoing or m.email_incoming or m.email_bounced,
            "meetings": m.meeting or m.meeting_booked,
            "notes": m.note,
            "tasks": m.task,
        }
        return [t for t, on in wanted.items() if on]

    def read(self, contact_ids: Sequence[str]) -> list[Activity]:
        ids = list(dict.fromkeys(str(c) for c in contact_ids))
        contacts_of = self._linked(ids)
        reads: list[tuple[str | None, Callable[[], list[JSON]]]] = []  # (engagement type, the call)
        for kind, linked in contacts_of.items():
            props = (*_PROPERTIES[kind], _OWNER)
            for batch in chunks(sorted(linked, key=_sort_key), READ_BATCH):
                reads.append((kind, partial(self.client.batch_read, kind, batch, props)))
        signals: list[JSON] = []
        if self.signal_properties():
            with self._lock:
                signals = [r for r in (self._remembered.pop(c, None) for c in ids) if r is not None]
            known = {str(r.get("id")) for r in signals}
            for batch in chunks([c for c in ids if c not in known], READ_BATCH):
                reads.append((None, partial(self.client.batch_read, "contacts", batch, CONTACT_SIGNALS)))
        out: dict[str, Activity] = {}
        for (what, _), records in zip(reads, self.fanout.run(call for _, call in reads), strict=True):
            if what is None:
                signals += records
                continue
            for record in records:
                for activity in self.engagement(
                    what, record, contacts_of[what].get(str(record.get("id")), [])
                ):
                    out[activity.id] = activity
        for record in signals:
            for activity in self.signals(record):
                out[activity.id] = activity
        log.info("activities_read", contacts=len(ids), activities=len(out))
        return sorted(out.values(), key=lambda a: (a.at, a.id))

    def _linked(self, ids: list[str]) -> dict[str, dict[str, list[str]]]:
        """type → engagement id → the contacts it is associated with (one association read a type)."""
        pairs = [(kind, batch) for kind in self.types() for batch in chunks(ids, ASSOC_BATCH)]
        found = self.fanout.map(lambda pair: self.associations(*pair), pairs)
        contacts_of: dict[str, dict[str, list[str]]] = {kind: {} for kind in self.types()}
        for (kind, _), links in zip(pairs, found, strict=True):
            for contact, targets in links.items():
                for e in targets:
                    contacts_of[kind].setdefault(e, []).append(contact)
        return contacts_of

    def associations(self, kind: str, contact_ids: Sequence[str]) -> dict[str, list[str]]:
        """contact id → ids of its engagements of ``kind`` (every page of each contact)."""
        links: dict[str, list[str]] = {}
        for batch in chunks(contact_ids, ASSOC_BATCH):
            pending: list[tuple[str, str | None]] = [(c, None) for c in batch]
            seen_tokens: set[tuple[str, str]] = set()
            while pending:
                body = self.client.associations("contacts", kind, pending)
                pending = []
                for result in body.get("results") or []:
                    contact = str((result.get("from") or {}).get("id"))
                    targets = links.setdefault(contact, [])
                    targets.extend(str(t.get("toObjectId")) for t in result.get("to") or [])
                    token = next_after(result)
                    if token and (contact, token) not in seen_tokens:
                        seen_tokens.add((contact, token))
                        pending.append((contact, token))
                    elif token:
                        log.warning("paging_repeated_token", what=f"associations {kind}", contact=contact)
        return links

    # -- engagements ---------------------------------------------------------------------------

    def engagement(self, kind: str, record: JSON, contacts: Iterable[str]) -> list[Activity]:
        props: dict[str, Any] = record.get("properties") or {}
        eid = str(record.get("id"))
        owner = _text(props.get(_OWNER))
        made = {
            "calls": self._calls,
            "emails": self._emails,
            "meetings": self._meetings,
            "notes": self._notes,
            "tasks": self._tasks,
        }[kind](props)
        out = []
        for prefix, type_, at, extra, by_sales in made:
            for contact in contacts:
                out.append(
                    Activity(
                        id=f"{prefix}:{eid}:{contact}",
                        contact_id=contact,
                        type=type_,
                        at=at,
                        owner_id=owner if by_sales else None,
                        properties=extra,
                    )
                )
        return out

    def _calls(self, p: dict[str, Any]) -> _Made:
        at = parse_crm_ts(p.get("hs_timestamp"))
        status = p.get("hs_call_status") or ""
        if not self.map.call or at is None or status in _NOT_HELD:
            return []
        extra: dict[str, Any] = {}
        outcome = self.map.call_outcomes.get(str(p.get("hs_call_disposition") or ""))
        if outcome is None and status in _NO_ANSWER_STATUS:
            outcome = "no_answer"
        if outcome:
            extra["outcome"] = outcome
        duration = _float(p.get("hs_call_duration"))
        if duration is not None:
            extra["duration_s"] = round(duration / 1000, 3)
        if p.get("hs_call_direction"):
            extra["direction"] = str(p["hs_call_direction"]).lower()
        return [("call", self.map.call, at, extra, True)]

    def _emails(self, p: dict[str, Any]) -> _Made:
        at = parse_crm_ts(p.get("hs_timestamp"))
        direction = p.get("hs_email_direction") or ""
        status = p.get("hs_email_status") or ""
        if at is None:
            return []
        if direction == "INCOMING_EMAIL":
            return [("email", self.map.email_incoming, at, {}, False)] if self.map.email_incoming else []
        if direction not in _OUTGOING or status in _NOT_SENT:
            return []
        if status == "BOUNCED":
            return [("email", self.map.email_bounced, at, {}, False)] if self.map.email_bounced else []
        return [("email", self.map.email_outgoing, at, {}, True)] if self.map.email_outgoing else []

    def _meetings(self, p: dict[str, Any]) -> _Made:
        out: _Made = []
        at = parse_crm_ts(p.get("hs_meeting_start_time")) or parse_crm_ts(p.get("hs_timestamp"))
        outcome = p.get("hs_meeting_outcome") or ""
        if self.map.meeting and at is not None and outcome in self.map.meeting_outcomes:
            out.append(("meeting", self.map.meeting, at, {"outcome": outcome.lower()}, True))
        booked = parse_crm_ts(p.get("hs_createdate"))
        source = p.get("hs_meeting_source") or ""
        if self.map.meeting_booked and booked is not None and source in self.map.booked_sources:
            extra = {"meeting_at": at.isoformat()} if at else {}
            out.append(("meeting_booked", self.map.meeting_booked, booked, extra, False))
        return out

    def _notes(self, p: dict[str, Any]) -> _Made:
        at = parse_crm_ts(p.get("hs_timestamp"))
        return [("note", self.map.note, at, {}, True)] if self.map.note and at else []

    def _tasks(self, p: dict[str, Any]) -> _Made:
        if any(p.get(k) for k in TASK_KEYS):  # leadsync's own tasks are never activities
            return []
        at = parse_crm_ts(p.get("hs_task_completion_date")) or parse_crm_ts(p.get("hs_timestamp"))
        status = p.get("hs_task_status") or ""
        if not self.map.task or at is None or status not in self.map.task_statuses:
            return []
        return [("task", self.map.task, at, {}, True)]

    # -- what HubSpot keeps on the contact ----------------------------------------------------

    def signals(self, record: JSON) -> list[Activity]:
        """The last page seen, and the first and most recent conversions, of one contact."""
        p: dict[str, Any] = record.get("properties") or {}
        contact = str(record.get("id"))
        out: list[Activity] = []
        seen = parse_crm_ts(p.get("hs_analytics_last_visit_timestamp"))
        if self.map.page_view and seen is not None:
            extra = {"url": p["hs_analytics_last_url"]} if p.get("hs_analytics_last_url") else {}
            out.append(
                Activity(f"view:{contact}:{to_ms(seen)}", contact, self.map.page_view, seen, None, extra)
            )
        for which in ("recent", "first"):
            name = _text(p.get(f"{which}_conversion_event_name"))
            at = parse_crm_ts(p.get(f"{which}_conversion_date"))
            if at is None:
                continue
            kind = self.map.conversion_for(name or "")
            if kind is None:
                continue
            type_, extra = kind
            if name:
                extra["form"] = name
            activity = Activity(f"conv:{contact}:{to_ms(at)}", contact, type_, at, None, extra)
            if all(a.id != activity.id for a in out):
                out.append(activity)
        return out


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _float(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _sort_key(value: str) -> tuple[int, str]:
    return (int(value), "") if value.isdigit() else (0, value)
