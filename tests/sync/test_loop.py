"""The sync loop against an in-memory CRM, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from leadsync.api import Page, TaskRequest, TaskResult, TransientError
from leadsync.model import Activity, Contact, Owner
from leadsync.rules.loader import load_rules
from leadsync.sync.loop import DECIDE_BATCH, SyncJob
from leadsync.sync.state import StateStore, open_store
from tests.sync.fake_crm import Crash, FakeCrm

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # Monday 11:00 in Madrid

RULES = load_rules(Path(__file__).with_name("rules.yaml"))


def contact(cid: str, title: str, **kw: Any) -> Contact:
    return Contact(
        id=cid,
        created_at=NOW - timedelta(days=30),
        title=title,
        email=f"{cid}@{kw.pop('domain', 'acme.com')}",
        **kw,
    )


def crm() -> FakeCrm:
    fake = FakeCrm(owners=[Owner("u1"), Owner("u2")])
    for i, title in enumerate(["CEO", "CEO", "Student", "Engineer", "CEO", "Intern", "CEO"]):
        fake.put(contact(f"c{i}", title, domain=f"co{i}.com"))
    for i in (0, 1, 4, 6):
        fake.activities.append(Activity(f"a{i}", f"c{i}", "demo_request", NOW - timedelta(minutes=30)))
    return fake


def job(fake: FakeCrm, store: StateStore, now: datetime = NOW, **kw: Any) -> SyncJob:
    return SyncJob("test", fake, RULES, store, clock=lambda: now, batch_size=2, **kw)


def crm_state(fake: FakeCrm) -> dict[str, Any]:
    """What a person would see in the CRM (ids of tasks aside)."""
    contacts = {
        cid: (c.stage, c.owner_id, c.disqualification_reason, c.mql_at, c.assigned_at, c.score)
        for cid, c in fake.contacts.items()
    }
    tasks = sorted((k, t["owner_id"], t["title"], t["due_at"]) for k, t in fake.tasks.items())
    return {"contacts": contacts, "extra": fake.extra, "tasks": tasks}


class TestOneRun:
    """A first run decides every contact, writes what changed, creates each task once."""

    def test_writes_stages_owners_and_tasks(self, store: StateStore) -> None:
        fake = crm()
        result = job(fake, store).run()
        assert result.status == "ok"
        c0 = fake.contacts["c0"]
        assert (c0.stage, c0.owner_id, c0.mql_at) == ("mql", "u1", NOW)
        assert fake.contacts["c1"].owner_id == "u2"  # round robin, in order of (mql_at, id)
        assert fake.contacts["c2"].stage == "disqualified"
        assert fake.contacts["c2"].disqualification_reason == "student"
        assert fake.extra["c0"]["sla_status"] == "pending"
        assert fake.extra["c0"]["sla_due_at"] == NOW + timedelta(hours=2)
        assert fake.extra["c0"]["score_breakdown"] == "ceo +30; demo +80"
        assert sorted(fake.tasks) == sorted(
            [f"demo_request:c{i}:a{i}" for i in (0, 1, 4, 6)]
            + [f"stage_mql:c{i}:2026-11-23T10:00:00Z" for i in (0, 1, 4, 6)]
        )
        assert store.cursor("test") is not None
        status = store.status("test")
        assert status["pending_writes"] == 0 and status["pending_actions"] == 0
        assert status["runs"][0]["status"] == "ok"

    def test_the_result_counts_decisions_by_stage_change(self, store: StateStore) -> None:
        """What the daemon's metrics show as decisions by stage change (``from`` → ``to``)."""
        result = job(crm(), store).run()
        assert result.stages == {("lead", "mql"): 4, ("lead", "disqualified"): 1, ("lead", "lead"): 2}
        assert sum(result.stages.values()) == result.counts["contacts_decided"]

    def test_the_job_keeps_the_result_of_a_run_that_raised(self, store: StateStore) -> None:
        """The daemon counts what a failed run did before it failed (writes the CRM took)."""
        fake = crm()
        sync = job(fake, store)
        assert sync.last_result is None

        def unavailable(contact_ids: Sequence[str]) -> list[Activity]:
            raise TransientError("503 from the CRM")

        fake.read_activities = unavailable  # type: ignore[method-assign]
        with pytest.raises(TransientError):
            sync.run()
        assert sync.last_result is not None and sync.last_result.status == "failed"
        assert sync.last_result.counts["contacts_read"] == 7

    def test_a_no_op_resync_writes_nothing(self, store: StateStore) -> None:
        fake = crm()
        job(fake, store).run()
        before = fake.write_calls
        reads = fake.calls["read_activities"]
        second = job(fake, store).run()  # re-reads the contacts it wrote: echoes, skipped
        assert fake.write_calls == before
        assert second.counts.get("contacts_changed", 0) == 0
        assert second.counts["echoes_skipped"] == 7
        assert fake.calls["read_activities"] == reads
        third = job(fake, store).run()
        assert third.counts.get("contacts_read", 0) == 0
        assert fake.write_calls == before


