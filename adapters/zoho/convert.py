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

from connector.api import Contact, ContactChange
from connector.values import domain_of, employees_of, parse_ts

from .mapping import FieldMap, ModuleMap, ZohoMapping

__all__ = ["PlannedWrite", "contact_from_record", "format_ts", "lookup_id", "plan_write"]


def format_ts(ts: datetime) -> str:
    """Zoho's datetime text: seconds and an offset (UTC here)."""
    return ts.astimezone(UTC).replace(microsecond=0).isoformat()


def lookup_id(value: Any) -> str | None:
    """The id of a lookup value (``{"name": …, "id": …}``, or an id as it is)."""
    if isinstance(value, dict):
        value = value.get("id")
    return str(value) if value not in (None, "") else None


def _read(record: Mapping[str, Any], fm: FieldMap | None) -> Any:
    return fm.read(record.get(fm.field)) if fm else None


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _number(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def contact_from_record(record: Mapping[str, Any], module: ModuleMap) -> Contact:
    """The canonical contact for one Leads or Contacts record."""
    f = module.fields
    created = parse_ts(_read(record, f.get("created_at"))) or parse_ts(record.get("Created_Time"))
    website = _read(record, f.get("domain"))
    properties = {name: fm.read(record.get(fm.field)) for name, fm in module.properties.items()}
    return Contact(
        id=str(record.get("id") or ""),
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
        stage=module.stage.read(record.get(module.stage.field)),
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
    out: dict[str, Any] = {}
    for name, value in change.values.items():
        if name == "stage":
            picklist = module.stage.write(str(value)) if value else None
            if value and picklist is None:
                return PlannedWrite(
                    cid,
                    module.name,
                    {},
                    f"stage `{value}` has no {module.name} {module.stage.field} value in the mapping "
                    f"({mapping.file}, `{module.name}.stage.stages`)",
                )
            out[module.stage.field] = picklist
            continue
        fm = module.fields.get(name)
        if fm is None:
            continue  # the mapping leaves this field out for this module
        out[fm.field] = _wire(name, fm.write(value))
    return PlannedWrite(cid, module.name, out)


def _wire(name: str, value: Any) -> Any:
    if name.endswith("_at") and isinstance(value, str):
        value = parse_ts(value) or value
    if isinstance(value, datetime):
        return format_ts(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
