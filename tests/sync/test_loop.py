"""The sync loop against an in-memory CRM, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from connector.model import Activity, Contact, Owner
from connector.rules.loader import load_rules
from connector.sync.loop import SyncJob
from connector.sync.state import StateStore, open_store
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


def job(fake: FakeCrm, store: StateStore, now: datetime = NOW) -> SyncJob:
    return SyncJob("test", fake, RULES, store, clock=lambda: now, batch_size=2)


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
        assert fake.contacts["c0"].stage == "mql" and fake.contacts["c1"].stage is None
        dead = store.recent_dead_letters("test")
        assert dead[0].contact_id == "c1" and "rejected by a rule" in dead[0].error


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


class TestCrashSafety:
    """Killed at any CRM call and restarted, a run converges to the uninterrupted result:
    no lost write, no duplicate task, no cursor past unwritten work."""

    def test_crash_at_every_call(self, store_url: str, tmp_path: Any) -> None:
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
                    job(fake, state).run()
                except Crash:
                    crashed = True
            assert crashed
            assert crm_state(fake) == expected, f"crash at call {k}"
            state.close()
            if store_url.startswith("postgresql"):
                from tests.sync.conftest import drop_pg_schema

                drop_pg_schema(url)
