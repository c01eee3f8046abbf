"""Timestamps and durations as CONTRACT.md §1 and §3 define them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

__all__ = ["DAY", "format_ts", "parse_duration", "parse_iso_ts", "whole_days"]

DAY = timedelta(days=1)
_DURATION = re.compile(r"^\s*(\d+)\s*([mhd])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


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
    return int(match.group(1)), match.group(2)


def duration_delta(amount: int, unit: str) -> timedelta:
    """The wall-clock length of a parsed duration."""
    return timedelta(**{_UNITS[unit]: amount})


def whole_days(since: datetime, now: datetime) -> int:
    """Whole days from ``since`` to ``now`` (negative when ``since`` is later)."""
    return (now - since) // DAY
