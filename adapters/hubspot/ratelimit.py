"""One rate limiter for every HubSpot call: it blocks *before* a call rather than after a 429.

Two rolling windows share one object, because a search call counts against both:

- the app's burst policy (``TEN_SECONDLY_ROLLING``): 190 calls per 10 s by default (Professional
  and Enterprise; Free/Starter 100), re-read from the ``X-HubSpot-RateLimit-Max``,
  ``-Remaining`` and ``-Interval-Milliseconds`` headers whenever a response carries them
  (https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines);
- CRM search's own limit, five requests per second per account, which search responses do not
  report in headers (https://developers.hubspot.com/docs/api/crm/search). Its window is paced
  5% wider than a second: a call is counted when it leaves, HubSpot counts it when it arrives,
  and network jitter between two calls a second apart must not make them six in HubSpot's second.

The daily quota is not paced here: a 429 with ``policyName: DAILY`` stops the job
(``QuotaExhausted``, raised by the client). The limiter only remembers it and what is left of it
(``X-HubSpot-RateLimit-Daily`` and ``-Daily-Remaining``), so that the client stops overlapping
calls near the end (``daily_low``): concurrent calls sent with a few requests left would each be
refused. The daemon's metrics show the same figures (``budget``).

Every method takes one lock: the adapter's threads (and the sync loop's reader) share a limiter.
Windows are measured and waited out on the adapter's clock (``leadsync.api.Clock``): on a fake
one, a test that fills a ten-second window waits for it without taking ten seconds.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping

import structlog

from leadsync.api import SYSTEM_CLOCK, ApiBudget, Clock

__all__ = ["RateLimiter", "Window"]

log = structlog.get_logger("leadsync.hubspot.ratelimit")
SEARCH_INTERVAL_S = 1.05
# Calls overlap only while more than this is left of the daily quota: far more than can be in
# flight at once (a few threads, a few calls each), so none of them can be the one refused.
DAILY_RESERVE = 50


class Window:
    """At most ``limit`` calls in any ``interval`` seconds, remembered as call times."""

    def __init__(self, limit: int, interval: float) -> None:
        if limit < 1 or interval <= 0:
            raise ValueError("a rate window needs limit >= 1 and interval > 0")
        self.limit = limit
        self.interval = interval
        self._calls: deque[float] = deque()

    def _prune(self, now: float) -> None:
        while self._calls and self._calls[0] <= now - self.interval:
            self._calls.popleft()

    def used(self, now: float) -> int:
        """Calls made in the window that ends at ``now``."""
        self._prune(now)
        return len(self._calls)

    def wait(self, now: float) -> float:
        """Seconds until one more call fits (0: now)."""
        self._prune(now)
        if len(self._calls) < self.limit:
            return 0.0
        return self._calls[len(self._calls) - self.limit] + self.interval - now

    def frees_in(self, now: float) -> float:
        """Seconds until the oldest call in the window expires (the whole interval when empty)."""
        self._prune(now)
        return self._calls[0] + self.interval - now if self._calls else self.interval

    def record(self, now: float, count: int = 1) -> None:
        self._calls.extend([now] * count)


class RateLimiter:
    """Paces calls under HubSpot's burst policy and, for searches, its per-second search limit."""

    def __init__(
        self,
        per_interval: int = 190,
        interval_s: float = 10.0,
        search_per_s: int = 5,
        *,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.burst = Window(per_interval, interval_s)
        self.search = Window(search_per_s, SEARCH_INTERVAL_S)
        self.clock = clock
        self._lock = threading.Lock()
        self.daily_remaining: int | None = None  # as HubSpot last reported it (None: never)
        self.daily_max: int | None = None

    def acquire(self, *, search: bool = False) -> None:
        """Block until a call (a search call when ``search``) fits in every window, then count it."""
        while True:
            with self._lock:
                now = self.clock.monotonic()
                wait = self.burst.wait(now)
                if search:
                    wait = max(wait, self.search.wait(now))
                if wait <= 0:
                    self.burst.record(now)
                    if search:
                        self.search.record(now)
                    return
            log.debug("rate_wait", wait_s=round(wait, 3), search=search)
            self.clock.sleep(wait)

    def update_from_headers(self, headers: Mapping[str, str]) -> None:
        """Adopt the burst policy HubSpot reports; count calls it saw that we did not make."""
        lower = {k.lower(): v for k, v in headers.items()}
        limit = _int(lower.get("x-hubspot-ratelimit-max"))
        interval_ms = _int(lower.get("x-hubspot-ratelimit-interval-milliseconds"))
        remaining = _int(lower.get("x-hubspot-ratelimit-remaining"))
        daily = _int(lower.get("x-hubspot-ratelimit-daily-remaining"))
        daily_max = _int(lower.get("x-hubspot-ratelimit-daily"))
        with self._lock:
            if daily is not None:
                self.daily_remaining = daily
            if daily_max is not None and daily_max > 0:
                self.daily_max = daily_max
            if limit and limit > 0:
                self.burst.limit = limit
            if interval_ms and interval_ms > 0:
                self.burst.interval = interval_ms / 1000
            if remaining is not None:
                # Other clients of the same app share the window: pad our count up to HubSpot's.
                now = self.clock.monotonic()
                missing = (self.burst.limit - remaining) - self.burst.used(now)
                if missing > 0:
                    self.burst.record(now, missing)

    def daily_low(self) -> bool:
        """Whether so little is left of the daily quota that calls should go one at a time."""
        with self._lock:
            return self.daily_remaining is not None and self.daily_remaining <= DAILY_RESERVE

    def budget(self) -> ApiBudget | None:
        """The daily quota as HubSpot last reported it (None before any response said)."""
        with self._lock:
            if self.daily_remaining is None:
                return None
            return ApiBudget("requests", limit=self.daily_max, remaining=self.daily_remaining)

    def window_frees_in(self, *, search: bool = False) -> float:
        """After a 429: how long until the window that refused us frees a slot (a best guess).

        HubSpot counted more than we did (other clients of the app, or limits lower than ours), so
        the window is taken as full from now: every thread waits for it, rather than each retrying
        on its own as soon as our count says there is room.
        """
        with self._lock:
            now = self.clock.monotonic()
            window = self.search if search else self.burst
            missing = window.limit - window.used(now)
            if missing > 0:
                window.record(now, missing)
            return max(0.25, window.frees_in(now))


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
