"""A lead's or contact's activities from Salesforce: Tasks, Events and Campaign Members.

The adapter reads them with one relationship query per object and chunk of people
(``people.PeopleReader``); the records become canonical activities here. Through the mapping:

- a Task with ``TaskSubtype`` (or ``Type``) Call is a ``call``; its Call Result
  (``CallDisposition``, free text) gives ``outcome``; ``CallDurationInSeconds`` gives ``duration_s``;
- a Task with ``TaskSubtype`` Email is ``email_sent`` when its status is one the mapping lists;
  list emails (``ListEmail``) are marketing's and not touches;
- an Event is a ``meeting`` at its start;
- a responded Campaign Member is an activity chosen by the campaign's Type, at the first response;
- leadsync's own tasks (a ``Leadsync_Key__c``) are never activities.

With Shared Activities a Task can name several people; ``WhoId`` holds the primary one, and only
that one sees it here. Activity ids are the record's: ``task:<Id>``, ``event:<Id>``, ``cm:<Id>``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from leadsync.api import JSON, Activity, parse_crm_ts

from .convert import value_at
from .mapping import ActivityMap

__all__ = ["EVENT_FIELDS", "KEY_FIELD", "MEMBER_FIELDS", "TASK_FIELDS", "ActivityReader"]

KEY_FIELD = "Leadsync_Key__c"

TASK_FIELDS = (
    "Id", "WhoId", "OwnerId", "Subject", "Type", "TaskSubtype", "Status", "IsClosed", "ActivityDate",
    "CompletedDateTime", "CreatedDate", "CallDisposition", "CallType", "CallDurationInSeconds",
)  # fmt: skip
EVENT_FIELDS = (
    "Id",
    "WhoId",
    "OwnerId",
    "Subject",
    "Type",
    "StartDateTime",
    "ActivityDateTime",
    "CreatedDate",
)
MEMBER_FIELDS = (
    "Id", "LeadId", "ContactId", "Status", "HasResponded", "FirstRespondedDate", "CreatedDate",
    "Campaign.Name", "Campaign.Type",
)  # fmt: skip


class ActivityReader:
    """Turns Task, Event and Campaign Member records into canonical activities, through the mapping."""

    def __init__(self, activities: ActivityMap) -> None:
        self.map = activities

    def task(self, r: JSON) -> Activity | None:
        if r.get(KEY_FIELD):
            return None
        who = str(r.get("WhoId") or "")
        at = (
            parse_crm_ts(r.get("CompletedDateTime"))
            or _date(r.get("ActivityDate"))
            or parse_crm_ts(r.get("CreatedDate"))
        )
        if not who or at is None:
            return None
        subtype = str(r.get("TaskSubtype") or "")
        status = str(r.get("Status") or "")
        owner = str(r["OwnerId"]) if r.get("OwnerId") else None
        extra: dict[str, Any] = {}
        if subtype == "Call" or ((not subtype or subtype == "Task") and r.get("Type") == "Call"):
            if not self.map.call or not r.get("IsClosed", True):
                return None
            outcome = self.map.call_outcomes.get(str(r.get("CallDisposition") or "").strip().lower())
            if outcome:
                extra["outcome"] = outcome
            if r.get("CallDurationInSeconds") not in (None, ""):
                extra["duration_s"] = float(r["CallDurationInSeconds"])
            if r.get("CallType"):
                extra["direction"] = str(r["CallType"]).lower()
            return Activity(f"task:{r['Id']}", who, self.map.call, at, owner, extra)
        if subtype == "ListEmail":
            return None
        if subtype == "Email":
            if not self.map.email or status not in self.map.email_statuses:
                return None
            return Activity(f"task:{r['Id']}", who, self.map.email, at, owner, extra)
        if self.map.task and status in self.map.task_statuses:
            return Activity(f"task:{r['Id']}", who, self.map.task, at, owner, extra)
        return None

    def event(self, r: JSON) -> Activity | None:
        who = str(r.get("WhoId") or "")
        at = parse_crm_ts(r.get("StartDateTime")) or parse_crm_ts(r.get("ActivityDateTime"))
        if not who or at is None or not self.map.meeting:
            return None
        owner = str(r["OwnerId"]) if r.get("OwnerId") else None
        return Activity(f"event:{r['Id']}", who, self.map.meeting, at, owner, {})

    def member(self, r: JSON) -> Activity | None:
        who = str(r.get("LeadId") or r.get("ContactId") or "")
        if r.get("ContactId") and not str(r.get("LeadId") or "").startswith("00Q"):
            who = str(r["ContactId"])
        made = self.map.campaign(value_at(r, "Campaign.Type"), value_at(r, "Campaign.Name"))
        if not who or made is None or not r.get("HasResponded"):
            return None
        created = parse_crm_ts(r.get("CreatedDate"))
        first = _date(r.get("FirstRespondedDate"))
        # FirstRespondedDate is a date: when it is the day the member was added, the add's time is better.
        at = created if created and (first is None or created.date() == first.date()) else first
        if at is None:
            return None
        kind, props = made
        extra = (
            {**props, "campaign": value_at(r, "Campaign.Name")}
            if value_at(r, "Campaign.Name")
            else dict(props)
        )
        return Activity(f"cm:{r['Id']}", who, kind, at, None, extra)


def _date(value: Any) -> datetime | None:
    """A date field (``2026-11-21``) as midnight UTC: Salesforce keeps dates without a zone."""
    ts = parse_crm_ts(value)
    return ts.astimezone(UTC) if ts else None
