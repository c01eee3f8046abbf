"""Reading leadsync's own writes back while the rest of the contacts are still being read.

Every contact leadsync writes gets a new ``lastmodifieddate``, so the run's own search meets it
again: an *echo*. HubSpot's search cannot leave an app's own writes out. Read in one stream, the
echoes all come after every contact the run had to read — a tail of searches alone, paced by
HubSpot's 5 searches a second while the 190-per-10-seconds window sits mostly unused. (A
20,000-contact backfill spent 28 of its 77 seconds there.)

``EchoChaser`` splits the read in two at the *split*: the ``lastmodifieddate`` of the run's first
write (HubSpot returns it with every batch update, ``updatedAt``).

- The **main** stream reads ``(cursor, split)``: every search it sends from then on also says
  ``lastmodifieddate LT split``.
- The **chase** stream reads ``[split, bound)``: the echoes, and whatever people changed after
  the split. It searches only when a page's worth of confirmed writes (200) waits below the
  bound, so its searches are full pages, made while the main stream reads. Its pages carry no
  cursor: the loop commits the main stream's cursors only.
- The **bound** keeps the chase stream behind every write that could still land below it. HubSpot
  stamps a write when it arrives, so a write sent after HubSpot confirmed another is stamped at
  or after that one. Each write is given, when it starts, the latest stamp confirmed so far (its
  *floor*); the bound is the lowest floor of the writes under way, or the latest confirmed stamp
  when none is, and the chase stream's searches say ``lastmodifieddate LT bound``. Writes go on
  while it searches: it never has to wait for them to finish.
- When the main stream ends, the chase stream reads on to the end with cursors of its own, which
  then say everything is read: the main stream covered what came before the split.

A crash or stop between the two costs no correctness: the stored cursor is the main stream's, and
the next run reads the chase stream's contacts again (echoes, recognised and skipped). A contact
read by both streams (read by the main stream before the split was known, then changed) is read
twice; the loop keeps the last reading. Without a write during the read there is no split and the
main stream reads everything, as a single stream would.
"""

from __future__ import annotations

import bisect
import contextvars
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace

import structlog

from leadsync.api import JSON, CrmError

from .paging import MODIFIED, PAGE, SearchCursor, SearchFilter, SearchRequest, search_pages

__all__ = ["EchoChaser"]

Pages = Iterator[tuple[list[JSON], SearchCursor]]
log = structlog.get_logger("leadsync.hubspot.echoes")


