"""The sync contract: what leadsync's sync loop does with an adapter, proven on its local CRM.

An adapter's test module subclasses ``SyncContract`` and provides a class-scoped ``sync_harness``
fixture: a ``SyncHarness`` for its CRM (``leadsync.testing.sync_harness``)::

    class TestToySync(SyncContract):
        @pytest.fixture(scope="class")
        @classmethod
        def sync_harness(cls) -> ToySyncHarness:
            return ToySyncHarness()

The plugin (``leadsync.testing.plugin``) adds a fresh CRM per test (``sync_crm``), the state two
clean syncs reach (``sync_reference``, ``sync_clean_state``: once per class) and the state store
on SQLite and on PostgreSQL (``leadsync_store``, ``leadsync_store_url``): each test that keeps
state runs on both.
Each test states one behaviour a RevOps admin relies on; a test whose capability the harness
``lacks`` is skipped with the harness's reason.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import pytest

from leadsync.api import CrmAdapter, QuotaExhausted, TaskRequest, TaskResult
from leadsync.rules.compiled import Rules
from leadsync.rules.loader import rules_from_source
from leadsync.rules.yamlsource import load_yaml_text
from leadsync.sync.loop import RunResult, SyncJob
from leadsync.sync.state import StateStore, open_store
from leadsync.testing.crash import CallLog, Crash
from leadsync.testing.sleeps import SleepRecorder
from leadsync.testing.stores import fresh_store
from leadsync.testing.sync_harness import (
    AUTOMATION,
    CONVERT,
    DELETE,
    LOCKS,
    QUOTA,
    WRITE_CALLS,
    SyncHarness,
)

__all__ = ["CONNECTION", "Reference", "SyncContract", "clean_state", "job", "reference", "run"]

CONNECTION = "crm"  # the connection's name in the state store
Harness: TypeAlias = SyncHarness[Any]


@dataclass(frozen=True)
class Reference:
    """What two clean syncs of a fresh CRM leave in it (``state``), and the calls of the first."""

    state: object
    calls: list[str]


@functools.lru_cache(maxsize=8)
def _rules(text: str) -> Rules:
    """A playbook compiled once: the crash loops run it hundreds of times (rules are immutable)."""
    return rules_from_source(load_yaml_text(text, "rules"))


def job(harness: Harness, crm: Any, store: StateStore, adapter: CrmAdapter | None = None) -> SyncJob:
    """A sync job on ``crm`` with the harness's playbook, at the harness's ``now``."""
    rules = _rules(harness.playbook(crm))
    now = harness.now
    return SyncJob(CONNECTION, adapter or harness.adapter(crm), rules, store, clock=lambda: now)


def run(harness: Harness, crm: Any, store: StateStore, adapter: CrmAdapter | None = None) -> RunResult:
    """One sync run on ``crm`` (a new adapter unless one is given)."""
    return job(harness, crm, store, adapter).run()


def reference(harness: Harness) -> Reference:
    """Two clean syncs of a fresh CRM: the first writes (its CRM calls are kept: the crash test
    crashes at each), the second does not."""
    crm, calls = harness.start(), CallLog()
    try:
        store = open_store("sqlite://")
        with harness.calls(crm, calls):
            first = run(harness, crm, store)
        second = run(harness, crm, store)
        assert first.counts["contacts_written"] > 0 and second.counts.get("contacts_written", 0) == 0
        return Reference(harness.state(crm), calls.calls)
    finally:
        harness.stop(crm)


def clean_state(harness: Harness, hot: int) -> object:
    """The state two clean syncs leave in a fresh CRM with ``hot`` people earning a task."""
    crm = harness.start(hot=hot)
    try:
        store = open_store("sqlite://")
        for _ in range(2):
            run(harness, crm, store)
        return harness.state(crm)
    finally:
        harness.stop(crm)


def needs(harness: Harness, *capabilities: str) -> None:
    """Skip the test, with the harness's reason, when its CRM lacks one of ``capabilities``."""
    for capability in capabilities:
        if capability in harness.lacks:
            pytest.skip(f"no {capability}: {harness.lacks[capability]}")


def has(harness: Harness, capability: str) -> bool:
    return capability not in harness.lacks


def answer_lost(adapter: CrmAdapter, tasks: int) -> CrmAdapter:
    """``adapter``, whose process dies right after the CRM answered the call that made its
    ``tasks``-th task (one call for all of them where the adapter creates tasks in batches)."""
    sent = 0
    real_one = adapter.create_task
    real_many: Callable[[Sequence[TaskRequest]], list[TaskResult]] | None = getattr(
        adapter, "create_tasks", None
    )

    def counted(n: int) -> None:
        nonlocal sent
        sent += n
        if sent >= tasks:
            raise Crash("the process died before the task call's answer was read")

    def create_task(task: TaskRequest) -> TaskResult:
        result = real_one(task)
        counted(1)
        return result

    def create_tasks(batch: Sequence[TaskRequest]) -> list[TaskResult]:
        assert real_many is not None
        results = real_many(batch)
        counted(len(batch))
        return results

    setattr(adapter, "create_task", create_task)  # noqa: B010 (an instance attribute, on purpose)
    if real_many is not None:
        setattr(adapter, "create_tasks", create_tasks)  # noqa: B010
    return adapter


