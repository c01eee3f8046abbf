"""The activities and stage history of some leads and contacts: one relationship query per object.

One query per object and chunk of people carries everything the decision needs about them, as
parent-to-child subqueries (their children count toward the same 2,000-row batches)::

    SELECT Id,
      (SELECT <task fields> FROM Tasks WHERE Leadsync_Key__c = null),
      (SELECT <event fields> FROM Events),
      (SELECT <member fields> FROM CampaignMembers WHERE HasResponded = true),
      (SELECT CreatedDate FROM Histories WHERE Field = 'Status' ORDER BY CreatedDate DESC LIMIT 1)
    FROM Lead WHERE Id IN (…)

- **How many people a query**: as many as keep the GET's URI within ``URI_BUDGET`` (Salesforce
  answers 414 over 16,384 bytes, 431 with the headers; room is left for them): an Id costs 27
  bytes URL-encoded, so about 530 a query. The SOQL itself stays far below its 100,000-character
  limit (it is shorter than its encoding).
- **Paging**: the outer query pages by ``nextRecordsUrl``; a parent whose child list is long
  carries the first part with ``done: false`` and a ``nextRecordsUrl`` of its own, read before the
  outer query's next batch (which ends the child locators of the batch before).
- **Fields**: exactly those ``ActivityReader`` turns into canonical activities; leadsync's own
  tasks are left out by the filter once the key field exists (and by ``ActivityReader.task`` too).
- **History**: only for objects whose stage is timed from field history, the newest row of the
  stage field: ``stage_changed_at``. When the org says there is none for this user
  (``history.HISTORY_OFF``), the object's history is given up, as ``History.changed`` does, and
  the chunk read again without it.
- **Lost locators**: a child list's locator lost after a lost answer (``client.LocatorLost``)
  reads the whole chunk again (what it found is keyed by id), at most ``LOCATOR_RESTARTS`` times.

The tests keep the three flat queries per 300 people it replaced, as the reference it must equal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote_plus

import structlog

from leadsync.api import JSON, Activity, CrmError, parse_crm_ts

from .activities import EVENT_FIELDS, KEY_FIELD, MEMBER_FIELDS, TASK_FIELDS, ActivityReader
from .client import LOCATOR_RESTARTS, LocatorLost, SalesforceClient
from .convert import object_of
from .history import History, history_off
from .mapping import HISTORY, SalesforceMapping
from .reads import soql_list

__all__ = ["URI_BUDGET", "PeopleRead", "PeopleReader"]

URI_BUDGET = 16_384 - 1_024  # Salesforce's URI limit, less room for the request line's path and headers
_PATH = len("/services/data/v66.0/query/?q=") + 8  # the path before the query (a longer version too)
_SOQL_LIMIT = 100_000
log = structlog.get_logger("leadsync.salesforce.people")


@dataclass
class PeopleRead:
    """What one read found: every activity of these people, and when each one's stage last changed."""

    ids: frozenset[str]
    activities: list[Activity] = field(default_factory=list)
    stages: dict[str, datetime] = field(default_factory=dict)


