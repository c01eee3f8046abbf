"""The demo org's past: ``leadsync.sandboxes.kit.history``'s plan written as Zoho CRM keeps it.

Written after ``leadsync setup`` (the ``Leadsync_*`` fields are leadsync's, created by setup).
Each planned lead is created at its time with its ``Lead_Source``; its handoff sets
``Lead_Status`` "Marketing Qualified", ``Leadsync_MQL_At``, a rep as owner and
``Leadsync_Assigned_At``; later steps are the rep's edits: "Sales Qualified", "Contact in Future"
(nurture) or "Not Qualified" with ``Leadsync_Reason``; an opportunity is the lead converted to a
contact (``Leadsync_Stage`` opportunity, later customer). Zoho's sales touches are calls (the
mapping reads no e-mails): a touch the plan makes an e-mail is an outbound call nobody answered.
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import TYPE_CHECKING, Any

from leadsync.sandboxes.kit.history import Past, Source, Touch, past
from leadsync.sandboxes.kit.people import person
from leadsync.sandboxes.zoho.data import lead_values
from leadsync.sandboxes.zoho.store import Record

if TYPE_CHECKING:
    from leadsync.sandboxes.zoho.sandbox import ZohoSandbox

__all__ = ["SOURCES", "write_past"]

SOURCES = [
    Source("Advertisement", 25, "empty"),
    Source("Web Download", 22, "fair"),
    Source("Web Research", 15, "thin"),
    Source("External Referral", 10, "fair"),
    Source("Trade Show", 8, "good"),
    Source("Partner", 8, "best"),
    Source("Employee Referral", 6, "best"),
]
# What the demo's playbook (bant) maps as an alias, as a rep types it.
ALIASES = {"no_budget": "presupuesto"}
_STATUS = {
    "mql": "Marketing Qualified",
    "sql": "Sales Qualified",
    "nurture": "Contact in Future",
    "disqualified": "Not Qualified",
}


def write_past(sb: ZohoSandbox, rng: random.Random, count: int, now: datetime) -> None:
    """Add ``count`` leads with the history ``kit.history.past`` plans for them."""
    org = sb.org
    reps = [u["id"] for u in sb.users() if org.active(u["id"]) and u["id"] != org.api_user]
    emails = {str(r.get("Email")) for m in ("Leads", "Contacts") for r in org.records[m].values()}
    with org.lock:
        for p in past(rng, count, now, SOURCES, len(reps), ALIASES):
            rep = reps[p.owner] if p.owner is not None else org.api_user
            values = lead_values(person(rng, emails), rng, rep, ["Not Contacted"])
            values["Lead_Source"] = p.source
            lead = org.insert("Leads", values, org.api_user, p.created_at.replace(microsecond=0))
            for touch in p.touches:
                _call(sb, lead, touch, rep)
            _steps(sb, lead, p, rep)


def _steps(sb: ZohoSandbox, lead: Record, p: Past, rep: str) -> None:
    org = sb.org
    contact: Record | None = None
    for at, stage in p.steps:
        at = at.replace(microsecond=0)
        if stage in ("opportunity", "customer"):
            if contact is None:
                contact = org.records["Contacts"][sb.convert_lead(lead["id"], by=rep)]
                lead["Converted_Date_Time"] = at
                contact.update(Created_Time=at)
            org.save("Contacts", contact, {"Leadsync_Stage": stage}, rep, at)
            continue
        values: dict[str, Any] = {"Lead_Status": _STATUS[stage]}
        by = rep
        if stage == "mql":  # leadsync's handoff, written by its integration user
            values.update(Leadsync_MQL_At=at, Owner=rep, Leadsync_Assigned_At=at)
            by = org.api_user
        elif stage == "sql":
            values["Leadsync_SQL_At"] = at
        if stage == p.stage and p.reason is not None:
            values["Leadsync_Reason"] = p.reason
        org.save("Leads", lead, values, by, at)


def _call(sb: ZohoSandbox, lead: Record, touch: Touch, rep: str) -> None:
    at = touch.at.replace(microsecond=0)
    seconds = 420 if touch.connected else 20
    values = {
        "Subject": f"Call with {sb.org.display('Leads', lead)}",
        "Call_Type": "Outbound",
        "Call_Start_Time": at,
        "Call_Duration": f"{seconds // 60:02d}:{seconds % 60:02d}",
        "Call_Duration_in_seconds": seconds,
        "Call_Purpose": "Prospecting",
        "Call_Result": "Interested" if touch.connected else "No response/Busy",
        "Outgoing_Call_Status": "Completed",
        "Owner": rep,
        "What_Id": lead["id"],
        "$se_module": "Leads",
    }
    sb.org.insert("Calls", values, rep, at)
    lead["Last_Activity_Time"] = max(lead.get("Last_Activity_Time") or at, at)
