"""Overlapping HubSpot calls: the same answers as one at a time, errors as before, the daily quota kept."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from leadsync.adapters.hubspot.adapter import HubSpotAdapter, from_options
from leadsync.adapters.hubspot.fanout import Fanout
from leadsync.adapters.hubspot.ratelimit import DAILY_RESERVE
from leadsync.api import ContactChange, QuotaExhausted, RetryPolicy
from leadsync.sandboxes.hubspot.sandbox import HubSpotSandbox, RateLimits

TOKEN = "pat-fanout"


class TestFanout:
    def test_results_in_input_order_from_several_threads(self) -> None:
        threads: set[str] = set()
        gate = threading.Barrier(3, timeout=5)  # three calls must be under way at once

        def slow(n: int) -> int:
            threads.add(threading.current_thread().name)
            if n < 3:
                gate.wait()
            time.sleep(0.01 * (5 - n % 5))
            return n * n

        assert Fanout(3).map(slow, range(10)) == [n * n for n in range(10)]
        assert len(threads) == 3 and threading.current_thread().name not in threads

    def test_the_earliest_failure_is_raised_and_nothing_more_is_started(self) -> None:
        started: list[int] = []
        release = threading.Event()

        def call(n: int) -> int:
            started.append(n)
            if n == 1:
                raise ValueError("one")
            if n == 0:
                release.wait(5)  # still running when 1 fails; must finish before map returns
                raise KeyError("zero")
            time.sleep(0.01)  # slow enough that the queue cannot drain before it is cancelled
            return n

        fanout = Fanout(2)
        threading.Timer(0.2, release.set).start()
        with pytest.raises(KeyError):
            fanout.map(call, range(50))
        assert len(started) < 50  # the queued calls were cancelled

    def test_one_worker_or_careful_runs_in_order_on_the_callers_thread(self) -> None:
        me = threading.current_thread().name
        seen: list[tuple[int, str]] = []

        def call(n: int) -> int:
            seen.append((n, threading.current_thread().name))
            return n

        assert Fanout(1).map(call, range(4)) == [0, 1, 2, 3]
        assert Fanout(4, careful=lambda: True).map(call, range(4)) == [0, 1, 2, 3]
        assert seen == [(n, me) for n in range(4)] * 2
        with pytest.raises(ValueError):
            Fanout(0)


@pytest.fixture
def sb() -> Iterator[HubSpotSandbox]:
    limits = RateLimits(ten_second_max=100_000, search_per_second=10_000)
    with HubSpotSandbox(port=0, token=TOKEN, contacts=400, seed=3, limits=limits) as sandbox:
        yield sandbox


def adapter(sb: HubSpotSandbox, **options: Any) -> HubSpotAdapter:
    base = {"base_url": sb.url, "token": TOKEN, "rate_per_10s": 10_000, "search_per_s": 1_000}
    return from_options({**base, "retry": RetryPolicy(attempts=2, sleep=lambda s: None), **options})


def contact_ids(sb: HubSpotSandbox) -> list[str]:
    return sorted(sb.contacts, key=int)


class TestAgainstTheSandbox:
    def test_activities_and_history_are_the_same_overlapped_or_not(self, sb: HubSpotSandbox) -> None:
        ids = contact_ids(sb)
        one, eight = adapter(sb, concurrency=1), adapter(sb, concurrency=8)
        sb.reset_stats()
        assert one.read_activities(ids) == (activities := eight.read_activities(ids))
        assert len(activities) > 500
        calls = sb.stats()["by_endpoint"]
        assert calls["POST /crm/v3/objects/calls/batch/read"] > 4  # several calls to overlap
        fields = ["stage", "owner_id"]
        assert one.last_changed(ids, fields) == eight.last_changed(ids, fields)
        assert [c.id for c in one.get_contacts(ids)] == [c.id for c in eight.get_contacts(ids)]

    def test_writes_of_several_chunks_each_report_their_records(self, sb: HubSpotSandbox) -> None:
        ids = contact_ids(sb)[:230]
        sb.reject_writes(ids[120])
        writer = adapter(sb, concurrency=4, batch_size=50)
        writer.setup({"no_budget": "No budget"})  # leadsync's properties
        sb.reset_stats()
        results = writer.write_contacts([ContactChange(cid, {"score": 77}, {}) for cid in ids])
        assert [r.contact_id for r in results] == ids
        assert [r.contact_id for r in results if not r.ok] == [ids[120]]
        assert sb.stats()["by_endpoint"]["POST /crm/v3/objects/contacts/batch/update"] >= 5

    def test_the_daily_quota_is_refused_once_however_many_calls_overlap(self, sb: HubSpotSandbox) -> None:
        ids = contact_ids(sb)
        reader = adapter(sb, concurrency=8)
        reader.read_owners()  # HubSpot reports the daily budget left
        sb.set_limits(daily_max=sb.app.limiter._daily + DAILY_RESERVE + 30)
        sb.reset_stats()
        with pytest.raises(QuotaExhausted):
            for _ in range(20):
                reader.read_activities(ids)
        assert sb.stats()["rate_limited"] == {"DAILY": 1}
        sent = sb.stats()["requests"]
        with pytest.raises(QuotaExhausted) as again:  # not sent: HubSpot would only refuse it
            reader.write_contacts([ContactChange(ids[0], {"score": 1}, {})])
        assert sb.stats()["requests"] == sent and again.value.resume_at is not None
