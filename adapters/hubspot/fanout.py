"""Independent HubSpot calls on a few threads: results in input order, the first error raised.

A sync's reads are many small batch calls that do not depend on each other (associations of
three engagement types, dozens of engagement batch reads, contact batches to update), and each
waits a round trip. ``Fanout.map`` runs them on a small thread pool so the waits overlap; the
shared ``RateLimiter`` still paces every call, so overlapping never sends more than the limits
allow, it only stops leaving the allowance unused.

An error stops the fan-out like it stopped the loop before it: calls not yet started are
cancelled, calls under way finish, and the error of the earliest item that failed is raised.
While the client is ``careful`` (the daily quota nearly used up) the calls run one at a time on the
caller's thread, in order, exactly as a plain loop would.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import TypeVar

__all__ = ["DEFAULT_CONCURRENCY", "Fanout"]

DEFAULT_CONCURRENCY = 4
T = TypeVar("T")
R = TypeVar("R")


class Fanout:
    """Runs a function over items on up to ``workers`` threads (one: on the caller's thread)."""

    def __init__(
        self, workers: int = DEFAULT_CONCURRENCY, careful: Callable[[], bool] = lambda: False
    ) -> None:
        if workers < 1:
            raise ValueError(f"a fan-out needs at least one worker, not {workers}")
        self.workers = workers
        self._careful = careful
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """``[fn(item) for item in items]``, the calls overlapping."""
        todo = list(items)
        if self.workers == 1 or len(todo) < 2 or self._careful():
            return [fn(item) for item in todo]
        # Each call in a copy of the caller's context: log lines from the pool's threads carry what
        # the caller bound (the run's connection and id); contextvars do not cross threads alone.
        pool = self._executor()
        futures = [pool.submit(contextvars.copy_context().run, fn, item) for item in todo]
        _, pending = wait(futures, return_when=FIRST_EXCEPTION)
        if pending:  # something failed: start nothing more, let what runs finish
            for future in pending:
                future.cancel()
            wait(pending)
        for future in futures:
            error = _error(future)
            if error is not None:
                raise error
        return [future.result() for future in futures]

    def run(self, calls: Iterable[Callable[[], R]]) -> list[R]:
        """Each call's result, in order, the calls overlapping."""
        return self.map(_call, calls)

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="hubspot")
            return self._pool

    def close(self) -> None:
        """Let the threads go (they also end with the process)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)


def _call(call: Callable[[], R]) -> R:
    return call()


def _error(future: Future[R]) -> BaseException | None:
    return None if future.cancelled() else future.exception()
