"""Read ahead: the next contact pages are fetched on a thread of their own while the loop works.

A sync run alternates between waiting for a search page and working on the pages it has
(deciding, committing, writing). ``ReadAhead`` overlaps the two: a reader thread iterates the
adapter's pages into a queue of at most ``depth`` pages, and the loop takes them from there, in
order, on its own thread. Nothing else changes hands: the reader makes the page reads and nothing
else, and everything the loop does with a page (the state store above all) stays on the loop's
thread, so a page is only ever *committed* by the loop, as before.

- An error while reading (or a ``BaseException``: a crash stand-in) reaches the loop when it takes
  the page that failed, after the pages read before it, as if it had read them itself.
- A stop request (``stop``) ends the reading: the reader fetches no page after it, and the loop
  sees the end of the pages once it has taken the ones already fetched.
- Leaving the ``with`` block (the run ends, stops or fails) stops the reader and waits for it; a
  page request under way finishes first. No page is read after the run.

With ``depth`` 0 the pages are read on the loop's thread, one at a time, as before.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Generic, TypeVar, cast

__all__ = ["ReadAhead"]

T = TypeVar("T")


@dataclass
class _Failed:
    error: BaseException


_END = object()


class ReadAhead(Generic[T]):
    """``with ReadAhead(pages, depth, stop) as ahead: for page in ahead: ...``"""

    def __init__(self, source: Iterable[T], depth: int, stop: threading.Event | None = None) -> None:
        if depth < 0:
            raise ValueError(f"read-ahead depth must be 0 or more, not {depth}")
        self.depth = depth
        self._source = iter(source)
        self._stop = stop or threading.Event()
        self._halt = threading.Event()
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max(1, depth))
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Iterator[T]:
        if self.depth == 0:
            return self._source
        # The reader logs with the run's context (its connection and run id): contextvars do not
        # cross threads by themselves.
        self._thread = threading.Thread(
            target=contextvars.copy_context().run, args=(self._read,), name="leadsync-read-ahead", daemon=True
        )
        self._thread.start()
        return self._taken()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._thread is None:
            _close(self._source)
            return
        self._halt.set()
        while True:  # a reader blocked on a full queue must see the halt
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join()

    def _taken(self) -> Iterator[T]:
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield cast(T, item)

    def _read(self) -> None:
        try:
            while not (self._halt.is_set() or self._stop.is_set()):
                try:
                    item: object = next(self._source)
                except StopIteration:
                    break
                if not self._put(item):
                    return
        except BaseException as exc:  # every failure, a crash stand-in too, belongs to the loop
            self._put(_Failed(exc))
            return
        finally:
            _close(self._source)
        self._put(_END)

    def _put(self, item: object) -> bool:
        """Queue ``item`` unless the loop has gone; False when it has."""
        while not self._halt.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False


def _close(source: Iterator[object]) -> None:
    close = getattr(source, "close", None)
    if close is not None:
        close()
