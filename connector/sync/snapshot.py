"""What leadsync knows of each contact between runs: its snapshot row in the state store.

A snapshot is the contact as the CRM last showed it, with leadsync's own writes applied once the
CRM confirmed them, plus leadsync's fields a CRM may not hand back (score breakdown, SLA). It
lets the sweep decide from state, and tells an echo (a contact read again only because leadsync
wrote to it) from news.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connector.model import Activity, Contact
from connector.records import activity_from_json, contact_to_json
from connector.sync.plan import ContactPlan
from connector.sync.schema import ContactRow
from connector.timeutil import parse_ts

__all__ = ["OWN_FIELDS", "apply_written", "comparable", "refresh_record", "snapshot_row", "stored_activity"]

OWN_FIELDS = ("score_breakdown", "sla_status", "sla_due_at")  # kept in a snapshot's properties


def stored_activity(obj: dict[str, Any], known: frozenset[str]) -> Activity | None:
    """A stored activity; one whose type the rules no longer declare is left out."""
    return activity_from_json(obj, known) if obj.get("type") in known else None


def snapshot_row(connection: str, plan: ContactPlan, now: datetime) -> ContactRow:
    c = plan.contact
    d = plan.decision
    return ContactRow(
        connection=connection,
        contact_id=c.id,
        record=contact_to_json(c),
        activities=plan.activities,
        read_at=now,
        recheck_at=plan.recheck_at,
        stage=d.stage,
        sla_status=d.sla.status,
        domain=c.domain,
        created_at=c.created_at,
        owner_id=d.owner_id,
        assigned_at=d.assigned_at,
    )


def apply_written(s: Any, connection: str, contact_id: str, values: dict[str, Any]) -> None:
    """What leadsync wrote is now what the CRM holds: keep the snapshot in step."""
    row = s.get(ContactRow, (connection, contact_id))
    if row is None:
        return
    record = dict(row.record)
    properties = dict(record.get("properties") or {})
    for name, value in values.items():
        if name in OWN_FIELDS:
            properties[name] = value
        elif value is None:
            record.pop(name, None)
        else:
            record[name] = value
    record["properties"] = properties
    row.record = record


# Fields a CRM sets by itself when leadsync writes (HubSpot's "Became a ... date"), and precision
# it drops: neither makes a contact news.
_SELF_SET = ("stage_changed_at",)
_TIMES = ("created_at", "mql_at", "sql_at", "assigned_at")


def comparable(record: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in record.items() if k not in _SELF_SET and v not in (None, "", {}, [])}
    for name in _TIMES:
        if isinstance(out.get(name), str):
            out[name] = int(parse_ts(out[name]).timestamp())
    if isinstance(out.get("score"), (int, float)):
        out["score"] = round(float(out["score"]), 6)
    props = {
        k: v for k, v in (out.pop("properties", None) or {}).items() if k not in OWN_FIELDS and v is not None
    }
    if props:
        out["properties"] = props
    return out


def refresh_record(s: Any, connection: str, contact: Contact) -> None:
    """An echo's snapshot takes the CRM's record as read (its own dates included)."""
    row = s.get(ContactRow, (connection, contact.id))
    if row is not None:
        record = contact_to_json(contact)
        own = {k: v for k, v in (row.record.get("properties") or {}).items() if k in OWN_FIELDS}
        if own:
            record["properties"] = {**(record.get("properties") or {}), **own}
        row.record = record
