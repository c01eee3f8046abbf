"""Paging: contacts through CRM search by ``lastmodifieddate``, and a paginator for ``after`` tokens.

HubSpot search returns at most 10,000 results per query (an ``after`` past that is a 400), sorts
by one property only, and many contacts share a ``lastmodifieddate`` (imports, workflows, our own
batch writes) — https://developers.hubspot.com/docs/api/crm/search. So contacts are read by
*keyset*: every page is a fresh query anchored on the last ``(timestamp, id)`` seen, and no query
ever pages with ``after``, so the 10,000 cap never applies and a contact that changes during the
read cannot shift a page boundary (the re-anchoring follows MeltanoLabs/tap-hubspot and
https://community.hubspot.com/t5/APIs-Integrations/CRM-Record-ID-Sequencing-and-the-Search-API/td-p/927832).

The cursor ``(t, id)`` means: everything modified before ``t`` is read, and at ``t`` every
contact whose ``hs_object_id`` is at most ``id``. The next page asks for ``lastmodifieddate GT t``
OR (``EQ t`` AND ``hs_object_id GT id``), sorted by ``lastmodifieddate``. HubSpot's order among
equal timestamps is unspecified, so a page's cursor is ``(last timestamp, 0)`` — on resume the
contacts at that timestamp are read again, a small overlap that dedupes by id — and the next query
within the same read uses ``GTE`` that timestamp, dropping the ids it already returned. When many
contacts share the last timestamp (half a page or more), they are held back and drained by a
*ties* query, ``EQ t AND hs_object_id GT id`` sorted by ``hs_object_id`` (unique), whose cursors
are exact. The last page's cursor is exact too. Its text is ``hs2:{"t":<ms>,"i":<id>}``
(``leadsync.api.CursorCodec``; ``hs1:<ms>:<id>``, stored before, still reads).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog

from leadsync.api import JSON, CursorCodec

__all__ = [
    "MODIFIED",
    "OBJECT_ID",
    "SearchCursor",
    "SearchFilter",
    "SearchRequest",
    "paginate",
    "search_pages",
]

MODIFIED = "lastmodifieddate"
OBJECT_ID = "hs_object_id"
PAGE = 200

T = TypeVar("T")
log = structlog.get_logger("leadsync.hubspot.paging")


@dataclass(frozen=True)
class SearchFilter:
    """One filter: ``value`` for most operators, ``values`` for ``IN`` and ``NOT_IN``."""

    property: str
    operator: str
    value: str = ""
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class SearchRequest:
    """One search call: filter groups (OR of ANDs), one sort, properties, a page."""

    groups: tuple[tuple[SearchFilter, ...], ...]
    sort: str
    properties: tuple[str, ...]
    limit: int = PAGE
    after: str | None = None
    direction: str = "ASCENDING"


def _first_layout(body: str) -> JSON:
    """Version 1 (until the shared codec): ``hs1:<ms>:<id>``."""
    ts, last = body.split(":")
    return {"t": int(ts), "i": int(last)}


CODEC = CursorCodec("HubSpot contact", "hs", 2, upgrades={1: _first_layout})


@dataclass(frozen=True, order=True)
class SearchCursor:
    """Everything modified before ``ts_ms`` is read, and at ``ts_ms`` every id up to ``last_id``."""

    ts_ms: int
    last_id: int = 0

    def encode(self) -> str:
        return CODEC.encode({"t": self.ts_ms, "i": self.last_id})

    @classmethod
    def decode(cls, text: str) -> SearchCursor:
        data = CODEC.decode(text)
        ts, last = data.get("t", 0), data.get("i", 0)
        if (
            isinstance(ts, bool)
            or not isinstance(ts, int)
            or isinstance(last, bool)
            or not isinstance(last, int)
        ):
            raise CODEC.foreign(text)
        return cls(ts, last)


def paginate(fetch: Callable[[str | None], tuple[list[T], str | None]], what: str) -> Iterator[list[T]]:
    """Pages from ``fetch(after) -> (items, next_after)``; stops when a token comes back twice."""
    after: str | None = None
    seen: set[str] = set()
    while True:
        items, token = fetch(after)
        yield items
        if not token:
            return
        if token in seen:
            log.warning("paging_repeated_token", what=what, after=token)
            return
        seen.add(token)
        after = token


def next_after(body: JSON) -> str | None:
    """``paging.next.after`` of a HubSpot response, as text (None on the last page)."""
    after = ((body.get("paging") or {}).get("next") or {}).get("after")
    return str(after) if after not in (None, "") else None


Search = Callable[[SearchRequest], JSON]
Stamp = Callable[[JSON], int]


def search_pages(
    search: Search,
    properties: tuple[str, ...],
    cursor: SearchCursor | None,
    stamp: Stamp,
    *,
    page_size: int = PAGE,
) -> Iterator[tuple[list[JSON], SearchCursor]]:
    """Raw search results modified after ``cursor``, oldest first, each page with its cursor."""
    props = tuple(sorted({*properties, MODIFIED, OBJECT_ID}))
    yield from _Reader(search, props, stamp, page_size).read(cursor)


class _Reader:
    def __init__(self, search: Search, props: tuple[str, ...], stamp: Stamp, page_size: int) -> None:
        self.search = search
        self.props = props
        self.stamp = stamp
        self.page_size = page_size

    def _query(self, groups: tuple[tuple[SearchFilter, ...], ...], sort: str) -> tuple[list[JSON], bool]:
        """One page of one query: (results, whether more may follow)."""
        body = self.search(SearchRequest(groups, sort, self.props, self.page_size))
        results = list(body.get("results") or [])
        return results, bool(results) and next_after(body) is not None

    def read(self, cursor: SearchCursor | None) -> Iterator[tuple[list[JSON], SearchCursor]]:
        # State: all before `t` read; at `t`, ids <= x read (all of them when `drained`), and `skip`.
        t = cursor.ts_ms if cursor else None
        x = cursor.last_id if cursor else 0
        drained = False
        skip: set[int] = set()
        previous: tuple[Any, ...] | None = None
        while True:
            state = (t, x, drained, len(skip))
            if state == previous:  # the API ignored our filter: stop rather than loop
                log.warning("search_no_progress", at_ms=t, after_id=x)
                return
            previous = state
            results, more = self._query(_groups(t, x, drained), MODIFIED)
            if not results:
                return
            fresh = [r for r in results if not (self.stamp(r) == t and _id(r) in skip)]
            tail_ts = self.stamp(results[-1])
            tail_ids = {_id(r) for r in results if self.stamp(r) == tail_ts}
            if tail_ts == t:  # the whole page sits at the anchor timestamp
                tail_ids |= skip
            if not more:
                last = max(tail_ids | ({x} if tail_ts == t else set()))
                if fresh:
                    yield fresh, SearchCursor(tail_ts, last)
                return
            if tail_ts == t or 2 * len(tail_ids) >= self.page_size:
                # Many ties at the tail: hold them back and drain them in id order (exact cursors).
                before = [r for r in fresh if self.stamp(r) != tail_ts]
                if before:
                    yield before, SearchCursor(tail_ts)
                start, prior = (x, skip) if tail_ts == t else (0, set())
                x = yield from self.ties(tail_ts, start, prior)
                t, drained, skip = tail_ts, True, set()
            else:
                yield fresh, SearchCursor(tail_ts)
                t, x, drained, skip = tail_ts, 0, False, tail_ids

    def ties(
        self, ts: int, last_id: int, skip: set[int]
    ) -> Generator[tuple[list[JSON], SearchCursor], None, int]:
        """Every contact at exactly ``ts`` with an id above ``last_id``, by id; returns the last id."""
        log.info("search_ties", at_ms=ts, after_id=last_id, already=len(skip))
        while True:
            groups = ((SearchFilter(MODIFIED, "EQ", str(ts)), SearchFilter(OBJECT_ID, "GT", str(last_id))),)
            results, more = self._query(groups, OBJECT_ID)
            before = last_id
            if results:
                last_id = max(last_id, *(_id(r) for r in results))
                fresh = [r for r in results if _id(r) not in skip and _id(r) > before]
                if fresh:
                    yield fresh, SearchCursor(ts, last_id)
            if not more:
                return last_id
            if last_id == before:
                log.warning("search_no_progress", at_ms=ts, after_id=last_id)
                return last_id


def _groups(t: int | None, x: int, drained: bool) -> tuple[tuple[SearchFilter, ...], ...]:
    if t is None:
        return ()
    if drained:
        return ((SearchFilter(MODIFIED, "GT", str(t)),),)
    if x == 0:
        return ((SearchFilter(MODIFIED, "GTE", str(t)),),)
    return (
        (SearchFilter(MODIFIED, "GT", str(t)),),
        (SearchFilter(MODIFIED, "EQ", str(t)), SearchFilter(OBJECT_ID, "GT", str(x))),
    )


def _id(record: JSON) -> int:
    return int(str(record.get("id") or (record.get("properties") or {}).get(OBJECT_ID)))
