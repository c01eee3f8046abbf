"""Contacts from JSON Lines: a chunk at a time decoded in C, each odd chunk line by line.

As for activities (``leadsync.inputs.activities``): msgspec decodes a chunk into ``_Line``
structs whose types say what ``leadsync.jsonl.parse_contact`` accepts without a second look; a
chunk with anything else (a bad or blank line, a numeric id, a whole number written as ``2.0``,
a value the two decoders read differently) is read again by the careful parser, which names each
bad line as FILE:LINE. Both give equal ``Contact`` objects.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from leadsync.inputs.activities import CHUNK_BYTES, chunks, line_count, suspect
from leadsync.jsonl import Problems, careful_lines, open_records, parse_contact, unique_contacts
from leadsync.model import STAGES, Contact
from leadsync.timeutil import EARLIEST, LATEST

__all__ = ["load_contacts", "read_contacts"]

_Id = Annotated[str, msgspec.Meta(min_length=1)]
_Zoned = Annotated[datetime, msgspec.Meta(tz=True)]


class _Line(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """One contact line as the fast path takes it (CONTRACT.md §1; anything else: careful)."""

    id: _Id
    created_at: _Zoned
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    title: str | None = None
    company: str | None = None
    industry: str | None = None
    country: str | None = None
    city: str | None = None
    lead_source: str | None = None
    domain: str | None = None
    employees: int | None = None
    stage: Literal[STAGES] | None = None  # type: ignore[valid-type]
    stage_changed_at: _Zoned | None = None
    score: int | float | None = None
    owner_id: str | None = None
    disqualification_reason: str | None = None
    mql_at: _Zoned | None = None
    sql_at: _Zoned | None = None
    assigned_at: _Zoned | None = None
    properties: dict[str, Any] | None = None


class _Refused(Exception):
    """A timestamp the careful path refuses (out of range) or converts differently."""


def _utc(ts: datetime | None) -> datetime | None:
    """As ``leadsync.timeutil.parse_iso_ts`` leaves a zoned timestamp: in UTC, within range."""
    if ts is None:
        return None
    if ts.tzinfo is not UTC:
        try:
            ts = ts.astimezone(UTC)
        except OverflowError:
            raise _Refused from None
    if not EARLIEST <= ts < LATEST:
        raise _Refused
    return ts


def _contact(c: _Line) -> Contact:
    return Contact(
        id=c.id,
        created_at=_utc(c.created_at),  # type: ignore[arg-type]  # never None: required
        email=c.email,
        first_name=c.first_name,
        last_name=c.last_name,
        title=c.title,
        company=c.company,
        industry=c.industry,
        country=c.country,
        city=c.city,
        lead_source=c.lead_source,
        domain=c.domain,
        employees=c.employees,
        stage=c.stage,
        stage_changed_at=_utc(c.stage_changed_at),
        score=c.score,
        owner_id=c.owner_id,
        disqualification_reason=c.disqualification_reason,
        mql_at=_utc(c.mql_at),
        sql_at=_utc(c.sql_at),
        assigned_at=_utc(c.assigned_at),
        properties={} if c.properties is None else c.properties,
    )


_DECODE = msgspec.json.Decoder(_Line).decode_lines


def fast_contacts(chunk: bytes) -> list[Contact] | None:
    """Every line of ``chunk`` as a contact, or None when the careful path must read it."""
    if suspect(chunk):
        return None
    try:
        lines = _DECODE(chunk)
    except (msgspec.DecodeError, RecursionError):
        return None
    if len(lines) != line_count(chunk):  # a blank line (skipped by decode_lines)
        return None
    try:
        return [_contact(c) for c in lines]
    except _Refused:
        return None


def read_contacts(path: Path, chunk_bytes: int = CHUNK_BYTES) -> Iterator[tuple[int, Contact]]:
    """(line number, contact) for each contact of a file, as ``leadsync.jsonl.read_contacts``:
    a ``RecordsError`` at the end naming every bad line; repeated ids are the caller's to find."""
    problems = Problems(str(path))
    with open_records(path) as handle:
        for number, chunk in chunks(handle, chunk_bytes):
            contacts = fast_contacts(chunk)
            if contacts is None:
                lines = chunk.split(b"\n")
                if chunk.endswith(b"\n"):
                    lines.pop()
                yield from careful_lines(enumerate(lines, number), parse_contact, problems)
            elif not problems.problems:
                yield from enumerate(contacts, number)
    problems.raise_any()


def load_contacts(path: Path) -> list[Contact]:
    """All contacts of a file, as ``leadsync.jsonl.load_contacts`` (a repeated id is an error
    naming both lines)."""
    return unique_contacts(str(path), read_contacts(path))
