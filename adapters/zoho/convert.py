"""Zoho records ⇄ canonical contacts: reading a Lead or Contact, planning a write.

Zoho datetimes are ISO 8601 at second precision with the org's offset
(``2026-11-23T15:30:00+05:30``); leadsync writes them in UTC (``+00:00``), which Zoho accepts
and shows in each user's zone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from leadsync.api import Contact, ContactChange
from leadsync.api.convertkit import contact_of, planned_fields, timestamp

from .mapping import ModuleMap, ZohoMapping

__all__ = ["PlannedWrite", "contact_from_record", "format_ts", "lookup_id", "plan_write"]


def format_ts(ts: datetime) -> str:
    """Zoho's datetime text: seconds and an offset (UTC here)."""
    return ts.astimezone(UTC).replace(microsecond=0).isoformat()


def lookup_id(value: Any) -> str | None:
    """The id of a lookup value (``{"name": …, "id": …}``, or an id as it is)."""
    if isinstance(value, dict):
        value = value.get("id")
    return str(value) if value not in (None, "") else None


def contact_from_record(record: Mapping[str, Any], module: ModuleMap) -> Contact:
    """The canonical contact for one Leads or Contacts record."""
    created = timestamp("Created_Time", record.get("Created_Time"))
    return contact_of(str(record.get("id") or ""), module, record.get, created)


@dataclass(frozen=True)
class PlannedWrite:
    """One contact's write: its module, the fields to send, or why it cannot be sent."""

    contact_id: str
    module: str
    fields: dict[str, Any]
    error: str | None = None


def plan_write(change: ContactChange, module_name: str | None, mapping: ZohoMapping) -> PlannedWrite:
    """The Zoho fields for one canonical change (an error when the mapping cannot hold it)."""
    cid = change.contact_id
    module = mapping.modules.get(module_name or "")
    if module is None:
        return PlannedWrite(cid, "", {}, f"`{cid}` is no Lead or Contact this mapping reads")
    fields, error = planned_fields(change, module, mapping.file, format_ts)
    return PlannedWrite(cid, module.name, fields, error)