class TestEchoes:
    """A contact read again only because leadsync wrote it is skipped; one with news is not."""

    def test_a_logged_call_is_news(self, store: StateStore) -> None:
        fake = crm()
        job(fake, store).run()
        assert fake.extra["c0"]["sla_status"] == "pending"
        call = Activity("call1", "c0", "call", NOW + timedelta(minutes=20), "u1", {"outcome": "connected"})
        fake.log(call)
        result = job(fake, store, NOW + timedelta(minutes=30)).run()
        assert result.counts["contacts_decided"] >= 1
        assert fake.extra["c0"]["sla_status"] == "met"


class TestManualChangesWin:
    """A field a person changed after leadsync wrote it is kept and reported as a conflict."""

    def test_person_moves_owner_and_stage(self, store: StateStore) -> None:
        fake = crm()
        job(fake, store).run()
        fake.person_sets("c0", stage="lead", owner_id="u2")
        result = job(fake, store).run()
        assert (fake.contacts["c0"].stage, fake.contacts["c0"].owner_id) == ("lead", "u2")
        assert result.counts["conflicts"] >= 1
        assert store.status("test")["conflicts"] >= 1


class TestPartialFailure:
    """One record the CRM refuses becomes a dead letter; the rest of its batch is written."""

    def test_rejected_record(self, store: StateStore) -> None:
        fake = crm()
        fake.reject.add("c1")
        result = job(fake, store).run()
        assert result.counts["dead_letters"] == 1
        assert result.counts["writes_refused"] == 1 and result.counts["contacts_written"] == 6
        assert "tasks_refused" not in result.counts
        assert fake.contacts["c0"].stage == "mql" and fake.contacts["c1"].stage is None
        dead = store.recent_dead_letters("test")
        assert dead[0].contact_id == "c1" and "rejected by a rule" in dead[0].error

    def test_refused_task(self, store: StateStore) -> None:
        fake = crm()
        create = fake.create_task

        def refuse_c0(task: TaskRequest) -> TaskResult:
            if task.contact_id == "c0":
                return TaskResult(task.key, None, error="INVALID_OWNER_ID")
            return create(task)

        fake.create_task = refuse_c0  # type: ignore[method-assign]
        result = job(fake, store).run()
        assert result.counts["tasks_refused"] == 2 and result.counts["tasks_created"] == 6
        assert result.counts["dead_letters"] == 2 and "writes_refused" not in result.counts


class TestTimeDrivenChanges:
    """An SLA falling due is written for a contact nobody touched, from state alone."""

    def test_sla_breach_found_by_the_sweep(self, store: StateStore) -> None:
        fake = crm()
        job(fake, store).run()
        job(fake, store).run()  # settles the re-read of its own writes
        reads = fake.calls["read_activities"]
        later = NOW + timedelta(hours=3)
        result = job(fake, store, later).run()
        assert result.counts.get("contacts_read", 0) == 0
        assert result.counts["contacts_swept"] >= 4
        assert fake.calls["read_activities"] == reads  # decided from state, not re-read
        assert fake.extra["c0"]["sla_status"] == "breached"


@dataclass
class RecordingCrm(FakeCrm):
    """The fake CRM, noting how many contacts each activities read asked for (or dying there);
    ``overlap`` makes each page start with the previous page's last contact (as a re-anchored
    search does)."""

    activity_reads: list[int] = field(default_factory=list)
    overlap: bool = False
    crash_on_activities: bool = False

    def read_activities(self, contact_ids: Sequence[str]) -> list[Activity]:
        if self.crash_on_activities:
            raise Crash("read_activities")
        self.activity_reads.append(len(contact_ids))
        return super().read_activities(contact_ids)

    def read_contacts(self, cursor: str | None) -> Iterator[Page[Contact]]:
        last: list[Contact] = []
        for page in super().read_contacts(cursor):
            yield Page(last + list(page.records), page.cursor) if self.overlap else page
            last = list(page.records[-1:])


def recording_crm(**kw: Any) -> RecordingCrm:
    fake = RecordingCrm(**kw)
    reference = crm()
    fake.owners, fake.activities = reference.owners, reference.activities
    for cid in sorted(reference.contacts):
        fake.put(reference.contacts[cid])
    return fake


