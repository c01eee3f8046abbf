"""The sync loop with the Zoho adapter against the local Zoho sandbox, on SQLite and PostgreSQL.

Crash and resume, manual changes, credits and the concurrency cap, partial failures, conversions,
deletions and idle runs: what a RevOps admin relies on, proven end to end (127.0.0.1 only).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from leadsync.adapters.zoho.auth import ZohoSetupError
from leadsync.api import QuotaExhausted
from leadsync.sandboxes.zoho.sandbox import ALL_SCOPES, ZohoSandbox
from leadsync.sync.state import StateStore, open_store
from leadsync.testing import SleepRecorder
from tests.sync.conftest import fresh_store
from tests.sync.fake_crm import Crash
from tests.sync.zoho_org import (
    NAME,
    adapter,
    capped,
    crashing,
    crm_state,
    job,
    people,
    sandbox,
    task_keys,
)

API_ONLY = r"^\w+ /crm/"  # faults for the CRM API, not Zoho Accounts


@pytest.fixture(scope="module")
def reference() -> Iterator[dict[str, Any]]:
    """The outcome of two clean runs on a fresh org."""
    sb = sandbox()
    try:
        store = open_store("sqlite://")
        first = job(sb, store).run()
        second = job(sb, store).run()
        assert first.counts["contacts_written"] > 0 and second.counts.get("contacts_written", 0) == 0
        yield crm_state(sb)
    finally:
        sb.stop()


@pytest.fixture
def sb() -> Iterator[ZohoSandbox]:
    box = sandbox()
    yield box
    box.stop()


def _writes(sb: ZohoSandbox) -> list[str]:
    """The write calls (PUT, POST) the org answered since the last stats reset."""
    return [e for e in sb.stats()["by_endpoint"] if e.startswith(("PUT", "POST /crm"))]


class TestOneSync:
    def test_every_lead_is_written_with_no_automation_then_nothing(
        self, sb: ZohoSandbox, store: StateStore, reference: dict[str, Any]
    ) -> None:
        sb.clear_writes()
        first = job(sb, store).run()
        counts = first.counts
        assert first.status == "ok" and counts["contacts_written"] == counts["contacts_changed"] > 0
        assert counts.get("tasks_created", 0) > 0
        writes = sb.writes()
        assert writes and all(w.trigger == [] for w in writes), [w.json() for w in writes]
        sb.reset_stats()
        second = job(sb, store).run()
        assert second.counts.get("contacts_written", 0) == 0 and second.counts.get("tasks_created", 0) == 0
        assert _writes(sb) == [], "a second sync sends no write call"
        assert crm_state(sb) == reference


class TestActivitiesListedOrSearched:
    """A backfill lists Calls and Events whole (the org is small against its people); forced to
    search (a large org's sizes), it decides the same people from the same activities."""

    def test_both_ways_end_the_same(self, store: StateStore, reference: dict[str, Any]) -> None:
        results = {}
        for way in ("listed", "searched"):
            box = sandbox()
            crm = adapter(box)
            if way == "searched":
                for module in ("Calls", "Events"):
                    crm._sizes.set(module, 10**7)  # 50,000 pages: searching is cheaper
            try:
                state = open_store("sqlite://") if way == "searched" else store
                results[way] = job(box, state, crm).run().counts
                assert sorted(crm._activities.plan.indexes) == (
                    [] if way == "searched" else ["Calls", "Events"]
                )
                assert crm_state(box) == reference, way
            finally:
                box.stop()
        assert results["listed"]["activities_read"] == results["searched"]["activities_read"] > 0


class TestCrashAndResume:
    """Killed at a Zoho call and run again, the org ends as after an uninterrupted sync."""

    def test_crash_at_every_call_of_a_run(self, store_url: str, reference: dict[str, Any]) -> None:
        probe = sandbox()
        crm = adapter(probe)
        job(probe, open_store("sqlite://"), crm).run()
        calls = crm.client.calls
        probe.stop()
        assert calls > 10
        for k in range(1, calls + 1):  # every call of the first run: fields, reads, writes, tasks
            box = sandbox()
            try:
                with fresh_store(store_url, k) as state:
                    with pytest.raises(Crash):
                        job(box, state, crashing(box, k)).run()
                    for _ in range(2):
                        job(box, state).run()
                assert crm_state(box) == reference, f"crash at call {k} of {calls}"
                keys = task_keys(box)
                assert len(keys) == len(set(keys)), f"a task made twice (crash at call {k})"
            finally:
                box.stop()


class TestTasksManyACall:
    """The run's tasks go to Zoho in one insert (up to 100), and a lost answer makes none twice."""

    def test_a_runs_tasks_are_one_insert(self, store: StateStore) -> None:
        box = sandbox(qualified=4)
        try:
            box.clear_writes()
            result = job(box, store).run()
            assert result.counts["tasks_created"] == 4
            inserts = [w for w in box.writes() if w.method == "POST" and w.module == "Tasks"]
            assert [len(w.ids) for w in inserts] == [4], "one Tasks insert for the run's 4 tasks"
            assert len(task_keys(box)) == 4
        finally:
            box.stop()

    def test_an_insert_whose_answer_is_lost_makes_no_task_twice(self, store: StateStore) -> None:
        box = sandbox(qualified=4)
        try:
            crm = adapter(box)
            real = crm.client._once

            def answer_lost(method: str, path: str, *args: Any, **kw: Any) -> Any:
                answer = real(method, path, *args, **kw)
                if (method, path) == ("POST", "/Tasks"):
                    raise Crash("the process died before the insert's answer was read")
                return answer

            crm.client._once = answer_lost  # type: ignore[method-assign]
            with pytest.raises(Crash):
                job(box, store, crm).run()
            assert len(task_keys(box)) == 4, "Zoho made them"
            box.clear_writes()
            again = job(box, store).run()
            assert again.counts.get("tasks_found") == 4 and not again.counts.get("tasks_created")
            inserts = [w for w in box.writes() if w.method == "POST" and w.module == "Tasks"]
            assert len(inserts) == 1, "the 4 are sent again in one insert, all refused as duplicates"
            keys = task_keys(box)
            assert len(keys) == len(set(keys)) == 4
            assert store.status(NAME)["pending_actions"] == 0
        finally:
            box.stop()


class TestManualChangesWin:
    def test_a_reps_status_and_owner_are_kept_and_reported(self, sb: ZohoSandbox, store: StateStore) -> None:
        job(sb, store).run()
        leads = [r["id"] for r in sb.records_json("Leads")]
        written = store.written(NAME, leads)
        lead_id = next(cid for cid, fields in written.items() if {"owner_id", "stage"} <= set(fields))
        before = sb.record("Leads", lead_id)
        rep = next(
            u["id"]
            for u in sb.users()
            if sb.org.active(u["id"]) and u["id"] not in (before["Owner"], sb.org.api_user)
        )
        status = "Contact in Future" if before["Lead_Status"] != "Contact in Future" else "Contacted"
        sb.advance(60)  # a minute later, in the Zoho UI
        sb.touch("Leads", lead_id, {"Lead_Status": status, "Owner": rep}, by=rep)
        result = job(sb, store).run()
        lead = sb.record("Leads", lead_id)
        assert (lead["Lead_Status"], lead["Owner"]) == (status, rep)
        assert result.counts.get("conflicts", 0) >= 1


class TestCreditsAndLimits:
    def test_credits_at_the_floor_stop_the_run_and_the_next_one_resumes(
        self, sb: ZohoSandbox, store: StateStore, reference: dict[str, Any]
    ) -> None:
        sb.set_credits(used=59_000)  # of 60,000: 1,000 left, what leadsync leaves to others
        with pytest.raises(QuotaExhausted) as stopped:
            job(sb, store).run()
        assert "credit_floor" in str(stopped.value) and stopped.value.resume_at is not None
        assert store.status(NAME)["runs"][0]["status"] == "failed"
        sb.set_credits(used=0)  # a day later
        for _ in range(2):
            job(sb, store).run()
        assert crm_state(sb) == reference

    def test_the_days_credits_used_up_stop_cleanly(self, sb: ZohoSandbox, store: StateStore) -> None:
        sb.set_credits(used=60_000)  # other integrations used the day up
        with pytest.raises(QuotaExhausted, match="24 hours") as stopped:
            job(sb, store, adapter(sb, credit_floor=0)).run()
        assert stopped.value.resume_at is not None
        assert store.cursor(NAME) is None, "nothing read, nothing committed"

    def test_a_persistent_429_stops_and_the_next_run_resumes(
        self, sb: ZohoSandbox, store: StateStore, reference: dict[str, Any]
    ) -> None:
        sb.set_faults(storm=1_000, match=API_ONLY)
        with pytest.raises(QuotaExhausted, match="TOO_MANY_REQUESTS") as stopped:
            job(sb, store).run()
        assert stopped.value.resume_at is not None
        sb.set_faults(reset=True)
        for _ in range(2):
            job(sb, store).run()
        assert crm_state(sb) == reference

    def test_the_concurrency_caps_429s_are_backed_off(
        self, sb: ZohoSandbox, store: StateStore, reference: dict[str, Any]
    ) -> None:
        sleeps = SleepRecorder()
        sb.set_faults(storm=5, match=API_ONLY)  # "The concurrency limit of the user for the app is exceeded"
        sb.set_limits(concurrency=2)  # and a Free edition's cap, under the adapter's 4 threads
        result = job(sb, store, adapter(sb, retry=sleeps.policy(attempts=20), concurrency=4)).run()
        assert result.status == "ok"
        assert len(sleeps.waits) >= 5
        assert sb.stats()["rate_limited"], "Zoho answered 429"
        job(sb, store).run()
        assert crm_state(sb) == reference


class TestPartialFailures:
    def test_a_refused_lead_is_a_dead_letter_and_locks_are_retried(
        self, sb: ZohoSandbox, store: StateStore, reference: dict[str, Any]
    ) -> None:
        leads = sorted(r["id"] for r in sb.records_json("Leads") if not r["$converted"])
        sb.reject_writes("Leads", leads[0], alert="Partner leads are edited by the partner team")
        sb.lock("Leads", leads[1])  # a long lock (an approval): still locked after the retries
        sb.lock("Leads", leads[2])  # a passing one: released while the adapter backs off

        class Release(SleepRecorder):  # the lock backoff waits through the retry policy's sleep
            def __call__(self, seconds: float) -> None:
                super().__call__(seconds)
                sb.unlock("Leads", leads[2])

        sleeps = Release()
        sb.clear_writes()
        result = job(sb, store, adapter(sb, retry=sleeps.policy())).run()
        assert result.counts["contacts_written"] == result.counts["contacts_changed"] - 2
        letters = store.recent_dead_letters(NAME)
        assert [d.contact_id for d in letters] == [leads[0]]
        assert "INVALID_DATA" in letters[0].error and "partner team" in letters[0].error
        assert store.status(NAME)["pending_writes"] == 1, "the locked lead waits in the outbox"
        assert not any(leads[1] in w.ids for w in sb.writes())
        sent = sum(1 for w in sb.writes() if w.method == "PUT" and w.module == "Leads")
        assert sent >= 4 and len(sleeps.waits) >= 3, "the locked records were sent again, backing off"
        assert sb.record("Leads", leads[2])["Leadsync_Score"] is not None
        sb.unlock("Leads", leads[1])
        sb.reject_writes("Leads", leads[0], reject=False)
        job(sb, store).run()
        assert sb.record("Leads", leads[1])["Leadsync_Score"] is not None
        assert store.status(NAME)["pending_writes"] == 0


class TestConversionsAndDeletes:
    def test_a_converted_lead_carries_on_as_its_contact(self, sb: ZohoSandbox, store: StateStore) -> None:
        job(sb, store).run()
        tasks_before = task_keys(sb)
        lead_id = tasks_before[0].split(":")[1]
        contact_id = sb.convert_lead(lead_id)
        sb.advance(90)
        result = job(sb, store).run()
        assert result.counts.get("contacts_moved") == 1
        assert store.contacts(NAME, [lead_id]) == {} and contact_id in store.contacts(NAME, [contact_id])
        assert sb.record("Contacts", contact_id)["Leadsync_Score"] is not None
        job(sb, store).run()
        assert task_keys(sb) == tasks_before, "no task made twice"

    def test_a_deleted_lead_is_forgotten(self, sb: ZohoSandbox, store: StateStore) -> None:
        job(sb, store).run()
        gone = sorted(r["id"] for r in sb.records_json("Leads") if not r["$converted"])[3]
        assert store.contacts(NAME, [gone])
        sb.delete("Leads", gone)
        sb.advance(90)
        result = job(sb, store).run()
        assert result.counts.get("contacts_deleted") == 1 and store.contacts(NAME, [gone]) == {}


def test_an_idle_run_is_answered_304_and_writes_nothing(sb: ZohoSandbox, store: StateStore) -> None:
    """Nothing changed since the last run: every listing is If-Modified-Since → 304, no writes."""
    job(sb, store).run()
    job(sb, store).run()
    sb.reset_stats()
    third = job(sb, store).run()
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
        job(box, open_store("sqlite://")).run()
        yield crm_state(box)
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
            first = job(box, store).run()
            assert first.status == "ok" and first.counts["contacts_decided"] == len(everyone)
            assert store.contacts(NAME, everyone).keys() == set(everyone), "every person decided"
            assert box.stats()["by_endpoint"].get("POST /crm/v8/coql", 0) > 0
            assert crm_state(box) == uncapped
            changed = [r["id"] for r in box.records_json("Leads") if not r["$converted"]][: CAP + 30]
            box.advance(120)
            for rid in changed:
                box.touch("Leads", rid, {"Designation": "Head of Revenue"})
            box.advance(60)
            box.reset_stats()
            second = job(box, store).run()
            assert second.status == "ok" and second.counts["contacts_decided"] == len(changed)
            assert box.stats()["by_endpoint"].get("POST /crm/v8/coql", 0) > 0
            box.advance(60)
            assert job(box, store).run().counts.get("contacts_decided", 0) == 0
        finally:
            box.stop()

    def test_a_crash_in_the_coql_part_resumes_there(self, store_url: str, uncapped: dict[str, Any]) -> None:
        probe = capped(CAP, LEADS)
        crm = adapter(probe)
        sent: list[str] = []
        real = crm.client._once

        def once(method: str, path: str, *args: Any, **kw: Any) -> Any:
            sent.append(f"{method} {path}")
            return real(method, path, *args, **kw)

        crm.client._once = once  # type: ignore[method-assign]
        job(probe, open_store("sqlite://"), crm).run()
        probe.stop()
        first_coql = sent.index("POST /coql") + 1
        for k in (first_coql, first_coql + 2, sent.index("POST /coql", first_coql) + 1):
            box = capped(CAP, LEADS)
            try:
                with fresh_store(store_url, k) as state:
                    with pytest.raises(Crash):
                        job(box, state, crashing(box, k)).run()
                    box.reset_stats()
                    job(box, state).run()
                    assert box.stats()["by_endpoint"]["POST /crm/v8/coql"] > 0
                    job(box, state).run()
                assert crm_state(box) == uncapped, f"crash at call {k}"
                keys = task_keys(box)
                assert len(keys) == len(set(keys)), f"a task made twice (crash at call {k})"
            finally:
                box.stop()

    def test_without_the_coql_scope_the_run_names_it(self, store: StateStore) -> None:
        box = capped(CAP, LEADS)
        try:
            scopes = [s for s in ALL_SCOPES if s != "ZohoCRM.coql.READ"]
            crm = adapter(box, token=box.issue_refresh_token(scopes))
            with pytest.raises(ZohoSetupError, match=r"ZohoCRM\.coql\.READ"):
                job(box, store, crm).run()
        finally:
            box.stop()
