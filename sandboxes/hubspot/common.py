"""Shared pieces of the HubSpot sandbox: the error it raises, HubSpot's error body, time formats."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "JSON",
    "ApiError",
    "Record",
    "error_body",
    "iso_from_ms",
    "ms_from_datetime",
    "ms_from_value",
    "new_correlation_id",
    "validation_error",
]

JSON = dict[str, Any]


@dataclass
class Record:
    """One CRM object: current values as strings (HubSpot's wire form) and their history."""

    id: int
    otype: str
    properties: dict[str, str]
    history: dict[str, list[JSON]] = field(default_factory=dict)  # newest first

    def get(self, name: str) -> str | None:
        """The value, or None when unset or cleared."""
        value = self.properties.get(name)
        return value if value else None


def new_correlation_id() -> str:
    return str(uuid.uuid4())


def error_body(category: str, message: str, **extra: Any) -> JSON:
    """HubSpot's error body: ``{"status":"error","message","correlationId","category",...}``."""
    body: JSON = {
        "status": "error",
        "message": message,
        "correlationId": new_correlation_id(),
        "category": category,
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


@dataclass
class ApiError(Exception):
    """A request the sandbox refuses, answered with ``status`` and HubSpot's error body."""

    status: int
    category: str
    message: str
    extra: JSON = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    raw: JSON | None = None  # a body that is not the standard error shape (429s)

    def __str__(self) -> str:
        return f"{self.status} {self.category}: {self.message}"

    def body(self) -> JSON:
        if self.raw is not None:
            return self.raw
        return error_body(self.category, self.message, **self.extra)


def validation_error(message: str, **extra: Any) -> ApiError:
    return ApiError(400, "VALIDATION_ERROR", message, dict(extra))


def ms_from_datetime(ts: datetime) -> int:
    return int(ts.timestamp() * 1000)


def iso_from_ms(ms: int) -> str:
    """HubSpot's datetime format: UTC, milliseconds, ``Z`` (``2026-11-21T10:00:00.000Z``)."""
    ts = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def ms_from_value(value: str) -> int | None:
    """Epoch milliseconds from an epoch-ms string, an ISO timestamp or a date; None if neither."""
    text = value.strip()
    if not text:
        return None
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        ts = datetime.fromisoformat(text)
    except ValueError:
        return None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ms_from_datetime(ts)
