"""What leadsync knows of each contact between runs: its snapshot row in the state store.

A snapshot is the contact as the CRM last showed it, with leadsync's own writes applied once the
CRM confirmed them, plus leadsync's fields a CRM may not hand back (score breakdown, SLA). It
lets the sweep decide from state, and tells an echo (a contact read again only because leadsync
wrote to it) from news.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from leadsync.model import CONTACT_TIME_FIELDS, Activity, Contact
from leadsync.records import activity_from_json, contact_to_json
from leadsync.sync.changes import ContactPlan
from leadsync.sync.state import StateStore
from leadsync.timeutil import parse_iso_ts
from leadsync.writable import NUMBER, OWN_FIELDS, TIME

__all__ = ["apply_written", "comparable", "refresh_records", "snapshot_row", "stored_activity"]


def stored_activity(obj: dict[str, Any], known: frozenset[str]) -> Activity | None:
    """A stored activity; one whose type the rules no longer declare is left out."""
    return activity_from_json(obj, known) if obj.get("type") in known else None


def snapshot_row(connection: str, plan: ContactPlan, now: datetime) -> dict[str, Any]:
    """The contact's row of the contacts table (for ``StateStore.save_contacts``)."""
    c = plan.contact
    d = plan.decision
    return {
        "connection": connection,
        "contact_id": c.id,
        "record": contact_to_json(c),
        "activities": plan.activities,
        "read_at": now,
        "recheck_at": plan.recheck_at,
        "stage": d.stage,
        "sla_status": d.sla.status,
        "domain": c.domain,
        "created_at": c.created_at,
        "owner_id": d.owner_id,
        "assigned_at": d.assigned_at,
    }


def apply_written(s: Session, connection: str, written: dict[str, dict[str, Any]]) -> None:
    """Keep snapshots in step with what the CRM took from leadsync (per contact, the values).

    leadsync's own fields (``OWN_FIELDS``) go in the record's ``properties``. Contacts with no
    snapshot are left out.
    """
    records = StateStore.records_in(s, connection, list(written))
    for contact_id, record in records.items():
        record = dict(record)
        properties = dict(record.get("properties") or {})
        for name, value in written[contact_id].items():
            if name in OWN_FIELDS:
                properties[name] = value
            elif value is None:
                record.pop(name, None)
            else:
                record[name] = value
        record["properties"] = properties
        records[contact_id] = record
    StateStore.update_records(s, connection, records)


# Fields a CRM sets by itself when leadsync writes (HubSpot's "Became a ... date"), and precision
# it drops: neither makes a contact news.
_SELF_SET = ("stage_changed_at",)
_TIMES = tuple(t for t in ("created_at", *CONTACT_TIME_FIELDS) if t not in _SELF_SET)


def comparable(record: dict[str, Any]) -> dict[str, Any]:
    """A contact's JSON reduced to what tells news from an echo: times to the second, the score to
    6 places, empty values and leadsync's own and the CRM's self-set fields left out."""
    out = {k: v for k, v in record.items() if k not in _SELF_SET and v not in (None, "", {}, [])}
    for name in _TIMES:
        if isinstance(out.get(name), str):
            out[name] = TIME.key(parse_iso_ts(out[name]))
    if isinstance(out.get("score"), (int, float)):
        out["score"] = NUMBER.key(out["score"])
    props = {
        k: v for k, v in (out.pop("properties", None) or {}).items() if k not in OWN_FIELDS and v is not None
    }
    if props:
        out["properties"] = props
    return out


def refresh_records(s: Session, connection: str, contacts: Sequence[Contact], now: datetime) -> None:
    """Echoes' snapshots take the CRM's record as read (its own dates included), read at ``now``.

    What the CRM reports only at extra cost (``stage_changed_at``, see ``CrmAdapter.complete``)
    and did not report this time is kept from the snapshot.
    """
    stored = StateStore.records_in(s, connection, [c.id for c in contacts])
    fresh: dict[str, dict[str, Any]] = {}
    for contact in contacts:
        if contact.id not in stored:
            continue
        before = stored[contact.id]
        record = contact_to_json(contact)
        own = {k: v for k, v in (before.get("properties") or {}).items() if k in OWN_FIELDS}
        if own:
            record["properties"] = {**(record.get("properties") or {}), **own}
        if record.get("stage_changed_at") is None and before.get("stage_changed_at"):
            record["stage_changed_at"] = before["stage_changed_at"]
        fresh[contact.id] = record
    StateStore.update_records(s, connection, fresh, read_at=now)
