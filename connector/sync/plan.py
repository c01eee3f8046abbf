"""From decisions to writes: what leadsync would change in the CRM for each contact, and why.

The CRM's current values come from the contact as read; for leadsync's own fields a CRM may not
hand back (score breakdown, SLA status and due time), from what leadsync last wrote.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leadsync.api import WRITABLE_FIELDS
from leadsync.decision import Action, Decision, number
from leadsync.model import Contact
from leadsync.rules.compiled import Rules
from leadsync.timeutil import parse_iso_ts as parse_ts

__all__ = ["ContactPlan", "current_values", "desired_values", "diff", "from_json_values", "to_json_values"]

_TIME_FIELDS = frozenset({"sla_due_at", "mql_at", "sql_at", "assigned_at"})
_OWN_FIELDS = ("score_breakdown", "sla_status", "sla_due_at")


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


def current_values(
    rules: Rules, contact: Contact, written: dict[str, tuple[Any, datetime]]
) -> dict[str, Any]:
    """The CRM's values of the writable fields, as far as leadsync knows them."""
    values: dict[str, Any] = {
        "stage": contact.stage or "lead",
        "disqualification_reason": rules.reason_code(contact.disqualification_reason)[0],
        "owner_id": contact.owner_id,
        "score": contact.score,
        "mql_at": contact.mql_at,
        "sql_at": contact.sql_at,
        "assigned_at": contact.assigned_at,
    }
    for name in _OWN_FIELDS:
        if name in contact.properties:
            value = contact.properties[name]
            values[name] = parse_ts(value) if name in _TIME_FIELDS and isinstance(value, str) else value
        else:
            value = written.get(name, (None, None))[0]
            values[name] = from_json_values({name: value})[name]
    return values


def _same(name: str, a: Any, b: Any) -> bool:
    if a in (None, "") and b in (None, ""):
        return True
    if a is None or b is None:
        return False
    if name in _TIME_FIELDS:
        # CRMs keep milliseconds or less: equal to the second is equal.
        return int(a.timestamp()) == int(b.timestamp())
    if name == "score":
        return bool(round(float(a), 6) == round(float(b), 6))
    return bool(a == b)


def diff(desired: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """The fields whose desired value differs from the CRM's."""
    return {n: desired[n] for n in WRITABLE_FIELDS if not _same(n, desired[n], current.get(n))}


def to_json_values(values: dict[str, Any]) -> dict[str, Any]:
    """Values as JSON (the outbox and the written table keep JSON)."""
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in values.items()}


def from_json_values(values: dict[str, Any]) -> dict[str, Any]:
    """Values back from JSON: the time fields as datetimes again."""
    return {
        k: parse_ts(v) if k in _TIME_FIELDS and isinstance(v, str) and v else v for k, v in values.items()
    }
