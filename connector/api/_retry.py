"""The one retry policy for CRM calls: tenacity, honouring the CRM's own wait when it gives one.

Retried: ``RetryableError`` (rate limits, 5xx, dropped connections, timeouts). Never retried:
``AuthError``, ``QuotaExhausted``, other ``CrmError``s. A ``RetryableError`` that carries
``retry_after`` waits exactly that long; others back off exponentially with jitter. The waits are
the policy's clock's sleeps (the system's unless a ``Clock`` is given), or ``sleep`` when given.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import structlog
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, stop_after_delay
from tenacity.wait import wait_exponential_jitter

from leadsync.api._clock import SYSTEM_CLOCK, Clock
from leadsync.errors import RetryableError

__all__ = ["RetryPolicy", "with_retries"]

T = TypeVar("T")
log = structlog.get_logger("leadsync.retry")


class RetryPolicy:
    """How many times and how long to keep trying one call."""

    def __init__(
        self,
        attempts: int = 8,
        max_seconds: float = 300.0,
        initial: float = 0.5,
        maximum: float = 30.0,
        sleep: Callable[[float], None] | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.attempts = attempts
        self.max_seconds = max_seconds
        self._backoff = wait_exponential_jitter(multiplier=initial, max=maximum)
        self.clock = clock
        # Every wait an adapter makes besides the rate limiter's (lock backoffs, a search index
        # catching up) goes through this, so a test's recorder or fake clock sees them all.
        self.sleep: Callable[[float], None] = sleep or clock.sleep

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RetryableError) and error.retry_after is not None:
            return max(0.0, error.retry_after)
        return float(self._backoff(state))

    def _log(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.warning(
            "http_retry",
            attempt=state.attempt_number,
            wait_s=round(state.upcoming_sleep, 3),
            error=type(error).__name__,
            status=getattr(error, "status", None),
            detail=str(error)[:200],
        )

    def call(self, fn: Callable[[], T]) -> T:
        """``fn()``, again while it raises a ``RetryableError``, within the policy's bounds."""
        retrying = Retrying(
            retry=retry_if_exception_type(RetryableError),
            wait=self._wait,
            stop=stop_after_attempt(self.attempts) | stop_after_delay(self.max_seconds),
            sleep=self.sleep,
            before_sleep=self._log,
            reraise=True,
        )
        return retrying(fn)


_DEFAULT = RetryPolicy()


def with_retries(fn: Callable[[], T], policy: RetryPolicy | None = None) -> T:
    """Call ``fn`` under ``policy`` (the default one when None)."""
    return (policy or _DEFAULT).call(fn)
