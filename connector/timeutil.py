"""Timestamps and durations as CONTRACT.md §1 and §3 define them.

**The computable range.** Every timestamp leadsync reads (input files, the rules, a CRM's
records) is checked here, once, by ``in_range``: an instant before ``EARLIEST`` or from
``LATEST`` on (years 200 to 9799 in UTC), or one that cannot even be moved to UTC
(``0001-01-01T00:00:00+14:00``), is a ``RecordError`` naming the text as it came. Within the
range, the engine's date arithmetic cannot overflow: the rules' longest horizon is bounded
(``MAX_DAYS``, 100 years) and the range leaves more than that on either side.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from leadsync.errors import RecordError

__all__ = [
    "DAY",
    "EARLIEST",
    "LATEST",
    "MAX_DAYS",
    "format_ts",
    "in_range",
    "parse_duration",
    "parse_iso_ts",
    "whole_days",
]

DAY = timedelta(days=1)
MAX_DAYS = 36_525  # the longest horizon a rules file may write (100 years), in days
EARLIEST = datetime(200, 1, 1, tzinfo=UTC)  # 9,800 years of range, > 100 years to spare each side
LATEST = datetime(9800, 1, 1, tzinfo=UTC)
_DURATION = re.compile(r"^\s*(\d+)\s*([mhd])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def in_range(ts: datetime, raw: object = None) -> datetime:
    """``ts`` itself when leadsync can compute with it; else a ``RecordError`` quoting ``raw``."""
    try:
        utc = ts if ts.tzinfo is UTC else ts.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        shown = ts.isoformat() if raw is None else raw
        raise RecordError(
            f"timestamp `{shown}` is outside what leadsync can compute with "
            f"(from {EARLIEST.year} to {LATEST.year - 1}, in UTC)"
        )
    return ts


def parse_iso_ts(value: object) -> datetime:
    """An ISO 8601 timestamp with an offset or ``Z`` (CONTRACT §1); raise ValueError otherwise.

    For input files and the rules, where a timestamp without an offset is a person's mistake to
    report; a CRM's values are read leniently instead (``leadsync.api.parse_crm_ts``).
    """
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO 8601 timestamp string, got {value!r}")
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"`{value}` is not an ISO 8601 timestamp") from None
    if ts.tzinfo is None:
        raise ValueError(f"timestamp `{value}` has no offset; add `Z` for UTC or e.g. `+01:00`")
    in_range(ts, value)
    # One tzinfo for every timestamp: comparisons between them then skip utcoffset() calls.
    return ts if ts.tzinfo is UTC else ts.astimezone(UTC)


def format_ts(ts: datetime | None) -> str | None:
    """UTC as ``YYYY-MM-DDTHH:MM:SSZ`` (seconds are truncated), or None."""
    if ts is None:
        return None
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_duration(text: str) -> tuple[int, str]:
    """``15m``, ``2h`` or ``3d`` as (amount, unit letter); raise ValueError otherwise."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"`{text}` is not a duration; write e.g. 15m, 2h or 3d")
    amount, unit = int(match.group(1)), match.group(2)
    if amount * {"m": 60, "h": 3600, "d": 86400}[unit] > MAX_DAYS * 86400:
        raise ValueError(f"`{text}` is longer than leadsync computes with; at most {MAX_DAYS}d (100 years)")
    return amount, unit


def duration_delta(amount: int, unit: str) -> timedelta:
    """The wall-clock length of a parsed duration."""
    return timedelta(**{_UNITS[unit]: amount})


def whole_days(since: datetime, now: datetime) -> int:
    """Whole days from ``since`` to ``now`` (negative when ``since`` is later)."""
    # A timedelta keeps its days floored (seconds are always 0..86399), so ``.days`` is the
    # floor division by one day, without the big-integer arithmetic of ``// DAY``.
    return (now - since).days
