"""``SleepRecorder``: a retry policy whose waits are recorded, never slept, so tests never wait."""

from __future__ import annotations

from collections.abc import Callable

from leadsync.api import RetryPolicy

__all__ = ["SleepRecorder"]


class SleepRecorder:
    """A retry policy's sleep that only records how long it was asked to wait.

    ``then`` holds functions called with each wait after it is recorded: what the CRM does while
    the adapter backs off (a lock released, the fake's clock moved on).
    """

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.then: list[Callable[[float], None]] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        for action in list(self.then):
            action(seconds)

    def policy(self, attempts: int = 6) -> RetryPolicy:
        """A retry policy that backs off through this recorder: ``attempts`` tries, tiny waits."""
        return RetryPolicy(attempts=attempts, max_seconds=3600, initial=0.001, maximum=0.01, sleep=self)
