"""The fields leadsync writes back to a CRM: one table of their names, how values compare, and JSON.

Every part of the sync engine that handles a written value asks this table: the plan (which
fields differ from the CRM's), the outbox and the written-values table (values kept as JSON),
snapshots (the fields a CRM may not hand back), and "manual changes win" (the fields a person's
change pins, CONTRACT.md §4). Adapters see the names as ``leadsync.api.WRITABLE_FIELDS``; None
clears a field in the CRM.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leadsync.timeutil import parse_iso_ts

__all__ = [
    "BOOL",
    "FIELDS",
    "NUMBER",
    "OPTIONAL_FIELDS",
    "OWN_FIELDS",
    "PINNABLE_FIELDS",
    "TEXT",
    "TIME",
    "WRITABLE_FIELDS",
    "Kind",
    "WritableField",
    "diff",
    "values_from_json",
    "values_to_json",
]


def _as_is(value: Any) -> Any:
    return value


def _seconds(value: datetime) -> int:
    # CRMs keep milliseconds or less: equal to the second is equal.
    return int(value.timestamp())


def _score(value: Any) -> float:
    return round(float(value), 6)


def _flag(value: Any) -> Any:
    # CRMs hand booleans back as text ("true", "false") or as booleans.
    return value.strip().casefold() == "true" if isinstance(value, str) else bool(value)


def _time_to_json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _time_from_json(value: Any) -> Any:
    return parse_iso_ts(value) if isinstance(value, str) and value else value


@dataclass(frozen=True, slots=True)
class Kind:
    """How values of one kind compare (by their ``key``) and travel as JSON."""

    name: str
    key: Callable[[Any], Any]
    to_json: Callable[[Any], Any]
    from_json: Callable[[Any], Any]


TEXT = Kind("text", _as_is, _as_is, _as_is)
NUMBER = Kind("number", _score, _as_is, _as_is)
TIME = Kind("time", _seconds, _time_to_json, _time_from_json)
BOOL = Kind("bool", _flag, _as_is, _as_is)


@dataclass(frozen=True, slots=True)
class WritableField:
    """One field leadsync writes: its name, its kind of value, and what the CRM does with it.

    ``own``: leadsync's own field, which a CRM may not hand back when read; leadsync keeps what
    it wrote (in a snapshot's ``properties``) and takes that for the CRM's value.
    ``pinnable``: a person who changes it in the CRM after leadsync wrote it wins (a conflict).
    ``optional``: written only where the CRM's mapping names it (adapters say which, see
    ``leadsync.api.CrmAdapter``); a mapping without it is still complete.
    """

    name: str
    kind: Kind
    holds: str
    own: bool = False
    pinnable: bool = False
    optional: bool = False

    def same(self, a: Any, b: Any) -> bool:
        """Whether two values are the same to the CRM (None and "" both mean empty)."""
        if a in (None, "") and b in (None, ""):
            return True
        if a is None or b is None:
            return False
        return bool(self.kind.key(a) == self.kind.key(b))


FIELDS = (
    WritableField("stage", TEXT, "a stage name", pinnable=True),
    WritableField("disqualification_reason", TEXT, "a reason code (its label in the CRM)", pinnable=True),
    WritableField("owner_id", TEXT, "an owner's id", pinnable=True),
    WritableField("score", NUMBER, "the score"),
    WritableField("score_breakdown", TEXT, 'text such as "demo +50; pricing_3x +30"', own=True),
    WritableField("sla_status", TEXT, "met, breached, pending, exhausted or none", own=True),
    WritableField("sla_due_at", TIME, "when the SLA's first touch is due", own=True),
    WritableField("mql_at", TIME, "when leadsync made the contact an MQL"),
    WritableField("sql_at", TIME, "when leadsync made the contact an SQL"),
    WritableField("assigned_at", TIME, "when leadsync routed the contact to its owner"),
    # For the CRM's own reports (CONTRACT §6's `sla` section, per contact): see
    # leadsync.sync.touchfields.
    WritableField(
        "first_touch_at",
        TIME,
        "when sales first touched the contact after its handoff",
        own=True,
        optional=True,
    ),
    WritableField(
        "sla_met", BOOL, "whether that first touch met the SLA (empty while open)", own=True, optional=True
    ),
)

WRITABLE_FIELDS = tuple(f.name for f in FIELDS)
OWN_FIELDS = tuple(f.name for f in FIELDS if f.own)
OPTIONAL_FIELDS = tuple(f.name for f in FIELDS if f.optional)
PINNABLE_FIELDS = tuple(f.name for f in FIELDS if f.pinnable)
_BY_NAME = {f.name: f for f in FIELDS}


def diff(desired: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    """The fields whose desired value differs from the CRM's, in the table's order (the optional
    fields only when ``desired`` has them)."""
    return {
        f.name: desired[f.name]
        for f in FIELDS
        if f.name in desired and not f.same(desired[f.name], current.get(f.name))
    }


def values_to_json(values: Mapping[str, Any]) -> dict[str, Any]:
    """Writable fields' values as JSON (the outbox and the written-values table keep JSON)."""
    return {name: _BY_NAME[name].kind.to_json(value) for name, value in values.items()}


def values_from_json(values: Mapping[str, Any]) -> dict[str, Any]:
    """Writable fields' values back from JSON: the time fields as datetimes again."""
    return {name: _BY_NAME[name].kind.from_json(value) for name, value in values.items()}
