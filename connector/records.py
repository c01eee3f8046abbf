"""Canonical records as JSON objects and back: how the state store keeps them, and tests build them.

``*_to_json`` writes a record as the JSON object its ``*_from_json`` reads back, timestamps kept
exact. Reading validates each object with the parsers of JSON Lines input (``leadsync.jsonl``),
so a stored or hand-built record is held to the same rules as a line of a file; a problem is
raised as a ``RecordsError`` naming the kind of record (line 0).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from leadsync.errors import Problem, RecordsError
from leadsync.jsonl import BadRecord, activity_parser, parse_contact, parse_owner
from leadsync.model import CONTACT_TEXT_FIELDS, CONTACT_TIME_FIELDS, Activity, Contact, Owner

__all__ = [
    "activity_from_json",
    "activity_to_json",
    "contact_from_json",
    "contact_to_json",
    "owner_from_json",
    "owner_to_json",
]

T = TypeVar("T")


def _one(parse: Callable[[dict[str, Any]], T], obj: dict[str, Any], what: str) -> T:
    try:
        return parse(obj)
    except BadRecord as exc:
        raise RecordsError([Problem(what, 0, str(exc))]) from None


def contact_from_json(obj: dict[str, Any]) -> Contact:
    """One contact from its JSON object (as an adapter or a test builds it)."""
    return _one(parse_contact, obj, "contact")


def owner_from_json(obj: dict[str, Any]) -> Owner:
    """One owner from its JSON object."""
    return _one(parse_owner, obj, "owner")


def activity_from_json(obj: dict[str, Any], known_types: frozenset[str]) -> Activity:
    """One activity from its JSON object."""
    return _one(activity_parser(known_types), obj, "activity")


def _iso(ts: datetime | None) -> str | None:
    return None if ts is None else ts.isoformat()


def contact_to_json(contact: Contact) -> dict[str, Any]:
    """A contact as the JSON object ``contact_from_json`` reads back (timestamps kept exact)."""
    out: dict[str, Any] = {"id": contact.id, "created_at": _iso(contact.created_at)}
    for name in (*CONTACT_TEXT_FIELDS, "employees", "stage", "score"):
        value = getattr(contact, name)
        if value is not None:
            out[name] = value
    for name in CONTACT_TIME_FIELDS:
        value = getattr(contact, name)
        if value is not None:
            out[name] = _iso(value)
    if contact.properties:
        out["properties"] = contact.properties
    return out


def activity_to_json(activity: Activity) -> dict[str, Any]:
    """An activity as the JSON object ``activity_from_json`` reads back."""
    out: dict[str, Any] = {
        "id": activity.id,
        "contact_id": activity.contact_id,
        "type": activity.type,
        "at": _iso(activity.at),
    }
    if activity.owner_id is not None:
        out["owner_id"] = activity.owner_id
    if activity.properties:
        out["properties"] = activity.properties
    return out


def owner_to_json(owner: Owner) -> dict[str, Any]:
    """An owner as the JSON object ``owner_from_json`` reads back."""
    return {
        "id": owner.id,
        "name": owner.name,
        "email": owner.email,
        "active": owner.active,
        "teams": owner.teams,
        "capacity_per_day": owner.capacity_per_day,
    }
