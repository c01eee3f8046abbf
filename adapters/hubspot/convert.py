"""HubSpot contact records ⇄ canonical contacts and writable values, through the mapping.

HubSpot sends every property value as text: datetimes as ISO 8601 (``…T10:00:00.000Z``) or epoch
milliseconds, numbers as decimal text, multi-select values joined by ``;``, and ``""`` or null for
unset. leadsync writes datetimes as ISO 8601 UTC with milliseconds and clears with ``""``
(https://developers.hubspot.com/docs/api/crm/properties). A record becomes a contact through the
convert kit (``leadsync.api.convertkit``), as Salesforce's and Zoho's do; a write is planned
here, because the lifecycle stage only moves forward.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from leadsync.api import Contact, ContactChange, parse_crm_ts
from leadsync.api.convertkit import contact_of, timestamp

from .mapping import HubSpotMapping, StageMap

__all__ = [
    "DEFAULT_LIFECYCLE_ORDER",
    "PlannedWrite",
    "contact_from_record",
    "format_ts",
    "plan_write",
    "to_ms",
]

# HubSpot's default lifecycle stages in their forward order (a portal may add or reorder; the
# adapter reads the real order from the property's options when it can).
DEFAULT_LIFECYCLE_ORDER = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
)


def to_ms(ts: datetime) -> int:
    """Epoch milliseconds of an aware datetime."""
    return int(ts.timestamp() * 1000)


def format_ts(ts: datetime) -> str:
    """HubSpot's datetime text: UTC, milliseconds, ``Z``."""
    utc = ts.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def contact_from_record(record: Mapping[str, Any], mapping: HubSpotMapping) -> Contact:
    """The canonical contact for one HubSpot contact record (``stage_changed_at`` from its date)."""
    props: Mapping[str, Any] = record.get("properties") or {}
    stage = mapping.read_stage(props.get)
    created = (
        timestamp("createdAt", record.get("createdAt"))
        or timestamp("createdate", props.get("createdate"))
        or timestamp("lastmodifieddate", props.get("lastmodifieddate"))
    )
    rid = str(record.get("id") or props.get("hs_object_id") or "")
    return contact_of(rid, mapping, props.get, created, _stage_date(props, mapping.stages.get(stage or "")))


def _stage_date(props: Mapping[str, Any], stage: StageMap | None) -> datetime | None:
    if stage is None or not stage.changed_at or stage.changed_at == "history":
        return None
    return timestamp(stage.changed_at, props.get(stage.changed_at))


@dataclass(frozen=True)
class PlannedWrite:
    """The HubSpot properties for one change, and whether the lifecycle stage moves backwards."""

    contact_id: str
    properties: dict[str, str]
    backward: bool = False
    error: str | None = None


def plan_write(change: ContactChange, mapping: HubSpotMapping, order: Sequence[str]) -> PlannedWrite:
    """Translate one change; a value the mapping cannot hold becomes an error, not an exception."""
    props: dict[str, str] = {}
    backward = False
    for name, value in change.values.items():
        if name == "stage":
            if value is None:
                return PlannedWrite(change.contact_id, {}, error="leadsync never clears a stage")
            new = mapping.stages.get(str(value))
            if new is None:
                return PlannedWrite(change.contact_id, {}, error=f"stage `{value}` is not in {mapping.file}")
            current = mapping.stages.get(str(change.current.get("stage") or ""))
            props[mapping.lifecycle_property] = new.lifecyclestage
            if new.lead_status:
                props[mapping.lead_status_property] = new.lead_status
            elif current is not None and current.lead_status:
                props[mapping.lead_status_property] = ""  # drop the nurture/disqualified marker
            backward = _is_backward(current, new, order)
            continue
        fm = mapping.fields.get(name)
        if fm is None:
            return PlannedWrite(
                change.contact_id, {}, error=f"field `{name}` is not mapped in {mapping.file}"
            )
        props[fm.field] = fm.write(_wire(name, value))
    return PlannedWrite(change.contact_id, props, backward)


def _is_backward(current: StageMap | None, new: StageMap, order: Sequence[str]) -> bool:
    if current is None or current.lifecyclestage == new.lifecyclestage:
        return False
    for known in (order, DEFAULT_LIFECYCLE_ORDER):  # the portal's order, else HubSpot's default
        if current.lifecyclestage in known and new.lifecyclestage in known:
            return known.index(new.lifecyclestage) < known.index(current.lifecyclestage)
    return False


def _wire(name: str, value: Any) -> Any:
    """A canonical value as HubSpot text: datetimes ISO UTC, whole numbers without ``.0``."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return format_ts(value)
    if name.endswith("_at") and isinstance(value, str):
        ts = parse_crm_ts(value)
        return format_ts(ts) if ts else value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return value