@pytest.mark.leadsync_contract
class SyncContract:
    """Behaviour every adapter shows under the sync loop; subclass it and provide ``sync_harness``."""

    # -- one sync, then others ----------------------------------------------------------------------

    def test_one_sync_writes_everything_and_the_next_ones_nothing(
        self, sync_harness: Harness, sync_crm: Any, leadsync_store: StateStore, sync_reference: Reference
    ) -> None:
        """The first sync writes every person it changes and makes tasks, without setting off the
        CRM's automation; a second sync right after writes nothing and sends no write call; a third
        reads its own writes back (or nothing) and decides no one."""
        h, crm, store = sync_harness, sync_crm, leadsync_store
        if has(h, WRITE_CALLS) or has(h, AUTOMATION):
            h.reset_calls(crm)
        first = run(h, crm, store)
        counts = first.counts
        assert first.status == "ok" and counts["contacts_written"] == counts["contacts_changed"] > 0
        assert counts.get("tasks_created", 0) > 0
        if has(h, AUTOMATION):
            seen = h.automation(crm)
            assert seen and not any(seen.values()), seen
        if has(h, WRITE_CALLS):
            h.reset_calls(crm)
        second = run(h, crm, store)
        assert second.counts.get("contacts_written", 0) == 0 and second.counts.get("tasks_created", 0) == 0
        if has(h, WRITE_CALLS):
            assert h.write_calls(crm) == [], "a second sync sends no write call"
        assert h.state(crm) == sync_reference.state
        if has(h, WRITE_CALLS):
            h.reset_calls(crm)
        third = run(h, crm, store)
        assert third.counts.get("contacts_decided", 0) == 0
        if has(h, WRITE_CALLS):
            assert h.write_calls(crm) == [], "a third sync sends no write call"

    # -- crash and resume --------------------------------------------------------------------------

    def test_a_crash_at_every_call_of_a_run_then_resume(
        self, sync_harness: Harness, leadsync_store_url: str, sync_reference: Reference
    ) -> None:
        """Killed at any CRM call of the first sync (before sending it) and run twice more, the CRM
        ends as after an uninterrupted sync, with no task made twice."""
        h, calls = sync_harness, sync_reference.calls
        assert len(calls) > 10, calls
        for k in range(1, len(calls) + 1):
            crm = h.start()
            try:
                with fresh_store(leadsync_store_url, k) as state:
                    with pytest.raises(Crash), h.calls(crm, CallLog(crash_at=k)):
                        run(h, crm, state)
                    for _ in range(2):
                        run(h, crm, state)
                assert h.state(crm) == sync_reference.state, (
                    f"crash at call {k} of {len(calls)}: {calls[k - 1]}"
                )
                keys = h.task_keys(crm)
                assert len(keys) == len(set(keys)), f"a task made twice (crash at call {k})"
            finally:
                h.stop(crm)

    def test_a_crash_after_the_crm_made_the_tasks_makes_none_twice(
        self, sync_harness: Harness, leadsync_store: StateStore, sync_clean_state: Callable[[int], object]
    ) -> None:
        """The CRM created the run's tasks and the process died before the outbox recorded them:
        the next run finds them (it sends them again in one call and the CRM refuses a second
        task with the same key, or the adapter looks first) and the CRM ends as after clean runs."""
        h, store = sync_harness, leadsync_store
        crm = h.start(hot=3)
        try:
            with pytest.raises(Crash):
                run(h, crm, store, answer_lost(h.adapter(crm), tasks=3))
            made = h.task_keys(crm)
            assert len(made) == len(set(made)) == 3, "the tasks were created, each once"
            if has(h, WRITE_CALLS):
                h.reset_calls(crm)
            resumed = run(h, crm, store)
            assert resumed.counts.get("tasks_found") == 3 and not resumed.counts.get("tasks_created")
            if has(h, WRITE_CALLS):
                sent = h.write_calls(crm)
                assert len(sent) == (1 if h.resends_lost_tasks else 0), sent
            assert store.status(CONNECTION)["pending_actions"] == 0
            run(h, crm, store)
            assert h.state(crm) == sync_clean_state(3) and h.task_keys(crm) == made
        finally:
            h.stop(crm)

    # -- people's changes win ----------------------------------------------------------------------

    def test_a_reps_change_wins_and_is_a_conflict(
        self, sync_harness: Harness, sync_crm: Any, leadsync_store: StateStore
    ) -> None:
        """A stage and an owner a rep set after leadsync wrote them are kept, and reported."""
        h, crm, store = sync_harness, sync_crm, leadsync_store
        run(h, crm, store)
        written = store.written(CONNECTION, h.people(crm))
        person = next(cid for cid, fields in written.items() if {"owner_id", "stage"} <= set(fields))
        edit = h.rep_edit(crm, person)
        result = run(h, crm, store)
        record = h.record(crm, person)
        assert {k: record.get(k) for k in edit} == dict(edit)
        assert result.counts.get("conflicts", 0) >= 1

    # -- partial failures --------------------------------------------------------------------------

    def test_a_refused_record_is_a_dead_letter_while_the_rest_is_written(
        self, sync_harness: Harness, sync_crm: Any, leadsync_store: StateStore
    ) -> None:
        """A person the CRM refuses becomes a dead letter with the CRM's own words; a locked one
        waits in the outbox (a brief lock is waited out); everyone else is written. Once the CRM
        accepts them, the next run writes what waited."""
        h, crm, store = sync_harness, sync_crm, leadsync_store
        people = h.people(crm)
        refused, locked, brief = people[0], people[1], people[2]
        words = h.refuse(crm, refused)
        sleeps = SleepRecorder()
        locks = has(h, LOCKS)
        if locks:
            h.lock_briefly(crm, brief, sleeps)
            h.lock(crm, locked)
        result = run(h, crm, store, h.adapter(crm, retry=sleeps.policy()))
        assert result.counts["contacts_written"] == result.counts["contacts_changed"] - (2 if locks else 1)
        letters = store.recent_dead_letters(CONNECTION)
        assert [d.contact_id for d in letters] == [refused]
        assert all(w in (letters[0].error or "") for w in words), letters[0].error
        assert store.status(CONNECTION)["pending_writes"] == (1 if locks else 0), "the locked one waits"
        if locks:
            assert h.value(crm, locked, "score") is None, "the locked person is not written"
            assert h.value(crm, brief, "score") is not None, "the briefly locked one is, after a wait"
            h.unlock(crm, locked)
        h.refuse(crm, refused, refuse=False)
        run(h, crm, store)
        if locks:
            assert h.value(crm, locked, "score") is not None
        assert store.status(CONNECTION)["pending_writes"] == 0

    # -- the API allowance -------------------------------------------------------------------------

    def test_the_quota_stops_the_run_and_the_next_one_resumes(
        self, sync_harness: Harness, sync_crm: Any, leadsync_store: StateStore, sync_reference: Reference
    ) -> None:
        """A quota at its end stops the run with a time to resume at; with a new allowance, the
        next runs reach the state of an uninterrupted sync."""
        h, crm, store = sync_harness, sync_crm, leadsync_store
        needs(h, QUOTA)
        stop = h.exhaust_quota(crm)
        with pytest.raises(QuotaExhausted, match=stop.match) as stopped:
            run(h, crm, store, h.adapter(crm, **stop.options))
        assert stopped.value.resume_at is not None
        assert store.status(CONNECTION)["runs"][0]["status"] == "failed"
        h.restore_quota(crm)
        for _ in range(2):
            run(h, crm, store)
        assert h.state(crm) == sync_reference.state

    def test_a_quota_used_up_by_others_stops_before_anything_is_read(
        self, sync_harness: Harness, sync_crm: Any, leadsync_store: StateStore
    ) -> None:
        """Other integrations used the day up: the run stops cleanly, committing nothing."""
        h, crm, store = sync_harness, sync_crm, leadsync_store
        needs(h, QUOTA)
        stop = h.use_up_quota(crm)
        with pytest.raises(QuotaExhausted, match=stop.match) as stopped:
            run(h, crm, store, h.adapter(crm, **stop.options))
        assert stopped.value.resume_at is not None
        assert store.cursor(CONNECTION) is None, "nothing read, nothing committed"

    # -- people who change identity ----------------------------------------------------------------

    def test_a_converted_lead_carries_on_as_its_new_record(
        self, sync_harness: Harness, sync_crm: Any, leadsync_store: StateStore
    ) -> None:
        """A lead converted in the CRM hands its state and task keys to the record it became."""
        h, crm, store = sync_harness, sync_crm, leadsync_store
        needs(h, CONVERT)
        run(h, crm, store)
        tasks_before = h.task_keys(crm)
        lead = tasks_before[0].split(":")[1]
        became = h.convert(crm, lead)
        h.advance(crm, 90)
        result = run(h, crm, store)
        assert result.counts.get("contacts_moved") == 1
        assert store.contacts(CONNECTION, [lead]) == {} and became in store.contacts(CONNECTION, [became])
        assert h.value(crm, became, "score") is not None
        run(h, crm, store)
        assert h.task_keys(crm) == tasks_before, "no task made twice"

    def test_a_deleted_person_is_forgotten(
        self, sync_harness: Harness, sync_crm: Any, leadsync_store: StateStore
    ) -> None:
        """A person deleted in the CRM is forgotten, with whatever leadsync still had to do."""
        h, crm, store = sync_harness, sync_crm, leadsync_store
        needs(h, DELETE)
        run(h, crm, store)
        gone = h.people(crm)[3]
        assert store.contacts(CONNECTION, [gone])
        h.delete(crm, gone)
        h.advance(crm, 90)  # Salesforce's deleted-records resource wants a window of a minute or more
        result = run(h, crm, store)
        assert result.counts.get("contacts_deleted") == 1 and store.contacts(CONNECTION, [gone]) == {}
