"""The one retry policy for CRM calls: tenacity, honouring the CRM's own wait when it gives one.

Retried: ``RetryableError`` (rate limits, 5xx, dropped connections, timeouts). Never retried:
``AuthError``, ``QuotaExhausted``, other ``CrmError``s. A ``RetryableError`` that carries
``retry_after`` waits exactly that long; others back off exponentially with jitter. The waits are
the policy's clock's sleeps (the system's unless a ``Clock`` is given), or ``sleep`` when given.

A CRM that cannot be reached at all (``Unreachable``: refused, DNS, a connect timeout) on a policy
none of whose calls has worked yet is given up on within ``first_contact_s`` (10 s), counting each
attempt at ``connect_timeout`` (the connect timeout adapters give their HTTP clients), so that a
wrong URL or a closed firewall is reported at ``check`` or at a run's first call in seconds, not
after a minute of back-off. Once a call has worked, the same failure is transient and retried as
any other: the network blinked mid-run.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any, TypeVar

import requests
import structlog
import urllib3.exceptions
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    stop_any,
)
from tenacity.stop import stop_base
from tenacity.wait import wait_exponential_jitter

from leadsync.api._clock import SYSTEM_CLOCK, Clock
from leadsync.errors import CrmError, RetryableError, TransientError, Unreachable

__all__ = ["CONNECT_TIMEOUT_S", "FIRST_CONTACT_S", "RetryPolicy", "network_error", "with_retries"]

# Seconds to wait for a TCP connection (and TLS handshake) to a CRM: a reachable API answers well
# within it; 3 s outlasts one lost SYN (retransmitted after 1 s), as requests' docs advise.
CONNECT_TIMEOUT_S = 3.05
# How long, at most, a policy keeps trying a CRM it has never reached in this process.
FIRST_CONTACT_S = 10.0

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
        first_contact_s: float = FIRST_CONTACT_S,
        connect_timeout: float = CONNECT_TIMEOUT_S,
    ) -> None:
        self.attempts = attempts
        self.max_seconds = max_seconds
        self._backoff = wait_exponential_jitter(multiplier=initial, max=maximum)
        self.clock = clock
        # Every wait an adapter makes besides the rate limiter's (lock backoffs, a search index
        # catching up) goes through this, so a test's recorder or fake clock sees them all.
        self.sleep: Callable[[float], None] = sleep or clock.sleep
        self.first_contact_s = first_contact_s
        self.connect_timeout = connect_timeout
        self.reached = False  # whether one call of this policy has worked (this process)

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
            stop=stop_any(
                stop_after_attempt(self.attempts),
                stop_after_delay(self.max_seconds),
                _NeverReached(self, self.clock.monotonic()),
            ),
            sleep=self.sleep,
            before_sleep=self._log,
            reraise=True,
        )
        try:
            result = retrying(fn)
        except CrmError as error:
            # Any answer (a 401, a 500) means the CRM can be reached; no connection does not.
            self.reached = self.reached or error.status is not None
            raise
        self.reached = True
        return result


class _NeverReached(stop_base):
    """Stop when the CRM was never reached and one more attempt could end past the budget.

    The time spent is the clock's (which a ``FakeClock``'s sleeps move), or the waits alone when
    they are only recorded; the next attempt is counted at the full connect timeout.
    """

    def __init__(self, policy: RetryPolicy, started: float) -> None:
        self.policy = policy
        self.started = started

    def __call__(self, state: RetryCallState) -> bool:
        policy = self.policy
        error = state.outcome.exception() if state.outcome else None
        if policy.reached or not isinstance(error, Unreachable):
            return False
        spent = max(policy.clock.monotonic() - self.started, state.idle_for)
        return spent + state.upcoming_sleep + policy.connect_timeout > policy.first_contact_s


_DEFAULT = RetryPolicy()


def network_error(message: str, exc: BaseException, **kwargs: Any) -> TransientError:
    """The error for an HTTP call that raised ``exc`` before any answer: ``Unreachable`` when no
    connection was made (refused, DNS, connect timeout), else ``TransientError`` (a dropped or
    reset connection, a read timeout). ``kwargs`` as for ``CrmError`` (url, status, body)."""
    if _no_connection(exc):
        return Unreachable(
            f"{message} (cannot connect: is the URL right, and the CRM reachable from here?)", **kwargs
        )
    return TransientError(message, **kwargs)


_NO_CONNECTION = (
    urllib3.exceptions.NewConnectionError,  # refused; NameResolutionError (DNS) is one
    urllib3.exceptions.ConnectTimeoutError,
    requests.exceptions.ConnectTimeout,
    ConnectionRefusedError,
    socket.gaierror,
)


def _no_connection(exc: BaseException) -> bool:
    """Whether ``exc`` or what it wraps (requests wraps urllib3's MaxRetryError, whose ``reason``
    is the real one) says that no connection could be made."""
    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo:
        item = todo.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, _NO_CONNECTION):
            return True
        todo += [getattr(item, "reason", None), item.__cause__, item.__context__, *item.args]
    return False


def with_retries(fn: Callable[[], T], policy: RetryPolicy | None = None) -> T:
    """Call ``fn`` under ``policy`` (the default one when None)."""
    return (policy or _DEFAULT).call(fn)
