"""Values as CRMs send them, made canonical: timestamps, web domains, head counts.

``parse_crm_ts`` is lenient, as a CRM's data must be read: a datetime, a date or epoch
milliseconds, None when unreadable. Input files and the rules are held to CONTRACT §1 instead
(``leadsync.timeutil.parse_iso_ts``: an offset is required, anything else is an error).
``record_ts`` is ``parse_crm_ts`` for the timestamps a record is decided on (a contact's
created, stage, MQL, SQL and assignment times, an activity's time): one outside the range
leadsync computes with (``leadsync.timeutil.in_range``) is a ``RecordError``, and the adapter
refuses that record alone. ``parse_crm_ts`` reads such a value as unreadable (None).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from leadsync.errors import RecordError
from leadsync.timeutil import in_range

__all__ = ["domain_of", "employees_of", "parse_crm_ts", "record_ts"]

_RANGE = re.compile(r"^\s*(\d[\d,]*)\s*(?:[-–+]|$)")


def parse_crm_ts(value: Any) -> datetime | None:
    """A CRM datetime, date or epoch-milliseconds value as an aware datetime (None when unreadable
    or outside the range leadsync computes with).

    Without an offset, UTC is assumed: CRMs send their own times in UTC or with an offset.
    """
    try:
        return record_ts(value)
    except RecordError:
        return None


def record_ts(value: Any) -> datetime | None:
    """``parse_crm_ts`` for a timestamp a record is decided on: None when empty or unreadable, a
    ``RecordError`` (quoting the CRM's text) when outside the range leadsync computes with."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return in_range(value if value.tzinfo else value.replace(tzinfo=UTC))
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        try:
            return in_range(datetime.fromtimestamp(int(text) / 1000, tz=UTC), text)
        except (OverflowError, OSError, ValueError):
            raise RecordError(
                f"epoch milliseconds `{text}` are outside what leadsync can compute with"
            ) from None
    try:
        ts = datetime.fromisoformat(text)
    except ValueError:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            return None
        return in_range(datetime(day.year, day.month, day.day, tzinfo=UTC), text)
    return in_range(ts if ts.tzinfo else ts.replace(tzinfo=UTC), text)


def domain_of(website: str | None) -> str | None:
    """``acme.com`` from ``https://www.acme.com/about`` (None when empty)."""
    if not website:
        return None
    host = re.sub(r"^[a-z][a-z0-9+.-]*://", "", website.strip().lower())
    host = host.split("/", 1)[0].split("?", 1)[0].split(":", 1)[0]
    host = host.removeprefix("www.")
    return host or None


def employees_of(value: Any) -> int | None:
    """A head count from a number or a range such as ``500-1000`` or ``1000+`` (its lower end)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    match = _RANGE.match(str(value))
    return int(match.group(1).replace(",", "")) if match else None
