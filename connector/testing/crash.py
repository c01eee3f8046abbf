"""Crash injection: a run that dies at any CRM call, without killing the test process.

The sync contract suite kills a run at every CRM call it makes, one call per fresh CRM, and checks
that the next runs reach the same CRM state as an uninterrupted sync. It needs two things:

- ``Crash``, a ``BaseException``: nothing in leadsync or an adapter may catch it, as nothing can
  catch ``kill -9``. Retry policies let it through (they retry ``RetryableError`` only).
- a *call tap* (``CallTap``): a function the harness arranges to be called with a short name of
  each request (``"POST /crm/v3/objects/contacts/search"``) just before the adapter sends it.
  ``CallLog`` is the tap the suite uses: it counts and names the calls, and from its ``crash_at``-th
  call on it raises ``Crash`` instead of letting them go.

``http_calls`` installs a tap for adapters that speak HTTP through urllib3 (``requests``,
simple-salesforce and hubspot-api-client all do): the harness of such an adapter needs nothing
else. An adapter with another transport calls the tap from its own seam (see the toy adapter in
leadsync's tests, whose fake CRM is in memory).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

__all__ = ["CallLog", "CallTap", "Crash", "http_calls"]

CallTap = Callable[[str], None]


class Crash(BaseException):
    """Stands for the process dying at a CRM call (a BaseException: nothing may catch it)."""


class CallLog:
    """A call tap that records each call's name and, from call ``crash_at`` on, raises ``Crash``.

    Thread-safe: adapters send calls from several threads. Every call from the ``crash_at``-th on
    crashes, so a call on another thread cannot slip past the crash point.
    """

    def __init__(self, crash_at: int | None = None) -> None:
        self.crash_at = crash_at
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, call: str) -> None:
        with self._lock:
            self.calls.append(call)
            n = len(self.calls)
        if self.crash_at is not None and n >= self.crash_at:
            raise Crash(f"the process died at CRM call {n}: {call}")

    def __len__(self) -> int:
        return len(self.calls)


@contextmanager
def http_calls(base_url: str, tap: CallTap) -> Iterator[None]:
    """Call ``tap("METHOD /path")`` before each HTTP request this process sends, through urllib3, to
    ``base_url``'s host and port, while the context is open.

    urllib3's connection pool is where ``requests`` (so simple-salesforce) and hubspot-api-client
    meet, whatever their own layers do; a request to another host is left alone. One tap at a
    time: the patch is the process's.
    """
    from urllib3.connectionpool import HTTPConnectionPool

    where = urlsplit(base_url)
    host, port = where.hostname, where.port or (443 if where.scheme == "https" else 80)
    real = HTTPConnectionPool.urlopen

    def urlopen(pool: HTTPConnectionPool, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if pool.host == host and pool.port == port:
            tap(f"{method} {urlsplit(url).path}")
        return real(pool, method, url, *args, **kwargs)

    HTTPConnectionPool.urlopen = urlopen  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        HTTPConnectionPool.urlopen = real  # type: ignore[method-assign]
