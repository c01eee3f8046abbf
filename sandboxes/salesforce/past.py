"""The demo org's past: ``leadsync.sandboxes.kit.history``'s plan written as Salesforce keeps it.

Written after ``leadsync setup`` (the ``Leadsync_*__c`` fields are leadsync's, created by setup).
Each planned lead is created at its time with its ``LeadSource``; its handoff sets ``Status``
"Marketing Qualified", ``Leadsync_MQL_At__c``, a rep as owner and ``Leadsync_Assigned_At__c``;
later steps are saves by that rep (field history keeps when): "Sales Qualified", "Nurture" or
"Closed - Not Converted" with ``Leadsync_Reason__c``; an opportunity is the lead converted to a
contact, a customer that contact with ``Leadsync_Stage__c`` customer. Each sales touch is a
completed call or e-mail Task on the lead, logged by its owner.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from leadsync.sandboxes.kit.history import Past, Source, Touch, past
from leadsync.sandboxes.kit.people import person
from leadsync.sandboxes.salesforce.backdoor import convert_lead
from leadsync.sandboxes.salesforce.data import Seeder
from leadsync.sandboxes.salesforce.store import Org, Record

__all__ = ["SOURCES", "write_past"]

SOURCES = [
    Source("Purchased List", 25, "empty"),
    Source("Advertisement", 18, "thin"),
    Source("Web", 25, "fair"),
    Source("Webinar", 12, "fair"),
    Source("Trade Show", 8, "good"),
    Source("Partner Referral", 7, "best"),
    Source("Employee Referral", 5, "best"),
]
_STATUS = {
    "mql": "Marketing Qualified",
    "sql": "Sales Qualified",
    "nurture": "Nurture",
    "disqualified": "Closed - Not Converted",
}


def write_past(org: Org, rng: random.Random, count: int, now: datetime) -> None:
    """Add ``count`` leads with the history ``kit.history.past`` plans for them."""
    seeder = Seeder(org, rng, now)
    seeder.reps = [
        u["Id"] for u in org.rows("User") if u["IsActive"] and u["Id"] not in (org.api_user, org.admin_user)
    ]
    seeder.queues = {g["Name"]: g["Id"] for g in org.rows("Group")}
    emails = {str(lead.get("Email")) for lead in org.rows("Lead")}
    for p in past(rng, count, now, SOURCES, len(seeder.reps)):
        lead = seeder.lead(person(rng, emails), "Open - Not Contacted", p.created_at)
        lead["LeadSource"] = p.source  # as created: no history row
        rep = seeder.reps[p.owner] if p.owner is not None else None
        for touch in p.touches:
            _touch(org, lead, touch, rep or org.admin_user)
        _steps(org, lead, p, rep)


def _steps(org: Org, lead: Record, p: Past, rep: str | None) -> None:
    contact: Record | None = None
    for at, stage in p.steps:
        at = at.replace(microsecond=0)
        by = rep or org.admin_user
        if stage == "opportunity":
            ids = convert_lead(org, lead, at=at, by=by)
            contact = org.get("Contact", ids["ContactId"])
            continue
        if stage == "customer" and contact is not None:
            org.save("Contact", contact, {"Leadsync_Stage__c": "customer"}, by, at)
            continue
        values: dict[str, Any] = {"Status": _STATUS[stage]}
        if stage == "mql":  # leadsync's handoff, written by its integration user
            values.update(Leadsync_MQL_At__c=at, OwnerId=rep, Leadsync_Assigned_At__c=at)
            by = org.api_user
        elif stage == "sql":
            values["Leadsync_SQL_At__c"] = at
        if stage == p.stage and p.reason is not None:
            values["Leadsync_Reason__c"] = p.reason
        org.save("Lead", lead, values, by, at)


def _touch(org: Org, lead: Record, touch: Touch, owner: str) -> None:
    at = touch.at.replace(microsecond=0)
    base: Record = {"WhoId": lead["Id"], "OwnerId": owner, "Status": "Completed", "ActivityDate": at.date()}
    if touch.kind == "call":
        base.update(
            Subject="Call",
            TaskSubtype="Call",
            Type="Call",
            CallDisposition="Connected" if touch.connected else "No Answer",
            CallType="Outbound",
            CallDurationInSeconds=420 if touch.connected else 15,
        )
    else:
        base.update(Subject="Email: Following up", TaskSubtype="Email", Type="Email")
    org.insert("Task", base, at=at, by=owner)
    lead["LastActivityDate"] = org.last_activity(lead["Id"], at + timedelta(seconds=1))
