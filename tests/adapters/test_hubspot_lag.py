"""HubSpot's search shows a change a few moments late: a read's cursor stays behind that lag.

The sandbox leaves a contact out of search until told otherwise (``index_later``), as HubSpot's
index does for a while after a write; a contact changed after it is searchable at once. A read
then passes the late one's timestamp, and only a cursor that goes back by the lag finds it later.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from leadsync.adapters.hubspot.adapter import HubSpotAdapter, from_options
from leadsync.adapters.hubspot.paging import SearchCursor
from leadsync.sandboxes.hubspot.sandbox import HubSpotSandbox, RateLimits
from leadsync.sandboxes.kit.clock import SandboxClock

TOKEN = "pat-lag"


@pytest.fixture
def clock() -> SandboxClock:
    return SandboxClock()


@pytest.fixture
def sb(clock: SandboxClock) -> Iterator[HubSpotSandbox]:
    limits = RateLimits(ten_second_max=100_000, search_per_second=10_000)
    with HubSpotSandbox(port=0, token=TOKEN, contacts=40, seed=9, limits=limits, clock=clock) as sandbox:
        yield sandbox


def _adapter(sb: HubSpotSandbox, **options: object) -> HubSpotAdapter:
    return from_options({"base_url": sb.url, "token": TOKEN, **options})


def _read(adapter: HubSpotAdapter, cursor: str | None) -> tuple[list[str], str | None]:
    ids: list[str] = []
    last = cursor
    for page in adapter.read_contacts(cursor):
        ids += [c.id for c in page.records]
        last = page.cursor or last
    return ids, last


def _late_change(sb: HubSpotSandbox) -> tuple[str, str]:
    """One contact changed but not yet searchable, then another changed and searchable."""
    late, on_time = sorted(sb.contacts, key=int)[3], sorted(sb.contacts, key=int)[7]
    sb.set_property(late, "jobtitle", "VP Sales, changed late")
    sb.index_later(late)
    sb.set_property(on_time, "jobtitle", "CEO, changed on time")
    return late, on_time


def test_a_change_the_index_shows_late_is_read_by_the_next_read(sb: HubSpotSandbox) -> None:
    adapter = _adapter(sb)
    _, cursor = _read(adapter, None)
    late, on_time = _late_change(sb)
    ids, cursor = _read(adapter, cursor)
    assert on_time in ids and late not in ids
    assert cursor is not None
    assert SearchCursor.decode(cursor).ts_ms <= sb.store.now_ms() - 30_000  # behind the lag
    sb.index_later(late, later=False)  # HubSpot has indexed it now
    ids, _ = _read(adapter, cursor)
    assert late in ids


def test_without_the_lag_the_late_change_is_passed_for_good(sb: HubSpotSandbox) -> None:
    adapter = _adapter(sb, search_lag_s=0)
    _, cursor = _read(adapter, None)
    late, on_time = _late_change(sb)
    ids, cursor = _read(adapter, cursor)
    assert on_time in ids and late not in ids
    sb.index_later(late, later=False)
    ids, _ = _read(adapter, cursor)
    assert late not in ids  # why search_lag_s exists


def test_a_cursor_well_behind_the_search_stays_exact(sb: HubSpotSandbox, clock: SandboxClock) -> None:
    """Contacts last changed long before the read: no going back, nothing read twice."""
    clock.advance(31)  # the portal's last change is now more than the lag ago
    adapter = _adapter(sb)
    _, cursor = _read(adapter, None)
    assert cursor is not None and SearchCursor.decode(cursor).last_id > 0  # exact, not rewound
    again, _ = _read(adapter, cursor)
    assert again == []


def test_search_lag_s_is_checked() -> None:
    with pytest.raises(Exception, match="search_lag_s"):
        from_options({"token": "x", "search_lag_s": -1})
