"""What one send attempt came to, as an outbox needs it: sent, try again (after the service's
``Retry-After`` when it gave one), or never (with the service's own error, for the dead letter).

    Delivered            the service took the message (``detail``: its id or answer, if any)
    RetryAfter           429, 5xx, a timeout or a dropped connection: send again later;
                         ``seconds`` is the service's Retry-After, None to use the outbox's backoff
    FailedPermanently    the service refused for good (bad auth, unknown channel, bad payload):
                         a dead letter carrying ``error``, the service's own words

No sender raises for a failed delivery: every failure is one of these values.
"""

from __future__ import annotations

import email.utils
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = [
    "Delivered",
    "FailedPermanently",
    "Outcome",
    "RetryAfter",
    "http_outcome",
    "retry_after_seconds",
    "short",
]

_MAX_ERROR = 500  # a service's error body is kept, but not a whole HTML page of it


@dataclass(frozen=True)
class Delivered:
    detail: str = ""


@dataclass(frozen=True)
class RetryAfter:
    error: str
    seconds: float | None = None


@dataclass(frozen=True)
class FailedPermanently:
    error: str


Outcome = Delivered | RetryAfter | FailedPermanently


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """A ``Retry-After`` header (seconds, or an HTTP date) in seconds; None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def short(text: str) -> str:
    """A service's answer, cut to a size a dead letter keeps."""
    text = text.strip()
    return text if len(text) <= _MAX_ERROR else text[:_MAX_ERROR] + "…"


def http_outcome(status: int, headers: Mapping[str, str], body: str, service: str) -> Outcome:
    """The outcome of an HTTP answer from a webhook-like service: 2xx sent; 408, 425, 429 and 5xx
    again later (honouring Retry-After); any other status refused for good."""
    if 200 <= status < 300:
        return Delivered(short(body))
    error = f"{service} answered HTTP {status}: {short(body) or '(no body)'}"
    if status in (408, 425, 429) or status >= 500:
        lowered = {k.lower(): v for k, v in headers.items()}
        return RetryAfter(error, retry_after_seconds(lowered.get("retry-after")))
    return FailedPermanently(error)
