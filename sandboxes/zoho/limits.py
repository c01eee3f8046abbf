"""The Zoho sandbox's API limits: the daily credit budget and the concurrency cap.

Zoho counts API credits over a rolling 24 hours per org: 1 per call, 1 per 10 records for inserts,
updates and upserts, and sends ``X-API-CREDITS-REMAINING`` once half the budget is used; it caps
calls in flight per org and app by edition (Free 5, Standard 10, Professional 15, Enterprise 20,
Ultimate 25) (https://www.zoho.com/crm/developer/docs/api/v8/api-limits.html). Both refusals are
429 ``TOO_MANY_REQUESTS`` with no ``Retry-After``; ``legacy_429`` answers with the older body
``{"code": 429, "error": "TOO_MANY_REQUESTS", "error_info", "details": []}`` seen from older APIs.
The window runs on the sandbox clock, so ``advance()`` frees it.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from leadsync.sandboxes.kit.server import Request
from leadsync.sandboxes.kit.windows import RollingTotal
from leadsync.sandboxes.zoho.common import JSON, ZohoError

__all__ = ["ApiLimits", "Limits", "coql_credits", "credits_for", "too_many", "write_credits"]


@dataclass
class Limits:
    """The budgets; every number can be changed while running (``set_limits``)."""

    daily_credits: int = 60_000  # Enterprise: 50,000 + 1,000 per user (10 licences)
    concurrency: int = 10
    legacy_429: bool = False
    token_mints: int = 10  # access tokens per refresh token per 10 minutes
    token_ttl: int = 3600  # seconds an access token lives
    listing_cap: int = 100_000  # records one Get Records listing (or COQL offset) reaches


def write_credits(records: int) -> int:
    """Inserts and updates cost 1 credit per 10 records (at least 1)."""
    return max(1, -(-records // 10))


def coql_credits(limit: int) -> int:
    """What a COQL query costs: 1 credit up to 200 rows, 2 up to 1,000, 3 up to 2,000."""
    return 1 if limit <= 200 else 2 if limit <= 1000 else 3


def credits_for(request: Request) -> int:
    """What an API call costs: 1, a write by its records, a COQL query by its ``limit``."""
    if request.method not in ("POST", "PUT") or "/settings/" in request.target:
        return 1
    try:
        body = json.loads(request.body or b"null")
        data = body.get("data")
    except (ValueError, AttributeError):
        return 1
    if urlsplit(request.target).path.rstrip("/").endswith("/coql"):
        found = re.search(r"\blimit\s+(\d+)(?:\s*,\s*(\d+))?", str(body.get("select_query")), re.I)
        return coql_credits(int(found[2] or found[1]) if found else 200)
    return write_credits(len(data)) if isinstance(data, list) else 1


def too_many(limits: Limits, daily: bool) -> ZohoError:
    if limits.legacy_429:
        info = (
            "Many requests fired than the allowed limit for the past 24 hours."
            if daily
            else "Many requests fired concurrently than the allowed limit."
        )
        body: JSON = {"code": 429, "error": "TOO_MANY_REQUESTS", "error_info": info, "details": []}
        return ZohoError(429, body=body)
    message = (
        "Number of API requests for the 24 hour period is exceeded"
        if daily
        else "The concurrency limit of the user for the app is exceeded"
    )
    return ZohoError(429, "TOO_MANY_REQUESTS", message)


class ApiLimits:
    def __init__(self, limits: Limits, clock: Callable[[], datetime]) -> None:
        self.limits = limits
        self.clock = clock
        self._lock = threading.Lock()
        self._window = RollingTotal()
        self.in_flight = 0
        self.peak = 0

    def enter(self) -> None:
        """One more call in flight, or 429 past the concurrency cap (``leave`` when done)."""
        with self._lock:
            if self.in_flight >= self.limits.concurrency:
                raise too_many(self.limits, daily=False)
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def spend(self, credits: int) -> dict[str, str]:
        """Take ``credits`` from the day's budget; the headers to add, or 429 past the budget."""
        with self._lock:
            now = self.clock()
            used = self._window.used(now)
            if used + credits > self.limits.daily_credits:
                raise too_many(self.limits, daily=True)
            self._window.add(now, credits)
            used += credits
            remaining = self.limits.daily_credits - used
            if used * 2 >= self.limits.daily_credits:
                return {"X-API-CREDITS-REMAINING": str(remaining)}
            return {}

    def usage(self) -> JSON:
        with self._lock:
            used = self._window.used(self.clock())
            return {
                "used": used,
                "remaining": self.limits.daily_credits - used,
                "max": self.limits.daily_credits,
                "in_flight": self.in_flight,
                "peak_in_flight": self.peak,
            }

    def set_usage(self, used: int) -> None:
        """Pretend ``used`` credits were spent just now."""
        with self._lock:
            self._window.reset(self.clock(), int(used))

    def reset(self) -> None:
        self.set_usage(0)
        with self._lock:
            self.peak = self.in_flight
