"""Values as CRMs send them, made canonical: timestamps, web domains, head counts.

``parse_crm_ts`` is lenient, as a CRM's data must be read: a datetime, a date or epoch
milliseconds, None when unreadable. Input files and the rules are held to CONTRACT §1 instead
(``leadsync.timeutil.parse_iso_ts``: an offset is required, anything else is an error).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

__all__ = ["domain_of", "employees_of", "parse_crm_ts"]

_RANGE = re.compile(r"^\s*(\d[\d,]*)\s*(?:[-–+]|$)")


def parse_crm_ts(value: Any) -> datetime | None:
    """A CRM datetime, date or epoch-milliseconds value as an aware datetime (None when unreadable).

    Without an offset, UTC is assumed: CRMs send their own times in UTC or with an offset.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    try:
        ts = datetime.fromisoformat(text)
    except ValueError:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            return None
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


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
