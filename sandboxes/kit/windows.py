"""Rolling windows for the CRMs' limits: a total over the last 24 hours of the sandbox clock (daily
API allowances, credits), and the instants of recent requests (per-second and 10-second limits)."""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta

__all__ = ["DAY", "RollingTotal", "prune"]

DAY = timedelta(hours=24)


class RollingTotal:
    """What was counted in the last ``span`` (a day) of the sandbox clock; it moves with ``advance()``."""

    def __init__(self, span: timedelta = DAY) -> None:
        self.span = span
        self.events: deque[tuple[datetime, int]] = deque()
        self.total = 0

    def used(self, now: datetime) -> int:
        while self.events and self.events[0][0] <= now - self.span:
            self.total -= self.events.popleft()[1]
        return self.total

    def add(self, now: datetime, n: int = 1) -> None:
        if self.events and self.events[-1][0] == now:
            self.events[-1] = (now, self.events[-1][1] + n)
        else:
            self.events.append((now, n))
        self.total += n

    def reset(self, now: datetime, used: int = 0) -> None:
        """Forget the window; ``used``: as if that many were counted just now."""
        self.events.clear()
        self.total = 0
        if used:
            self.add(now, used)


def prune(window: deque[float], cutoff: float) -> None:
    """Drop the instants at or before ``cutoff`` from a window of request instants, oldest first."""
    while window and window[0] <= cutoff:
        window.popleft()
