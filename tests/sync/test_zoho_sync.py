"""The sync loop with the Zoho adapter: what only Zoho does, on SQLite and PostgreSQL.

What every CRM does under the loop (crash and resume, manual changes, credits, partial failures,
conversions, deletions, idle runs) is leadsync.testing's sync contract, which Zoho runs in
tests/contract/test_zoho.py. Here: activities listed or searched, the run's tasks in one insert,
the concurrency cap and a persistent 429, locks backed off, If-Modified-Since, and listings past
Zoho's 100,000-record cap (127.0.0.1 only).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from leadsync.adapters.zoho.auth import ZohoSetupError
from leadsync.api import QuotaExhausted
from leadsync.sandboxes.zoho.sandbox import ALL_SCOPES, ZohoSandbox
from leadsync.sync.state import StateStore, open_store
from leadsync.testing import CallLog, Crash, SleepRecorder
from leadsync.testing.stores import fresh_store
from leadsync.testing.sync_suite import CONNECTION, reference, run
from tests.harnesses.zoho import API_ONLY, ZohoSyncHarness, adapter, capped, open_leads, people, sandbox

ZOHO = ZohoSyncHarness()


@pytest.fixture(scope="module")
def expected() -> Any:
    """What two clean runs leave in a fresh org."""
    return reference(ZOHO).state


@pytest.fixture
def sb() -> Iterator[ZohoSandbox]:
    box = sandbox()
    yield box
    box.stop()


def _writes(sb: ZohoSandbox) -> list[str]:
    """The write calls (PUT, POST) the org answered since the last stats reset."""
    return [e for e in sb.stats()["by_endpoint"] if e.startswith(("PUT", "POST /crm"))]


class TestActivitiesListedOrSearched:
    """A backfill lists Calls and Events whole (the org is small against its people); forced to
    search (a large org's sizes), it decides the same people from the same activities."""

    def test_both_ways_end_the_same(self, store: StateStore, expected: Any) -> None:
        results = {}
        for way in ("listed", "searched"):
            box = sandbox()
            crm = adapter(box)
            if way == "searched":
                for module in ("Calls", "Events"):
                    crm._sizes.set(module, 10**7)  # 50,000 pages: searching is cheaper
            try:
                state = open_store("sqlite://") if way == "searched" else store
                results[way] = run(ZOHO, box, state, crm).counts
                assert sorted(crm._activities.plan.indexes) == (
                    [] if way == "searched" else ["Calls", "Events"]
                )
                assert ZOHO.state(box) == expected, way
            finally:
                box.stop()
        assert results["listed"]["activities_read"] == results["searched"]["activities_read"] > 0


def test_a_runs_tasks_are_one_insert(store: StateStore) -> None:
    """The run's tasks go to Zoho in one insert (up to 100)."""
    box = sandbox(qualified=4)
    try:
        box.clear_writes()
        result = run(ZOHO, box, store)
        assert result.counts["tasks_created"] == 4
        inserts = [w for w in box.writes() if w.method == "POST" and w.module == "Tasks"]
        assert [len(w.ids) for w in inserts] == [4], "one Tasks insert for the run's 4 tasks"
        assert len(ZOHO.task_keys(box)) == 4
    finally:
        box.stop()


class TestLimits:
    def test_a_persistent_429_stops_and_the_next_run_resumes(
        self, sb: ZohoSandbox, store: StateStore, expected: Any
    ) -> None:
        sb.set_faults(storm=1_000, match=API_ONLY)
        with pytest.raises(QuotaExhausted, match="TOO_MANY_REQUESTS") as stopped:
            run(ZOHO, sb, store)
        assert stopped.value.resume_at is not None
        sb.set_faults(reset=True)
        for _ in range(2):
            run(ZOHO, sb, store)
        assert ZOHO.state(sb) == expected

    def test_the_concurrency_caps_429s_are_backed_off(
        self, sb: ZohoSandbox, store: StateStore, expected: Any
    ) -> None:
        sleeps = SleepRecorder()
        sb.set_faults(storm=5, match=API_ONLY)  # "The concurrency limit of the user for the app is exceeded"
        sb.set_limits(concurrency=2)  # and a Free edition's cap, under the adapter's 4 threads
        result = run(ZOHO, sb, store, adapter(sb, retry=sleeps.policy(attempts=20), concurrency=4))
        assert result.status == "ok"
        assert len(sleeps.waits) >= 5
        assert sb.stats()["rate_limited"], "Zoho answered 429"
        run(ZOHO, sb, store)
        assert ZOHO.state(sb) == expected

    def test_locked_leads_are_sent_again_backing_off(self, sb: ZohoSandbox, store: StateStore) -> None:
        """A locked lead is sent again after a back-off; one locked all along never reaches the org.
        (The sync contract's partial-failure test checks the dead letter and the outbox.)"""
        leads = open_leads(sb)
        ZOHO.refuse(sb, leads[0])
        sleeps = SleepRecorder()
        ZOHO.lock(sb, leads[1])  # an approval: still locked after the retries
        ZOHO.lock_briefly(sb, leads[2], sleeps)  # released while the adapter backs off
        sb.clear_writes()
        run(ZOHO, sb, store, adapter(sb, retry=sleeps.policy()))
        assert not any(leads[1] in w.ids for w in sb.writes())
        sent = sum(1 for w in sb.writes() if w.method == "PUT" and w.module == "Leads")
        assert sent >= 4 and len(sleeps.waits) >= 3, "the locked records were sent again, backing off"
        assert sb.record("Leads", leads[2])["Leadsync_Score"] is not None


def test_an_idle_run_is_answered_304_and_writes_nothing(sb: ZohoSandbox, store: StateStore) -> None:
    """Nothing changed since the last run: every listing is If-Modified-Since → 304, no writes."""
    run(ZOHO, sb, store)
    run(ZOHO, sb, store)
    sb.reset_stats()
    third = run(ZOHO, sb, store)
    assert third.counts.get("contacts_decided", 0) == 0
    stats = sb.stats()
    listings = stats["by_endpoint"]["GET /crm/v8/{module}"]
    assert listings >= 2 and stats["by_status"].get("304") == listings
    assert _writes(sb) == []


CAP, LEADS = 120, 300


@pytest.fixture(scope="module")
def uncapped() -> Iterator[dict[str, Any]]:
    """The org of ``TestPastTheListingCap`` after one sync with no cap in the way."""
    box = sandbox(leads=LEADS)
    try:
        run(ZOHO, box, open_store("sqlite://"))
        yield ZOHO.state(box)
    finally:
        box.stop()


class TestPastTheListingCap:
    """Zoho lists at most 100,000 records at a time (lowered to 120 here): a longer listing, on a
    first read or after many changes, continues through COQL and decides every person once."""

    def test_first_read_and_many_changes_pass_the_cap(
        self, store: StateStore, uncapped: dict[str, Any]
    ) -> None:
        box = capped(CAP, LEADS)
        try:
            everyone = people(box)
            assert len(everyone) > 2 * CAP
            first = run(ZOHO, box, store)
            assert first.status == "ok" and first.counts["contacts_decided"] == len(everyone)
            assert store.contacts(CONNECTION, everyone).keys() == set(everyone), "every person decided"
            assert box.stats()["by_endpoint"].get("POST /crm/v8/coql", 0) > 0
            assert ZOHO.state(box) == uncapped
            changed = [r["id"] for r in box.records_json("Leads") if not r["$converted"]][: CAP + 30]
            box.advance(120)
            for rid in changed:
                box.touch("Leads", rid, {"Designation": "Head of Revenue"})
            box.advance(60)
            box.reset_stats()
            second = run(ZOHO, box, store)
            assert second.status == "ok" and second.counts["contacts_decided"] == len(changed)
            assert box.stats()["by_endpoint"].get("POST /crm/v8/coql", 0) > 0
            box.advance(60)
            assert run(ZOHO, box, store).counts.get("contacts_decided", 0) == 0
        finally:
            box.stop()

    def test_a_crash_in_the_coql_part_resumes_there(self, store_url: str, uncapped: dict[str, Any]) -> None:
        probe, sent = capped(CAP, LEADS), CallLog()
        try:
            with ZOHO.calls(probe, sent):
                run(ZOHO, probe, open_store("sqlite://"))
        finally:
            probe.stop()
        coql = "POST /crm/v8/coql"
        first_coql = sent.calls.index(coql) + 1
        for k in (first_coql, first_coql + 2, sent.calls.index(coql, first_coql) + 1):
            box = capped(CAP, LEADS)
            try:
                with fresh_store(store_url, k) as state:
                    with pytest.raises(Crash), ZOHO.calls(box, CallLog(crash_at=k)):
                        run(ZOHO, box, state)
                    box.reset_stats()
                    run(ZOHO, box, state)
                    assert box.stats()["by_endpoint"]["POST /crm/v8/coql"] > 0
                    run(ZOHO, box, state)
                assert ZOHO.state(box) == uncapped, f"crash at call {k}"
                keys = ZOHO.task_keys(box)
                assert len(keys) == len(set(keys)), f"a task made twice (crash at call {k})"
            finally:
                box.stop()

    def test_without_the_coql_scope_the_run_names_it(self, store: StateStore) -> None:
        box = capped(CAP, LEADS)
        try:
            scopes = [s for s in ALL_SCOPES if s != "ZohoCRM.coql.READ"]
            crm = adapter(box, token=box.issue_refresh_token(scopes))
            with pytest.raises(ZohoSetupError, match=r"ZohoCRM\.coql\.READ"):
                run(ZOHO, box, store, crm)
        finally:
            box.stop()
