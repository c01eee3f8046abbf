"""Contact paging by keyset over a fake search that returns equal timestamps in random order."""

from __future__ import annotations

import random
from typing import Any

import pytest

from leadsync.adapters.hubspot.paging import SearchCursor, SearchRequest, paginate, search_pages

JSON = dict[str, Any]


class FakeSearch:
    """HubSpot search semantics that matter here: filters, one sort, ties in any order, 10k cap."""

    def __init__(self, stamps: list[int], seed: int = 0, window: int = 10_000) -> None:
        self.records: list[JSON] = [
            {"id": str(1000 + i), "properties": {"lastmodifieddate": str(ts), "hs_object_id": str(1000 + i)}}
            for i, ts in enumerate(stamps)
        ]
        self.rng = random.Random(seed)
        self.window = window
        self.requests: list[SearchRequest] = []

    def __call__(self, req: SearchRequest) -> JSON:
        self.requests.append(req)
        after = int(req.after or 0)
        if after + req.limit > self.window:
            raise AssertionError("paged past the 10,000-result window (HubSpot answers 400)")
        hits = [
            r for r in self.records if not req.groups or any(all(_ok(r, f) for f in g) for g in req.groups)
        ]
        self.rng.shuffle(hits)  # ties come back in no particular order
        hits.sort(key=lambda r: int(r["properties"][req.sort]))
        page = hits[after : after + req.limit]
        body: JSON = {"total": len(hits), "results": page}
        if after + req.limit < len(hits):
            body["paging"] = {"next": {"after": str(after + req.limit)}}
        return body


def _ok(record: JSON, f: Any) -> bool:
    value, target = int(record["properties"][f.property]), int(f.value)
    return {"GT": value > target, "GTE": value >= target, "EQ": value == target}[f.operator]


def stamp(record: JSON) -> int:
    return int(record["properties"]["lastmodifieddate"])


def read(search: FakeSearch, cursor: SearchCursor | None = None) -> list[tuple[list[str], SearchCursor]]:
    return [([r["id"] for r in rs], c) for rs, c in search_pages(search, ("email",), cursor, stamp)]


STAMP_SHAPES = {
    "distinct": lambda n: [1_000_000 + i for i in range(n)],
    "triples": lambda n: [1_000_000 + i // 3 for i in range(n)],
    "bursts": lambda n: [1_000_000 + (i // 150) * 7 for i in range(n)],
    "one_instant": lambda n: [1_000_000] * n,
    "page_sized_ties": lambda n: [1_000_000 + i // 200 for i in range(n)],
}


class TestKeysetPaging:
    @pytest.mark.parametrize("shape", sorted(STAMP_SHAPES))
    @pytest.mark.parametrize("seed", [1, 2])
    def test_every_contact_once_and_every_cursor_resumes(self, shape: str, seed: int) -> None:
        """A full read returns each contact once; resuming after any page loses nothing.

        The overlap is the contacts at the page's last timestamp, fewer than half a page (more
        are drained by id, exactly).
        """
        search = FakeSearch(STAMP_SHAPES[shape](1_234), seed)
        pages = read(search)
        ids = [i for p, _ in pages for i in p]
        assert len(ids) == len(set(ids)) == 1_234
        for n, (_, cursor) in enumerate(pages):
            head = {i for p, _ in pages[: n + 1] for i in p}
            rest = [i for p, _ in read(search, cursor) for i in p]
            assert len(rest) == len(set(rest))
            assert head | set(rest) == set(ids)
            assert len(head & set(rest)) < 100

    def test_never_pages_with_after(self) -> None:
        """Every query is re-anchored, so HubSpot's 10,000-result window never applies."""
        search = FakeSearch(STAMP_SHAPES["triples"](10_500), window=10_000)
        ids = [i for p, _ in read(search) for i in p]
        assert len(set(ids)) == 10_500
        assert all(r.after is None for r in search.requests)
        assert all(r.limit == 200 for r in search.requests)

    def test_ten_thousand_ties_at_one_instant(self) -> None:
        """More ties than one query's window are drained by id, with exact cursors."""
        search = FakeSearch([5_000] * 10_300)
        pages = read(search)
        ids = [i for p, _ in pages for i in p]
        assert len(ids) == len(set(ids)) == 10_300
        assert pages[-1][1] == SearchCursor(5_000, 1000 + 10_299)

    def test_final_cursor_is_exact(self) -> None:
        """Resuming from the last cursor returns nothing until something changes."""
        search = FakeSearch(STAMP_SHAPES["triples"](500))
        final = read(search)[-1][1]
        assert read(search, final) == []
        search.records.append(
            {"id": "9999", "properties": {"lastmodifieddate": "2000000", "hs_object_id": "9999"}}
        )
        assert [p for p, _ in read(search, final)] == [["9999"]]

    def test_a_search_that_ignores_filters_ends(self) -> None:
        """An API that answers the same page whatever we ask cannot make the read loop forever."""
        page = {
            "results": [{"id": "5", "properties": {"lastmodifieddate": "7"}}],
            "paging": {"next": {"after": "x"}},
        }
        pages = list(search_pages(lambda req: page, (), None, stamp))
        assert [len(rs) for rs, _ in pages] == [1]


class TestCursorText:
    def test_round_trip(self) -> None:
        assert SearchCursor.decode(SearchCursor(17, 4).encode()) == SearchCursor(17, 4)

    @pytest.mark.parametrize("text", ["", "17:4", "hs2:1:2", "hs1:x:2"])
    def test_foreign_cursor_is_refused(self, text: str) -> None:
        with pytest.raises(ValueError):
            SearchCursor.decode(text)


def test_paginator_stops_on_a_repeated_token() -> None:
    """A page token seen before ends the listing instead of looping."""
    tokens = iter(["a", "b", "a", "c"])
    pages = list(paginate(lambda after: ([after], next(tokens)), "test"))
    assert pages == [[None], ["a"], ["b"]]
