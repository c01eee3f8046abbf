"""HubSpot's search says how many contacts match (``total``): the pages carry it, for the ETA."""

from __future__ import annotations

from leadsync.adapters.hubspot.adapter import from_options
from leadsync.adapters.hubspot.paging import SearchCursor
from tests.e2e.helpers import TOKEN, start_sandbox


def test_every_page_of_a_backfill_says_how_many_the_read_holds() -> None:
    sb = start_sandbox(contacts=450)
    try:
        adapter = from_options(
            {"base_url": sb.url, "token": TOKEN, "rate_per_10s": 10_000, "search_per_s": 1_000}
        )
        pages = list(adapter.read_contacts(None))
        read = sum(len(p.records) for p in pages)
        assert read == 450 and len(pages) >= 3
        assert [p.total for p in pages] == [450] * len(pages)
        # From a cursor, the read holds the rest: what changed after it.
        middle = pages[0].cursor
        assert middle is not None and SearchCursor.decode(middle)
        rest = list(adapter.read_contacts(middle))
        assert rest[0].total == sum(len(p.records) for p in rest) < 450
    finally:
        sb.stop()