class PeopleReader:
    """Reads people's activities (and stage history) with one relationship query per chunk."""

    def __init__(
        self,
        client: SalesforceClient,
        mapping: SalesforceMapping,
        activities: ActivityReader,
        history: History,
        has_key: Callable[[], bool],
    ) -> None:
        self.client = client
        self.mapping = mapping
        self.activities = activities
        self.history = history
        self.has_key = has_key

    def read(self, contact_ids: Sequence[str], *, stages: bool) -> PeopleRead:
        """Their activities; with ``stages``, also ``stage_changed_at`` from field history."""
        ids = list(dict.fromkeys(str(c) for c in contact_ids))
        found: dict[str, Activity] = {}
        out = PeopleRead(frozenset(ids))
        by_object: dict[str, list[str]] = {}
        for rid in ids:
            obj = object_of(rid)
            if obj is not None:
                by_object.setdefault(obj, []).append(rid)
        for obj, wanted in by_object.items():
            history = stages and self._stage_field(obj)
            for chunk in _chunks(self._head(obj, history or None), wanted):
                self._read_chunk(obj, chunk, history or None, found, out)
        out.activities = sorted(found.values(), key=lambda a: (a.at, a.id))
        log.info("activities_read", contacts=len(ids), activities=len(out.activities))
        return out

    def _stage_field(self, obj: str) -> str | None:
        """The field whose history times the stage of ``obj``, if it is timed that way and readable."""
        om = self.mapping.objects.get(obj)
        if om is None or om.stage.changed_at != HISTORY or obj in self.history.unavailable:
            return None
        return om.stage.field

    def _subqueries(self, history: str | None) -> list[str]:
        m = self.mapping.activities
        subs = []
        if m.call or m.email or m.task:
            own = f" WHERE {KEY_FIELD} = null" if self.has_key() else ""
            subs.append(f"(SELECT {', '.join(TASK_FIELDS)} FROM Tasks{own})")
        if m.meeting:
            subs.append(f"(SELECT {', '.join(EVENT_FIELDS)} FROM Events)")
        if m.reads_campaigns:
            members = ", ".join(MEMBER_FIELDS)
            subs.append(f"(SELECT {members} FROM CampaignMembers WHERE HasResponded = true)")
        if history:
            subs.append(
                f"(SELECT CreatedDate FROM Histories WHERE Field = {soql_list([history])[1:-1]} "
                "ORDER BY CreatedDate DESC LIMIT 1)"
            )
        return subs

    def _head(self, obj: str, history: str | None) -> str:
        """The query up to its Id list ('' when there is nothing to ask)."""
        subs = self._subqueries(history)
        return f"SELECT Id, {', '.join(subs)} FROM {obj} WHERE Id IN " if subs else ""

    def _read_chunk(
        self, obj: str, chunk: list[str], history: str | None, found: dict[str, Activity], out: PeopleRead
    ) -> None:
        soql = self._head(obj, history) + soql_list(chunk)
        for restart in range(LOCATOR_RESTARTS + 1):
            try:
                for page in self.client.query_pages(soql):
                    for record in page:
                        self._take(record, found, out)
                return
            except LocatorLost:
                if restart == LOCATOR_RESTARTS:
                    raise
                log.warning("salesforce_query_restarted", object=obj, reason="INVALID_QUERY_LOCATOR")
            except CrmError as exc:
                if not history or not history_off(obj, exc):
                    raise
                self.history.unavailable.add(obj)
                self._read_chunk(obj, chunk, None, found, out)
                return

    def _take(self, record: JSON, found: dict[str, Activity], out: PeopleRead) -> None:
        """One person's children, every page of each list read before the parent query moves on."""
        convert = {
            "Tasks": self.activities.task,
            "Events": self.activities.event,
            "CampaignMembers": self.activities.member,
        }
        for name, make in convert.items():
            for row in self._children(record, name):
                activity = make(row)
                if activity is not None:
                    found[activity.id] = activity
        newest = None
        for row in self._children(record, "Histories"):
            at = parse_crm_ts(row.get("CreatedDate"))
            newest = at if at is not None and (newest is None or at > newest) else newest
        if newest is not None:
            out.stages[str(record["Id"])] = newest

    def _children(self, record: JSON, name: str) -> Iterator[JSON]:
        result = record.get(name)
        if not result:
            return
        yield from result.get("records") or []
        for page in self.client.more_pages(result):
            yield from page


def _chunks(head: str, ids: list[str]) -> Iterator[list[str]]:
    """``ids`` in runs whose query (``head`` and the Id list) keeps the GET's URI within budget."""
    if not head:
        return
    room = URI_BUDGET - _PATH - len(quote_plus(head + "()"))
    comma = len(quote_plus(","))
    chunk: list[str] = []
    used = 0
    for rid in ids:
        cost = len(quote_plus(soql_list([rid])[1:-1])) + (comma if chunk else 0)
        if chunk and used + cost > room:
            yield chunk
            chunk, used, cost = [], 0, cost - comma
        chunk.append(rid)
        used += cost
    if chunk:
        assert len(head) + used < _SOQL_LIMIT  # the encoded URI is longer than the SOQL
        yield chunk