class TestDecisionBatches:
    """Contacts with news are decided in batches of whole pages: one activities read a batch,
    committed with the cursor of its last page. The batch size changes the reads, not the CRM."""

    @pytest.mark.parametrize(
        ("decide_batch", "reads"),
        [(DECIDE_BATCH, [7]), (4, [6, 1]), (3, [3, 3, 1]), (1, [3, 3, 1])],
    )
    def test_activities_read_once_a_batch(
        self, store: StateStore, decide_batch: int, reads: list[int]
    ) -> None:
        fake = recording_crm()  # 7 contacts, pages of 3
        result = job(fake, store, decide_batch=decide_batch).run()
        assert fake.activity_reads == reads
        assert result.counts["contacts_read"] == 7 and result.counts["contacts_decided"] == 7
        reference = crm()
        job(reference, open_store("sqlite://")).run()
        assert crm_state(fake) == crm_state(reference)

    def test_a_contact_read_twice_is_decided_once(self, store: StateStore) -> None:
        fake = recording_crm(overlap=True)
        result = job(fake, store).run()
        assert result.counts["contacts_read"] == 9  # pages of 3, 4 and 2
        assert result.counts["contacts_decided"] == 7 and fake.activity_reads == [7]
        reference = crm()
        job(reference, open_store("sqlite://")).run()
        assert crm_state(fake) == crm_state(reference)

    def test_echoes_close_a_batch_too(self, store: StateStore) -> None:
        """A run of echoes is committed in batches too: what a batch holds stays bounded."""
        fake = recording_crm()
        job(fake, store).run()
        fake.person_sets("c3", title="CEO")  # news, read after the 6 others' echoes (2 pages)
        after_echoes = str(max(m for cid, m in fake.modified.items() if cid != "c3"))
        fake.crash_on_activities = True
        with pytest.raises(Crash):
            job(fake, store, decide_batch=4).run()
        assert store.cursor("test") == after_echoes  # the echoes' batch was committed, c3's not
        fake.crash_on_activities = False
        result = job(fake, store, decide_batch=4).run()
        assert result.counts["contacts_read"] == 1 and fake.activity_reads[1:] == [1]
        assert fake.contacts["c3"].score == 30

    def test_stop_ends_the_batch_at_the_page_in_hand(self, store: StateStore) -> None:
        fake = recording_crm()
        run = job(fake, store, decide_batch=DECIDE_BATCH)
        read: list[int] = []

        def progress(n: int) -> None:  # SIGTERM arrives while the first page is read
            read.append(n)
            run.stop.set()

        run.progress = progress
        result = run.run()
        assert result.status == "stopped" and read == [3]
        assert fake.activity_reads == [3]
        assert sorted(store.contacts("test", list(fake.contacts))) == ["c0", "c1", "c2"]
        assert store.status("test")["pending_writes"] == 0
        assert store.cursor("test") == "3"
        assert fake.contacts["c0"].stage == "mql" and fake.contacts["c3"].score is None
        job(fake, store).run()
        assert len(store.contacts("test", list(fake.contacts))) == 7

    def test_decide_batch_must_be_positive(self, store: StateStore) -> None:
        with pytest.raises(ValueError, match="decide_batch"):
            job(crm(), store, decide_batch=0)


class TestCrashSafety:
    """Killed at any CRM call and restarted, a run converges to the uninterrupted result:
    no lost write, no duplicate task, no cursor past unwritten work. With one decision batch
    for the whole read, and with batches of whole pages (6 contacts, then 1)."""

    @pytest.mark.parametrize("decide_batch", [DECIDE_BATCH, 4])
    def test_crash_at_every_call(self, store_url: str, tmp_path: Any, decide_batch: int) -> None:
        reference = crm()
        ref_store = open_store(f"sqlite:///{tmp_path / 'ref.db'}")
        job(reference, ref_store).run()
        job(reference, ref_store).run()
        expected = crm_state(reference)
        total_calls = sum(reference.calls.values())
        assert total_calls > 10
        for k in range(1, total_calls + 1):
            if store_url.startswith("postgresql"):
                from tests.sync.conftest import fresh_pg_url

                url = fresh_pg_url()
                state = open_store(url)
            else:
                state = open_store(f"sqlite:///{tmp_path / f'crash{k}.db'}")
            fake = crm()
            fake.crash_at_call = k  # counted over the runs below: the k-th CRM call dies
            crashed = False
            for _ in range(3):
                try:
                    job(fake, state, decide_batch=decide_batch).run()
                except Crash:
                    crashed = True
            assert crashed
            assert crm_state(fake) == expected, f"crash at call {k}"
            state.close()
            if store_url.startswith("postgresql"):
                from tests.sync.conftest import drop_pg_schema

                drop_pg_schema(url)
