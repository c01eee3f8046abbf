"""One clock for everything an adapter waits on or stamps: ``now()``, ``sleep()`` and ``monotonic()``.

The retry policy sleeps on it, every rate limiter measures its windows and waits on it, and the
adapters stamp resume times and task due dates with it. ``SYSTEM_CLOCK`` is the real one. A
``FakeClock`` moves only when something sleeps on it (or a test advances it): a rate-limit wait
of ten seconds takes none, and the code under test cannot tell.

A connection's ``clock`` option takes a ``Clock`` or, as adapters took before there was one, a
callable returning "now" (a sandbox's clock): ``as_clock`` makes either a ``Clock``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

__all__ = ["SYSTEM_CLOCK", "Clock", "FakeClock", "SystemClock", "as_clock"]


@runtime_checkable
class Clock(Protocol):
    """What an adapter reads the time from and waits on."""

    def now(self) -> datetime:
        """The current time, timezone-aware."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (nothing for zero or less)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back, for measuring rate windows."""
        ...


class SystemClock:
    """The machine's clock: UTC now, real sleeps, ``time.monotonic``."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def monotonic(self) -> float:
        return time.monotonic()

    def __repr__(self) -> str:
        return "SystemClock()"


SYSTEM_CLOCK = SystemClock()


class FakeClock:
    """A clock that moves only when slept on or advanced; ``slept`` lists every wait asked of it.

    Safe to share between threads (an adapter's fan-out sleeps on it from several at once).
    """

    def __init__(self, start: datetime | None = None) -> None:
        self.start = start or datetime.now(UTC)
        if self.start.tzinfo is None:
            raise ValueError("a FakeClock starts at an aware datetime")
        self.elapsed = 0.0
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self.start + timedelta(seconds=self.elapsed)

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self.elapsed += max(0.0, seconds)

    def monotonic(self) -> float:
        with self._lock:
            return self.elapsed

    def advance(self, seconds: float) -> None:
        """Move the clock on without counting it as a wait."""
        with self._lock:
            self.elapsed += seconds

    def __repr__(self) -> str:
        return f"FakeClock(start={self.start.isoformat()}, elapsed={self.elapsed})"


class _NowClock:
    """A callable giving "now" (a sandbox's clock), with the machine's sleeps and monotonic time."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now()

    def sleep(self, seconds: float) -> None:
        SYSTEM_CLOCK.sleep(seconds)

    def monotonic(self) -> float:
        return time.monotonic()

    def __repr__(self) -> str:
        return f"Clock(now={self._now!r})"


def as_clock(value: object) -> Clock:
    """``value`` as a ``Clock``: a Clock as it is, a callable giving "now" wrapped, None the system's.

    Raises ValueError for anything else (an option validator reports it at the option's line).
    """
    if value is None:
        return SYSTEM_CLOCK
    if isinstance(value, Clock):
        return value
    if callable(value):
        return _NowClock(value)
    raise ValueError("`clock` must be a leadsync.api.Clock or a callable returning an aware datetime")
