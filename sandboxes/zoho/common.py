"""What every part of the Zoho sandbox shares: the error Zoho answers with, ids, and datetimes in
the org's offset.

Zoho's error envelope is ``{"code", "details", "message", "status": "error"}`` (``API_Exception`` in
``record.json``); record ids are 19-digit strings; datetimes are ISO 8601 at second precision in
the org's offset (``2026-11-23T15:30:00+05:30``)
(https://www.zoho.com/crm/developer/docs/api/v8/get-records.html).
"""

from __future__ import annotations

import itertools
import threading
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any

__all__ = [
    "JSON",
    "IdMaker",
    "ZohoError",
    "error_body",
    "invalid_data",
    "org_offset",
    "parse_since",
    "render_time",
]

JSON = dict[str, Any]


def error_body(code: str, message: str, details: JSON | None = None) -> JSON:
    return {"code": code, "details": details or {}, "message": message, "status": "error"}


class ZohoError(Exception):
    """An answer other than success: HTTP ``status`` with Zoho's error body (or ``body`` as given)."""

    def __init__(
        self,
        status: int,
        code: str = "",
        message: str = "",
        details: JSON | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.body = body if body is not None else error_body(code, message, details)
        self.headers = headers or {}


def invalid_data(message: str = "invalid data", **details: Any) -> ZohoError:
    return ZohoError(400, "INVALID_DATA", message, details)


def org_offset(text: str) -> timezone:
    """``"+05:30"`` as a fixed-offset time zone (Zoho renders datetimes in the org's zone)."""
    sign = -1 if text.startswith("-") else 1
    hours, _, minutes = text.lstrip("+-").partition(":")
    return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes or 0)))


def render_time(value: datetime, tz: timezone) -> str:
    """In the org's offset; a time that has none there (year 1 or 9999) as it was written."""
    try:
        return value.astimezone(tz).isoformat(timespec="seconds")
    except OverflowError:
        return value.isoformat(timespec="seconds")


def parse_since(text: str) -> datetime:
    """``If-Modified-Since``: ISO 8601 with an offset (Zoho's form) or an HTTP date."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            raise invalid_data(param_name="If-Modified-Since") from None
    if parsed.tzinfo is None:
        raise invalid_data(param_name="If-Modified-Since")
    return parsed


class IdMaker:
    """19-digit ids as Zoho's (``5725767000000412001``): an org prefix and a counter, so id order is
    creation order."""

    PREFIX = "5725767"

    def __init__(self, start: int = 400_001) -> None:
        self._lock = threading.Lock()
        self._next = itertools.count(start)

    def __call__(self) -> str:
        with self._lock:
            return f"{self.PREFIX}{next(self._next):012d}"
