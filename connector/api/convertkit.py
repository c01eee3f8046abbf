"""What the record conversions share: a CRM record → a canonical contact, a change → the fields to
write, through the mapping (``mappingkit``).

A record that cannot be a contact (no id; a timestamp outside the range leadsync computes with,
``leadsync.api.record_ts``) raises ``RecordError``; ``read_each`` turns a page of records into
contacts and the records refused alone (``Refused``, dead letters for the loop).

Each CRM's ``convert.py`` keeps what differs: how a field's raw value is found (Salesforce nests a
parent record's fields), its datetime text, what a write is sent as, and (HubSpot) how the stage
is held. ``contact_of`` serves all three; ``planned_fields`` Salesforce and Zoho, whose stage is
one picklist (HubSpot's is a lifecycle stage and a lead status that only moves forward).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import structlog

from leadsync.api import (
    Contact,
    ContactChange,
    RecordError,
    Refused,
    domain_of,
    employees_of,
    parse_crm_ts,
    record_ts,
)
from leadsync.api.mappingkit import ContactMap, FieldMap

__all__ = ["ContactFields", "contact_of", "planned_fields", "read_each", "timestamp"]

R = TypeVar("R")
log = structlog.get_logger("leadsync.convert")


def read_each(
    records: Iterable[R], convert: Callable[[R], Contact | None], id_of: Callable[[R], Any]
) -> tuple[list[Contact], tuple[Refused, ...]]:
    """Each record converted; one that raises ``RecordError`` is refused alone, with its id (None
    when it has none) and the CRM's record, and logged. ``convert`` may skip a record (None)."""
    contacts: list[Contact] = []
    refused: list[Refused] = []
    for record in records:
        try:
            contact = convert(record)
        except RecordError as exc:
            raw = id_of(record)
            rid = None if raw in (None, "") else str(raw)
            log.warning("record_refused", contact_id=rid, error=str(exc))
            refused.append(Refused(rid, str(exc), dict(record) if isinstance(record, Mapping) else {}))
            continue
        if contact is not None:
            contacts.append(contact)
    return contacts, tuple(refused)


def timestamp(field: str, value: Any) -> datetime | None:
    """``record_ts`` of one CRM field, a ``RecordError`` naming the field when out of range."""
    try:
        return record_ts(value)
    except RecordError as exc:
        raise RecordError(f"{field}: {exc}") from None


class ContactFields(Protocol):
    """How a CRM's records hold a canonical contact: its field maps and its stage."""

    @property
    def fields(self) -> Mapping[str, FieldMap]: ...

    @property
    def properties(self) -> Mapping[str, FieldMap]: ...

    def read_stage(self, get: Callable[[str], Any]) -> str | None:
        """The canonical stage, ``get`` giving a CRM field's raw value."""
        ...


def contact_of(
    rid: str,
    cmap: ContactFields,
    get: Callable[[str], Any],
    created: datetime | None,
    stage_changed_at: datetime | None = None,
) -> Contact:
    """The canonical contact of one record; ``get`` gives a CRM field's raw value, ``created`` the
    record's own creation time (when the mapping's ``created_at`` is empty)."""

    if not rid:
        raise RecordError("the record has no id; it is left out (the CRM sent it without one)")

    def read(name: str) -> Any:
        fm = cmap.fields.get(name)
        return fm.read(get(fm.field)) if fm else None

    def when(name: str) -> datetime | None:
        fm = cmap.fields.get(name)
        return timestamp(fm.field, read(name)) if fm else None

    website = read("domain")
    properties = {name: fm.read(get(fm.field)) for name, fm in cmap.properties.items()}
    return Contact(
        id=rid,
        created_at=when("created_at") or created or datetime(1970, 1, 1, tzinfo=UTC),
        email=_text(read("email")),
        first_name=_text(read("first_name")),
        last_name=_text(read("last_name")),
        title=_text(read("title")),
        company=_text(read("company")),
        industry=_text(read("industry")),
        country=_text(read("country")),
        city=_text(read("city")),
        lead_source=_text(read("lead_source")),
        domain=domain_of(str(website)) if website else None,
        employees=employees_of(read("employees")),
        stage=cmap.read_stage(get),
        stage_changed_at=stage_changed_at,
        score=_number(read("score")),
        owner_id=_text(read("owner_id")),
        disqualification_reason=_text(read("disqualification_reason")),
        mql_at=when("mql_at"),
        sql_at=when("sql_at"),
        assigned_at=when("assigned_at"),
        properties={k: v for k, v in properties.items() if v is not None},
    )


def planned_fields(
    change: ContactChange, cmap: ContactMap[Any, Any], file: str, format_ts: Callable[[datetime], str]
) -> tuple[dict[str, Any], str | None]:
    """The CRM fields and values for one canonical change, or why the mapping cannot hold it."""
    out: dict[str, Any] = {}
    for name, value in change.values.items():
        if name == "stage":
            picklist = cmap.stage.write(str(value)) if value else None
            if value and picklist is None:
                return {}, (
                    f"stage `{value}` has no {cmap.name} {cmap.stage.field} value in the mapping "
                    f"({file}, `{cmap.name}.stage.stages`)"
                )
            out[cmap.stage.field] = picklist
            continue
        fm = cmap.fields.get(name)
        if fm is None or not fm.writable:
            continue  # the mapping leaves this field out here (or it is a parent record's)
        out[fm.field] = _wire(name, fm.write(value), format_ts)
    return out, None


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _number(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _wire(name: str, value: Any, format_ts: Callable[[datetime], str]) -> Any:
    if isinstance(value, bool):  # a true/false pick-list (``sla_met``): never empty like a checkbox
        return "true" if value else "false"
    if name.endswith("_at") and isinstance(value, str):
        value = parse_crm_ts(value) or value
    if isinstance(value, datetime):
        return format_ts(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