class EchoChaser:
    """One read's split between contacts to read and leadsync's own writes to read back.

    The chase stream runs on a thread of its own (``start``, ``close``) and searches when a page
    of confirmed writes waits below the bound and no main search is under way; it then waits for
    the adapter's limiter like every other call, so the tail of searches alone that a single
    stream ends with is spread over the read. The main stream takes its pages with ``take``.
    """

    def __init__(
        self,
        search: Callable[[SearchRequest], JSON],
        properties: tuple[str, ...],
        stamp: Callable[[JSON], int],
        *,
        page_size: int = PAGE,
    ) -> None:
        self._search = search
        self._properties = properties
        self._stamp = stamp
        self.page_size = page_size
        self._cond = threading.Condition()
        self._split: int | None = None
        self._unread: list[int] = []  # confirmed stamps past the chase stream's cursor, sorted
        self._latest: int | None = None  # the latest stamp HubSpot confirmed
        self._floors: Counter[int | None] = Counter()  # of the writes under way
        self._bounded = True  # until ``rest``: the chase stream reads below the bound
        self._main_busy = 0  # main-stream searches under way
        self._first: list[int] = []  # the stamps of the writes before the split was set
        self._ready: deque[list[JSON]] = deque()
        self._error: BaseException | None = None
        self._closed = False
        self._thread: threading.Thread | None = None
        self._pages: Pages | None = None
        self._cursor: SearchCursor | None = None  # where the chase stream resumes
        self._cut = False  # the last search stopped at a page bound, below the bound
        self.searches = 0

    @property
    def split(self) -> int | None:
        with self._cond:
            return self._split

    def written(self, records: Sequence[JSON]) -> None:
        """Contacts HubSpot confirmed written (a batch update's results)."""
        stamps = [s for s in (self._stamp_or_none(r) for r in records) if s is not None]
        with self._cond:
            for stamp in stamps:
                bisect.insort(self._unread, stamp)
            if stamps:
                self._latest = max(self._latest or 0, *stamps)
            if self._split is None:
                self._first += stamps
            self._cond.notify_all()

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Around a write (all its batch updates): the first sets the split, once it is all done.

        Its batch updates go out side by side, so the one confirmed first may not carry the
        earliest stamp; the split is the earliest of them all. While it is under way, its floor
        bounds the chase stream (see ``_bound``).
        """
        with self._cond:
            floor = self._latest
            self._floors[floor] += 1
        try:
            yield
        finally:
            with self._cond:
                self._floors[floor] -= 1
                if not self._floors[floor]:
                    del self._floors[floor]
                if self._split is None and self._first and not self._floors:
                    self._split = min(self._first)
                    log.info("echo_split", at_ms=self._split)
                self._cond.notify_all()

    def main_search(self, request: SearchRequest) -> JSON:
        """The main stream's search: below the split, once there is one."""
        with self._cond:
            split = self._split
            self._main_busy += 1
        try:
            if split is not None:
                bound = SearchFilter(MODIFIED, "LT", str(split))
                groups = tuple((*group, bound) for group in request.groups) or ((bound,),)
                request = replace(request, groups=groups)
            return self._search(request)
        finally:
            with self._cond:
                self._main_busy -= 1
                self._cond.notify_all()

    # -- the chase stream, while the main stream reads ----------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(  # in the run's context: its log lines name the run
            target=contextvars.copy_context().run,
            args=(self._chase,),
            name="leadsync-echo-chaser",
            daemon=True,
        )
        self._thread.start()

    def take(self) -> list[list[JSON]]:
        """The chase stream's pages read since the last ``take`` (their cursors are kept here)."""
        with self._cond:
            if self._error is not None:
                raise self._error
            pages = list(self._ready)
            self._ready.clear()
            return pages

    def close(self) -> None:
        """Stop the chase thread (a search under way finishes first) and wait for it."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _chase(self) -> None:
        try:
            while True:
                with self._cond:
                    while not self._closed and not self._may_search():
                        self._cond.wait()
                    if self._closed:
                        return
                page = self._next()
                with self._cond:
                    if self._cursor is not None:  # what the chase stream has read is no longer due
                        del self._unread[: bisect.bisect_right(self._unread, self._cursor.ts_ms)]
                    if page is not None:
                        self._ready.append(page)
        except BaseException as exc:  # the main stream raises it when it takes the pages
            with self._cond:
                self._error = exc

    def _bound(self) -> int | None:
        """The stamp the chase stream reads below; None: no bound.

        A write under way is stamped at or after its floor, and one not yet started at or after
        the latest stamp confirmed (both may be that very millisecond, hence ``LT``). Searching
        up to "now" instead could pass a write's contacts: batch updates go out side by side, and
        one HubSpot confirms later may carry the same millisecond as one it has confirmed, with
        lower ids, below the chase stream's exact cursor. After the main stream (``rest``), the
        loop starts no more writes of its own until it has the last page, so only the writes
        under way bound the chase stream.
        """
        bounds = [f for f in self._floors if f is not None]
        if self._bounded and self._latest is not None:
            bounds.append(self._latest)
        return min(bounds) if bounds else None

    def _may_search(self) -> bool:
        """A page's worth of confirmed writes waits below the bound, and the main stream would not wait."""
        if self._split is None:
            return False
        bound = self._bound()
        waiting = len(self._unread) if bound is None else bisect.bisect_left(self._unread, bound)
        return waiting >= self.page_size and self._main_busy == 0

    # -- the chase stream, after the main stream -----------------------------------------------

    def rest(self) -> Iterator[tuple[list[JSON], SearchCursor | None]]:
        """After the main stream: the chase stream to the end, each page with its cursor.

        The pages the thread read and nobody took yet come first, without a cursor. Once there is
        a split there is always a page with a cursor (perhaps with no records), so the cursor the
        loop commits last is the chase stream's, past the echoes already read back. Caught up
        below a write still under way (the loop's last batch, while these pages are read ahead),
        it waits for that write and reads its echoes too, so the next run does not.
        """
        self.close()
        with self._cond:
            self._bounded = False  # see ``_bound``
        self._pages = None  # a read the thread left ended at a bound that no longer holds
        for page in self.take():
            yield page, None
        if self.split is None:
            return
        yielded = False
        while True:
            records = self._next()
            if records is None:
                if self._writes_ended():
                    continue
                break
            yield records, self._cursor
            yielded = True
        if not yielded and self._cursor is not None:
            yield [], self._cursor

    def _writes_ended(self) -> bool:
        """Wait for the writes under way, if any; whether there were some."""
        with self._cond:
            if not self._floors:
                return False
            while self._floors:
                self._cond.wait()
            return True

    def _next(self) -> list[JSON] | None:
        """The chase stream's next page (None at its end; the next call searches afresh).

        A read that ended at a page bound (``_page_bound``) is not the end: it searches on.
        """
        while True:
            fresh = self._pages is None
            if self._pages is None:
                start = self._cursor or SearchCursor(self.split or 0)
                self._pages = search_pages(self._counted, self._properties, start, self._stamp)
            try:
                records, self._cursor = next(self._pages)
                return records
            except StopIteration:
                self._pages = None
                if fresh or not self._cut:
                    return None

    def _page_bound(self) -> int | None:
        """``_bound``, or lower: below the stamp that would overflow a page of confirmed writes.

        HubSpot orders equal stamps as it likes, so a page that ends inside a group of equal
        stamps (a batch update's hundred contacts often share one) is finished by a query of its
        own for that group. A bound between two groups ends the page there, in one search.
        """
        bound = self._bound()
        lo = bisect.bisect_right(self._unread, self._cursor.ts_ms) if self._cursor else 0
        hi = len(self._unread) if bound is None else bisect.bisect_left(self._unread, bound)
        if hi - lo <= self.page_size:
            return bound
        overflow = self._unread[lo + self.page_size]
        if bisect.bisect_left(self._unread, overflow) == lo:
            return bound  # one group fills the page: no boundary to stop at
        return overflow

    def _counted(self, request: SearchRequest) -> JSON:
        with self._cond:
            bound = self._page_bound()
            self._cut = bound is not None and bound != self._bound()
        if bound is not None:
            limit = SearchFilter(MODIFIED, "LT", str(bound))
            groups = tuple((*group, limit) for group in request.groups) or ((limit,),)
            request = replace(request, groups=groups)
        self.searches += 1
        return self._search(request)

    def _stamp_or_none(self, record: JSON) -> int | None:
        try:
            return self._stamp(record)
        except CrmError:  # a result without its stamp sets no split; the next one may
            return None
