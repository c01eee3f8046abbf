"""Salesforce Lead and Contact records ⇄ canonical contacts and writable values, through the mapping.

Salesforce sends typed JSON: numbers as numbers, booleans as booleans, datetimes as
``2026-11-21T10:00:00.000+0000`` and dates as ``2026-11-21``; a parent record's field arrives
nested (``{"Account": {"Name": …}}``, or ``"Account": null``). leadsync writes datetimes as ISO
8601 UTC and clears a field with null (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/intro_rest_conventions.htm).
An Id's first three characters say what it is: ``00Q`` a Lead, ``003`` a Contact.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from connector.api import Contact, ContactChange
from connector.values import domain_of, employees_of, parse_ts

from .mapping import FieldMap, ObjectMap, SalesforceMapping

__all__ = [
    "PREFIXES",
    "PlannedWrite",
    "contact_from_record",
    "format_ts",
    "object_of",
    "plan_write",
    "value_at",
]

PREFIXES = {"00Q": "Lead", "003": "Contact"}


def object_of(record_id: str) -> str | None:
    """``Lead`` or ``Contact`` for an Id (None for anything else)."""
    return PREFIXES.get(record_id[:3])


def format_ts(ts: datetime) -> str:
    """Salesforce's datetime text: UTC, milliseconds, ``Z``."""
    utc = ts.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def value_at(record: Mapping[str, Any], field: str) -> Any:
    """``Title`` or ``Account.Name`` of a record (None when the parent is empty)."""
    value: Any = record
    for part in field.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _read(record: Mapping[str, Any], fm: FieldMap | None) -> Any:
    return fm.read(value_at(record, fm.field)) if fm else None


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _number(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def contact_from_record(record: Mapping[str, Any], mapping: SalesforceMapping) -> Contact:
    """The canonical contact for one Lead or Contact record (``stage_changed_at`` from a mapped field)."""
    rid = str(record.get("Id") or "")
    kind = (record.get("attributes") or {}).get("type") or object_of(rid)
    obj = mapping.objects[str(kind)]
    f = obj.fields
    created = parse_ts(_read(record, f.get("created_at"))) or parse_ts(record.get("CreatedDate"))
    website = _read(record, f.get("domain"))
    stage = obj.stage.read(value_at(record, obj.stage.field))
    changed = obj.stage.changed_at
    properties = {name: fm.read(value_at(record, fm.field)) for name, fm in obj.properties.items()}
    return Contact(
        id=rid,
        created_at=created or datetime(1970, 1, 1, tzinfo=UTC),
        email=_text(_read(record, f.get("email"))),
        first_name=_text(_read(record, f.get("first_name"))),
        last_name=_text(_read(record, f.get("last_name"))),
        title=_text(_read(record, f.get("title"))),
        company=_text(_read(record, f.get("company"))),
        industry=_text(_read(record, f.get("industry"))),
        country=_text(_read(record, f.get("country"))),
        city=_text(_read(record, f.get("city"))),
        lead_source=_text(_read(record, f.get("lead_source"))),
        domain=domain_of(str(website)) if website else None,
        employees=employees_of(_read(record, f.get("employees"))),
        stage=stage,
        stage_changed_at=parse_ts(record.get(changed)) if changed and changed != "history" else None,
        score=_number(_read(record, f.get("score"))),
        owner_id=_text(_read(record, f.get("owner_id"))),
        disqualification_reason=_text(_read(record, f.get("disqualification_reason"))),
        mql_at=parse_ts(_read(record, f.get("mql_at"))),
        sql_at=parse_ts(_read(record, f.get("sql_at"))),
        assigned_at=parse_ts(_read(record, f.get("assigned_at"))),
        properties={k: v for k, v in properties.items() if v is not None},
    )


@dataclass(frozen=True)
class PlannedWrite:
    """One contact's write: its object, the fields and values to send, or why it cannot be sent."""

    contact_id: str
    sobject: str
    fields: dict[str, Any]
    error: str | None = None


def plan_write(change: ContactChange, mapping: SalesforceMapping) -> PlannedWrite:
    """The Salesforce fields for one canonical change (an error when the mapping cannot hold it)."""
    cid = change.contact_id
    sobject = object_of(cid)
    obj: ObjectMap | None = mapping.objects.get(sobject or "")
    if sobject is None or obj is None:
        return PlannedWrite(cid, sobject or "", {}, f"`{cid}` is not a Lead or Contact id this mapping reads")
    out: dict[str, Any] = {}
    for name, value in change.values.items():
        if name == "stage":
            picklist = obj.stage.write(str(value)) if value else None
            if value and picklist is None:
                return PlannedWrite(
                    cid,
                    sobject,
                    {},
                    f"stage `{value}` has no {sobject} {obj.stage.field} value in the mapping "
                    f"({mapping.file}, `{sobject}.stage.stages`)",
                )
            out[obj.stage.field] = picklist
            continue
        fm = obj.fields.get(name)
        if fm is None or not fm.writable:
            continue  # the mapping leaves this field out for this object (a parent's field, say)
        out[fm.field] = _wire(name, fm.write(value))
    return PlannedWrite(cid, sobject, out)


def _wire(name: str, value: Any) -> Any:
    if name.endswith("_at") and isinstance(value, str):
        value = parse_ts(value) or value
    if isinstance(value, datetime):
        return format_ts(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
