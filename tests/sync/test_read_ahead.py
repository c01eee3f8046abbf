"""Reading ahead: pages fetched on a thread of their own, the loop's results and crash safety unchanged."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from leadsync.api import Contact, Page
from leadsync.sync.loop import DECIDE_BATCH
from leadsync.sync.readahead import ReadAhead
from leadsync.sync.state import StateStore, open_store
from tests.sync.fake_crm import Crash, FakeCrm
from tests.sync.test_loop import crm, crm_state, job


def counted(n: int, pulled: list[int], fail_at: int | None = None) -> Iterator[int]:
    for i in range(n):
        if i == fail_at:
            raise Crash(f"item {i}")
        pulled.append(i)
        yield i


class TestReadAhead:
    def test_items_in_order_read_on_another_thread_at_most_depth_ahead(self) -> None:
        pulled: list[int] = []
        taken: list[int] = []
        with ReadAhead(counted(30, pulled), depth=2) as ahead:
            for item in ahead:
                time.sleep(0.005)
                assert len(pulled) <= item + 1 + 2 + 1  # taken, queued (2), one in the reader's hand
                taken.append(item)
        assert taken == list(range(30))

    def test_an_error_arrives_after_the_items_before_it(self) -> None:
        taken: list[int] = []
        with pytest.raises(Crash), ReadAhead(counted(10, [], fail_at=4), depth=2) as ahead:
            taken.extend(ahead)
        assert taken == [0, 1, 2, 3]

    def test_leaving_early_stops_the_reader(self) -> None:
        pulled: list[int] = []
        with ReadAhead(counted(1000, pulled), depth=3) as ahead:
            assert next(iter(ahead)) == 0
        after = len(pulled)
        time.sleep(0.05)
        assert len(pulled) == after <= 6
        assert not any(t.name == "leadsync-read-ahead" for t in threading.enumerate())

    def test_a_stop_request_ends_the_reading(self) -> None:
        stop = threading.Event()
        pulled: list[int] = []
        with ReadAhead(counted(1000, pulled), depth=1, stop=stop) as ahead:
            taken = []
            for item in ahead:
                taken.append(item)
                stop.set()
        assert taken == pulled[: len(taken)] and len(taken) <= 3

    def test_depth_zero_reads_on_the_callers_thread(self) -> None:
        threads: list[str] = []

        def source() -> Iterator[int]:
            for i in range(3):
                threads.append(threading.current_thread().name)
                yield i

        with ReadAhead(source(), depth=0) as ahead:
            assert list(ahead) == [0, 1, 2]
        assert set(threads) == {threading.current_thread().name}
        with pytest.raises(ValueError):
            ReadAhead(source(), depth=-1)


@dataclass
class ThreadedCrm(FakeCrm):
    """The fake CRM, safe to read contacts from a reader thread (its call counter takes a lock)."""

    concurrent_reads: bool = True
    reader_threads: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _call(self, name: str) -> None:
        with self._lock:
            super()._call(name)

    def read_contacts(self, cursor: str | None) -> Iterator[Page[Contact]]:
        for page in super().read_contacts(cursor):
            self.reader_threads.add(threading.current_thread().name)
            yield page


def threaded_crm() -> ThreadedCrm:
    reference = crm()
    fake = ThreadedCrm(owners=reference.owners, activities=reference.activities)
    for cid in sorted(reference.contacts):
        fake.put(reference.contacts[cid])
    return fake


class TestTheLoopReadingAhead:
    @pytest.mark.parametrize("read_ahead", [1, 2])
    @pytest.mark.parametrize("decide_batch", [DECIDE_BATCH, 4, 1])
    def test_the_crm_ends_as_without_it(self, store: StateStore, read_ahead: int, decide_batch: int) -> None:
        fake = threaded_crm()
        run = job(fake, store, decide_batch=decide_batch, read_ahead=read_ahead)
        assert run.read_ahead == read_ahead
        result = run.run()
        assert fake.reader_threads == {"leadsync-read-ahead"}
        assert result.counts["contacts_decided"] == 7
        reference = crm()
        plain = job(reference, open_store("sqlite://"), decide_batch=decide_batch)
        assert plain.read_ahead == 0  # the plain fake does not say it may be read from a thread
        plain.run()
        assert crm_state(fake) == crm_state(reference)
        assert job(fake, store, read_ahead=read_ahead).run().counts.get("contacts_changed", 0) == 0

    def test_a_stop_ends_the_batch_at_the_page_in_hand(self, store: StateStore) -> None:
        fake = threaded_crm()
        run = job(fake, store, decide_batch=DECIDE_BATCH, read_ahead=2)
        run.progress = lambda n: run.stop.set()
        result = run.run()
        assert result.status == "stopped"
        assert sorted(store.contacts("test", list(fake.contacts))) == ["c0", "c1", "c2"]
        assert store.cursor("test") == "3"
        job(fake, store).run()
        assert len(store.contacts("test", list(fake.contacts))) == 7

    @pytest.mark.parametrize("decide_batch", [DECIDE_BATCH, 4])
    def test_crash_at_every_call(self, tmp_path: Any, decide_batch: int) -> None:
        reference = crm()
        ref_store = open_store(f"sqlite:///{tmp_path / 'ref.db'}")
        job(reference, ref_store).run()
        job(reference, ref_store).run()
        expected = crm_state(reference)
        total_calls = sum(reference.calls.values())
        for k in range(1, total_calls + 1):
            state = open_store(f"sqlite:///{tmp_path / f'crash{k}.db'}")
            fake = threaded_crm()
            fake.crash_at_call = k  # counted over the runs below: the k-th CRM call dies
            crashed = False
            for _ in range(3):
                try:
                    job(fake, state, decide_batch=decide_batch, read_ahead=2).run()
                except Crash:
                    crashed = True
            assert crashed
            assert crm_state(fake) == expected, f"crash at call {k}"
            state.close()
