"""The state codec: canonical records as JSON objects and back, as the state store keeps them.

``*_to_json`` writes a record (or the routing pools' state) as the JSON object its ``*_from_json``
reads back, timestamps kept exact. Reading a record validates it with the parsers of JSON Lines
input (``leadsync.jsonl``), so a stored or hand-built record (tests build them from dicts) is held
to the same rules as a line of a file; a problem is a ``RecordsError`` naming the kind of record.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from leadsync.errors import Problem, RecordsError
from leadsync.jsonl import BadRecord, activity_parser, parse_contact, parse_owner
from leadsync.model import CONTACT_TEXT_FIELDS, CONTACT_TIME_FIELDS, Activity, Contact, Owner
from leadsync.rules.routing import RoutingState

__all__ = [
    "activity_from_json",
    "activity_to_json",
    "contact_from_json",
    "contact_to_json",
    "owner_from_json",
    "owner_to_json",
    "routing_from_json",
    "routing_to_json",
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


def routing_to_json(state: RoutingState) -> dict[str, dict[str, Any]]:
    """Each pool's rotation as ``{"next_index": N}`` or ``{"current_weights": {owner: w}}``."""
    pools: dict[str, dict[str, Any]] = {}
    for pool, index in state.next_index.items():
        pools.setdefault(pool, {})["next_index"] = index
    for pool, weights in state.current_weights.items():
        pools.setdefault(pool, {})["current_weights"] = weights
    return pools


def routing_from_json(pools: dict[str, dict[str, Any]]) -> RoutingState:
    """The routing state that ``routing_to_json`` wrote."""
    state = RoutingState()
    for pool, saved in pools.items():
        if "next_index" in saved:
            state.next_index[pool] = int(saved["next_index"])
        if "current_weights" in saved:
            state.current_weights[pool] = {k: float(v) for k, v in saved["current_weights"].items()}
    return state
