"""The reference the Salesforce adapter's relationship query must equal, kept only for the tests.

The adapter reads people's activities and stage history with one query per object and chunk of
people (``people.PeopleReader``: Tasks, Events, CampaignMembers and Histories as subqueries). It
replaced "the old three-queries-and-history path", which is here: three flat SOQL queries per 300
people (``WhoId IN …`` for Tasks and Events, ``LeadId``/``ContactId IN …`` for responded
Campaign Members) and one ``LeadHistory``/``ContactHistory`` query for the stage. Both must give
the same canonical activities and stage times (tests/adapters/test_salesforce_people.py), and
this one runs where subqueries do not: simple-mockforce (tests_mockforce/).
"""

from __future__ import annotations

from collections.abc import Sequence

from leadsync.adapters.salesforce.activities import (
    EVENT_FIELDS,
    KEY_FIELD,
    MEMBER_FIELDS,
    TASK_FIELDS,
    ActivityReader,
)
from leadsync.adapters.salesforce.client import SalesforceClient
from leadsync.adapters.salesforce.convert import object_of
from leadsync.adapters.salesforce.history import History
from leadsync.adapters.salesforce.mapping import HISTORY
from leadsync.adapters.salesforce.reads import IN_CHUNK, soql_list
from leadsync.api import Activity, Contact

__all__ = ["flat_activities", "history_stage_dates"]


def flat_activities(
    client: SalesforceClient, reader: ActivityReader, contact_ids: Sequence[str], *, has_key: bool
) -> list[Activity]:
    """These people's activities by three flat queries per ``IN_CHUNK`` people, oldest first
    (``has_key``: Task has leadsync's key field, as after ``leadsync setup``)."""
    ids = list(dict.fromkeys(str(c) for c in contact_ids))
    out: dict[str, Activity] = {}
    m = reader.map
    for start in range(0, len(ids), IN_CHUNK):
        chunk = ids[start : start + IN_CHUNK]
        if m.call or m.email or m.task:
            task_fields = (*TASK_FIELDS, KEY_FIELD) if has_key else TASK_FIELDS
            soql = f"SELECT {', '.join(task_fields)} FROM Task WHERE WhoId IN {soql_list(chunk)}"
            _keep(out, [reader.task(r) for r in client.query(soql)])
        if m.meeting:
            soql = f"SELECT {', '.join(EVENT_FIELDS)} FROM Event WHERE WhoId IN {soql_list(chunk)}"
            _keep(out, [reader.event(r) for r in client.query(soql)])
        if m.reads_campaigns:
            leads = [c for c in chunk if c.startswith("00Q")]
            contacts = [c for c in chunk if c.startswith("003")]
            people = [f"LeadId IN {soql_list(leads)}"] if leads else []
            people += [f"ContactId IN {soql_list(contacts)}"] if contacts else []
            if people:
                soql = (
                    f"SELECT {', '.join(MEMBER_FIELDS)} FROM CampaignMember "
                    f"WHERE HasResponded = true AND ({' OR '.join(people)})"
                )
                _keep(out, [reader.member(r) for r in client.query(soql)])
    return sorted(out.values(), key=lambda a: (a.at, a.id))


def _keep(out: dict[str, Activity], activities: list[Activity | None]) -> None:
    for activity in activities:
        if activity is not None:
            out[activity.id] = activity


def history_stage_dates(history: History, contacts: list[Contact]) -> None:
    """``stage_changed_at`` from a field-history query, for objects whose stage is timed that way."""
    by_object: dict[str, list[Contact]] = {}
    for c in contacts:
        obj = object_of(c.id)
        if obj in history.mapping.objects and history.mapping.objects[obj].stage.changed_at == HISTORY:
            by_object.setdefault(str(obj), []).append(c)
    for obj, wanted in by_object.items():
        name = history.mapping.objects[obj].stage.field
        changed = history.changed(obj, [c.id for c in wanted], [name])
        for c in wanted:
            c.stage_changed_at = changed.get(c.id, {}).get(name) or c.stage_changed_at
