"""A sandbox's clock: starts at a given time, runs in real time, and can be moved forward."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

__all__ = ["SandboxClock"]


class SandboxClock:
    """``clock()`` is ``start`` plus the real time elapsed plus every ``advance()``."""

    def __init__(self, start: datetime | None = None) -> None:
        self._start = (start or datetime.now(UTC)).astimezone(UTC)
        self._t0 = time.monotonic()
        self._offset = timedelta()
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._start + timedelta(seconds=time.monotonic() - self._t0) + self._offset

    def advance(self, seconds: float) -> datetime:
        """Jump forward (session timeouts, query locators, the rolling 24 h API window)."""
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        with self._lock:
            self._offset += timedelta(seconds=seconds)
        return self()
