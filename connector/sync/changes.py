"""From decisions to writes: what leadsync would change in the CRM for each contact, and why.

The CRM's current values come from the contact as read; for leadsync's own fields a CRM may not
hand back (score breakdown, SLA status and due time), from what leadsync last wrote.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leadsync.decision import Action, Decision, number
from leadsync.model import Contact
from leadsync.writable import FIELDS

__all__ = ["ContactPlan", "breakdown_text", "current_values", "desired_values"]

_OWN = tuple(f for f in FIELDS if f.own)


@dataclass
class ContactPlan:
    """One contact's decision and the writes and actions it leads to."""

    contact: Contact
    activities: list[dict[str, Any]]
    decision: Decision
    current: dict[str, Any]
    change: dict[str, Any]
    actions: list[Action] = field(default_factory=list)
    recheck_at: datetime | None = None


def breakdown_text(decision: Decision) -> str:
    """``demo +50; pricing_3x +30; decay -10`` (what reps see beside the score)."""
    return "; ".join(f"{rule} {number(points):+}" for rule, points in decision.breakdown)


def desired_values(decision: Decision) -> dict[str, Any]:
    """The value of each writable field that the decision asks for."""
    return {
        "stage": decision.stage,
        "disqualification_reason": decision.disqualification_reason,
        "owner_id": decision.owner_id,
        "score": number(decision.score),
        "score_breakdown": breakdown_text(decision),
        "sla_status": decision.sla.status,
        "sla_due_at": decision.sla.due_at,
        "mql_at": decision.mql_at,
        "sql_at": decision.sql_at,
        "assigned_at": decision.assigned_at,
    }


def current_values(contact: Contact, written: dict[str, tuple[Any, datetime]]) -> dict[str, Any]:
    """The CRM's values of the writable fields, as far as leadsync knows them."""
    values: dict[str, Any] = {
        "stage": contact.stage or "lead",
        # As the CRM holds it: a label or an alias differs from the code, which is written back.
        "disqualification_reason": contact.disqualification_reason,
        "owner_id": contact.owner_id,
        "score": contact.score,
        "mql_at": contact.mql_at,
        "sql_at": contact.sql_at,
        "assigned_at": contact.assigned_at,
    }
    for own in _OWN:
        if own.name in contact.properties:
            value = contact.properties[own.name]
        else:
            value = written.get(own.name, (None, None))[0]
        values[own.name] = own.kind.from_json(value)
    return values
