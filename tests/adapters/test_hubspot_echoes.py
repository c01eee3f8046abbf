"""Reading leadsync's own writes back while the other contacts are still read (``EchoChaser``).

Against the HubSpot sandbox: the reader writes every page it reads, as the sync loop does, and
the read must still see every contact, every echo of its writes, and every change a person made
during the read, and end on a cursor past all of them.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence

import pytest

from leadsync.adapters.hubspot.adapter import HubSpotAdapter, _modified_ms, from_options
from leadsync.adapters.hubspot.echoes import EchoChaser
from leadsync.adapters.hubspot.paging import MODIFIED, SearchCursor, SearchRequest, search_pages
from leadsync.api import Contact, ContactChange, CrmError, Page
from leadsync.model import BUILTIN_REASONS
from leadsync.sandboxes.hubspot.sandbox import HubSpotSandbox, RateLimits

TOKEN = "pat-echoes"
CONTACTS = 1_000


@pytest.fixture
def sb() -> Iterator[HubSpotSandbox]:
    limits = RateLimits(ten_second_max=100_000, search_per_second=10_000)
    with HubSpotSandbox(port=0, token=TOKEN, contacts=CONTACTS, seed=5, limits=limits) as sandbox:
        yield sandbox


def _adapter(sb: HubSpotSandbox) -> HubSpotAdapter:
    # No search lag: these tests look at where the chase ends; test_hubspot_lag.py, at the lag.
    options = {"base_url": sb.url, "token": TOKEN, "rate_per_10s": 10_000, "search_per_s": 1_000}
    adapter = from_options({**options, "search_lag_s": 0})
    adapter.setup(BUILTIN_REASONS)
    return adapter


def _score_all(adapter: HubSpotAdapter, contacts: list[Contact], score: int) -> None:
    results = adapter.write_contacts([ContactChange(c.id, {"score": score}) for c in contacts])
    assert all(r.ok for r in results)


def _caught_up(adapter: HubSpotAdapter) -> bool:
    chaser = adapter._chaser
    return chaser is None or not chaser._may_search()


def _wait(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_a_read_that_writes_every_page_reads_each_echo_and_ends_past_them(sb: HubSpotSandbox) -> None:
    adapter = _adapter(sb)
    seen: Counter[str] = Counter()
    pages: list[Page[Contact]] = []
    for page in adapter.read_contacts(None):
        pages.append(page)
        seen.update(c.id for c in page.records)
        fresh = [c for c in page.records if seen[c.id] == 1]
        if fresh:
            _score_all(adapter, fresh, 42)
            _wait(lambda: _caught_up(adapter))  # let the chase stream catch up, as time would
    assert len(seen) == CONTACTS
    assert all(n >= 2 for n in seen.values()), "every contact written is read back in the same read"
    # The chase stream's pages came while the main stream was still reading, without a cursor.
    first_rest = max(i for i, p in enumerate(pages) if p.cursor is None) + 1
    assert any(p.cursor is None for p in pages[:first_rest]) and pages[-1].cursor is not None
    # The read ended past every echo: reading on from its last cursor finds nothing.
    assert [c for p in adapter.read_contacts(pages[-1].cursor) for c in p.records] == []


def test_people_changing_contacts_during_the_read_are_read_whichever_stream_holds_them(
    sb: HubSpotSandbox,
) -> None:
    adapter = _adapter(sb)
    ids = sorted(sb.contacts, key=int)
    changed_early, changed_late = ids[0], ids[-1]
    titles: dict[str, list[str | None]] = {changed_early: [], changed_late: []}
    written = 0
    for page in adapter.read_contacts(None):
        for c in page.records:
            if c.id in titles:
                titles[c.id].append(c.title)
        if written == 0 and page.cursor is not None:
            _score_all(adapter, page.records, 7)  # the split: every later change is above it
            written = len(page.records)
            sb.set_property(changed_early, "jobtitle", "Chief Revenue Officer")
            sb.set_property(changed_late, "jobtitle", "VP Marketing")
    assert titles[changed_early][-1] == "Chief Revenue Officer"
    assert titles[changed_late][-1] == "VP Marketing"


def test_without_a_write_there_is_no_split_and_one_stream_reads_everything(sb: HubSpotSandbox) -> None:
    adapter = _adapter(sb)
    pages = list(adapter.read_contacts(None))
    assert all(p.cursor is not None for p in pages)
    assert sum(len(p.records) for p in pages) == CONTACTS


class TestEchoChaser:
    def _chaser(self, sb: HubSpotSandbox) -> tuple[HubSpotAdapter, EchoChaser]:
        adapter = _adapter(sb)
        props = adapter._read_properties()
        chaser = EchoChaser(lambda req: adapter.client.search("contacts", req), props, _modified_ms)
        return adapter, chaser

    def test_the_split_is_the_first_confirmed_write_and_bounds_the_main_stream(
        self, sb: HubSpotSandbox
    ) -> None:
        adapter, chaser = self._chaser(sb)
        contacts = next(iter(adapter.read_contacts(None))).records[:100]
        assert chaser.split is None
        adapter._chaser = chaser
        _score_all(adapter, contacts, 9)
        assert chaser.split is not None
        below = [
            r for page, _ in search_pages(chaser.main_search, ("email",), None, _modified_ms) for r in page
        ]
        assert len(below) == CONTACTS - 100
        assert all(_modified_ms(r) < chaser.split for r in below)

    def test_the_thread_searches_only_a_page_of_writes_at_a_time_and_rest_ends_with_a_cursor(
        self, sb: HubSpotSandbox
    ) -> None:
        adapter, chaser = self._chaser(sb)
        contacts = [c for p in adapter.read_contacts(None) for c in p.records]
        adapter._chaser = chaser
        chaser.start()
        try:
            _score_all(adapter, contacts[:150], 1)
            time.sleep(0.2)
            assert chaser.take() == [] and chaser.searches == 0  # 150 < a page: not worth a search
            _score_all(adapter, contacts[150:400], 2)
            _wait(lambda: chaser.searches > 0 and not chaser._may_search())
            taken = chaser.take()
            assert sum(len(p) for p in taken) >= 100  # a page ends between two writes' stamps
        finally:
            adapter._chaser = None
        rest = list(chaser.rest())
        assert rest and rest[-1][1] is not None
        read_back = {str(r["id"]) for p in taken for r in p} | {str(r["id"]) for p, _ in rest for r in p}
        assert read_back == {c.id for c in contacts[:400]}
        assert rest[-1][1] > SearchCursor(chaser.split or 0)
        assert list(chaser.rest())[-1] == ([], rest[-1][1])  # nothing new: one empty page, same cursor

    def test_a_failure_of_the_chase_stream_reaches_the_main_stream(self, sb: HubSpotSandbox) -> None:
        def broken(_req: object) -> dict[str, object]:
            raise CrmError("search refused")

        adapter = _adapter(sb)
        chaser = EchoChaser(broken, ("email",), _modified_ms)  # type: ignore[arg-type]
        contacts = [c for p in adapter.read_contacts(None) for c in p.records][:400]
        adapter._chaser = chaser
        chaser.start()
        _score_all(adapter, contacts, 4)  # two pages: the latest write's stamp is not read yet
        _wait(lambda: chaser.searches > 0 or chaser._error is not None)
        with pytest.raises(CrmError, match="search refused"):
            _wait(lambda: chaser._error is not None)
            chaser.take()
        chaser.close()


class TestTheBound:
    """The chase stream searches while writes are under way, below the stamps they could still get."""

    def _chaser(self) -> tuple[EchoChaser, list[SearchRequest]]:
        requests: list[SearchRequest] = []

        def search(request: SearchRequest) -> dict[str, object]:
            requests.append(request)
            return {"results": []}

        chaser = EchoChaser(search, ("email",), lambda r: int(r["ts"]))
        return chaser, requests

    @staticmethod
    def _confirm(chaser: EchoChaser, stamps: Sequence[int]) -> None:
        with chaser.writing():
            chaser.written([{"ts": t} for t in stamps])

    def test_a_write_under_way_bounds_the_chase_at_the_latest_stamp_confirmed_before_it(self) -> None:
        chaser, requests = self._chaser()
        self._confirm(chaser, range(1000, 1300))
        assert chaser.split == 1000 and chaser._bound() == 1299
        with chaser.writing():  # under way: HubSpot stamps it at 1299 or later
            chaser.written([{"ts": t} for t in range(1300, 1400)])  # another write, confirmed meanwhile
            assert chaser._bound() == 1299
            assert chaser._may_search()  # 299 confirmed below the bound: a page's worth, no waiting
            chaser._next()
        assert chaser._bound() == 1399
        limits = {
            (f.operator, f.value) for group in requests[0].groups for f in group if f.property == MODIFIED
        }
        assert ("LT", "1200") in limits and ("GTE", "1000") in limits  # a page's worth, below 1299

    def test_what_waits_at_or_above_the_bound_is_not_a_page(self) -> None:
        chaser, _ = self._chaser()
        self._confirm(chaser, range(1000, 1100))
        with chaser.writing():
            chaser.written([{"ts": t} for t in range(1100, 1400)])
            with chaser.writing():  # started before the first was confirmed: floor 1099
                assert chaser._bound() == 1099 and not chaser._may_search()  # only 99 below it

    def test_after_the_main_stream_only_writes_under_way_bound_it(self) -> None:
        chaser, requests = self._chaser()
        self._confirm(chaser, range(1000, 1100))
        pages = chaser.rest()
        next(pages, None)
        assert all(f.operator != "LT" for group in requests[-1].groups for f in group)

    def test_a_page_ends_between_two_writes_rather_than_inside_one(self) -> None:
        chaser, _ = self._chaser()
        for stamp in (1000, 2000, 3000):  # batch updates of 100 contacts, each stamped at once
            self._confirm(chaser, [stamp] * 100)
        assert chaser._bound() == 3000 and chaser._page_bound() == 3000  # two writes: one page
        self._confirm(chaser, [4000] * 100)
        assert chaser._bound() == 4000 and chaser._page_bound() == 3000  # three: stop after two

    def test_one_write_larger_than_a_page_is_read_under_the_bound_alone(self) -> None:
        chaser, _ = self._chaser()
        self._confirm(chaser, [1000] * 300)
        self._confirm(chaser, [2000])
        assert chaser._page_bound() == chaser._bound() == 2000  # no boundary inside a page's worth

    def test_after_the_main_stream_it_waits_for_a_write_under_way_and_reads_its_echoes(self) -> None:
        landed: list[dict[str, object]] = []  # what HubSpot holds that the chase has not read

        def search(_request: SearchRequest) -> dict[str, object]:
            results, landed[:] = list(landed), []
            return {"results": results}

        chaser = EchoChaser(search, ("email",), lambda r: int(r["ts"]))
        self._confirm(chaser, range(1000, 1010))
        started = threading.Event()

        def last_write() -> None:  # the loop's last batch, written while rest() reads ahead
            with chaser.writing():
                started.set()
                time.sleep(0.3)
                records = [{"id": str(i), "ts": 1300} for i in range(1, 51)]
                landed.extend(records)
                chaser.written(records)

        writer = threading.Thread(target=last_write)
        writer.start()
        started.wait(5)
        rest = list(chaser.rest())
        writer.join()
        assert sum(len(records) for records, _ in rest) == 50  # its echoes, in this read
        assert rest[-1][1] == SearchCursor(1300, 50)
