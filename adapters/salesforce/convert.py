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

from leadsync.api import Contact, ContactChange, RecordError
from leadsync.api.convertkit import contact_of, planned_fields, timestamp

from .mapping import HISTORY, ObjectMap, SalesforceMapping

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


def contact_from_record(record: Mapping[str, Any], mapping: SalesforceMapping) -> Contact:
    """The canonical contact for one Lead or Contact record (``stage_changed_at`` from a mapped field)."""
    rid = str(record.get("Id") or "")
    if not rid:
        raise RecordError("the record has no Id; it is left out (Salesforce sent it without one)")
    attributes = record.get("attributes")
    kind = (attributes.get("type") if isinstance(attributes, Mapping) else None) or object_of(rid)
    obj = mapping.objects.get(str(kind))
    if obj is None:
        raise RecordError(f"record `{rid}` is neither a mapped Lead nor Contact")
    changed = obj.stage.changed_at
    return contact_of(
        rid,
        obj,
        lambda field: value_at(record, field),
        timestamp("CreatedDate", record.get("CreatedDate")),
        timestamp(changed, record.get(changed)) if changed and changed != HISTORY else None,
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
    fields, error = planned_fields(change, obj, mapping.file, format_ts)
    return PlannedWrite(cid, sobject, fields, error)
