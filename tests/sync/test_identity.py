"""What pages say beyond their records: activity news, deletions, moves, a full re-read."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta

from sqlalchemy import select

from leadsync.api import Page
from leadsync.model import Activity, Contact
from leadsync.sync.state import StateStore
from leadsync.sync.tables import ActionRow, HistoryRow, WrittenRow
from tests.sync.fake_crm import FakeCrm
from tests.sync.test_loop import NOW, crm, job


@dataclass
class ExtrasCrm(FakeCrm):
    """A fake CRM whose reads end with pages the test hands it, or re-read everything."""

    extras: list[Page[Contact]] = field(default_factory=list)
    reread: bool = False

    def read_contacts(self, cursor: str | None) -> Iterator[Page[Contact]]:
        last = str(max(self.modified.values(), default=0))
        if self.reread:
            ids = sorted(self.contacts)
            for start in range(0, len(ids), self.page_size):
                done = start + self.page_size >= len(ids)
                records = [self.contacts[c] for c in ids[start : start + self.page_size]]
                yield Page(records, last, reread=True, reread_done=done)
            self.reread = False
        else:
            yield from super().read_contacts(cursor)
        for page in self.extras:
            yield replace(page, cursor=last)
        self.extras = []


def extras_crm() -> ExtrasCrm:
    base = crm()
    fake = ExtrasCrm(owners=base.owners, activities=base.activities)
    for contact in sorted(base.contacts.values(), key=lambda c: base.modified[c.id]):
        fake.put(contact)
    return fake


def _written(store: StateStore, cid: str) -> dict[str, object]:
    with store.transaction() as s:
        rows = s.scalars(select(WrittenRow).where(WrittenRow.contact_id == cid))
        return {r.field: r.value for r in rows}


def _action_owners(store: StateStore) -> dict[str, str]:
    with store.transaction() as s:
        return {r.key: r.contact_id for r in s.scalars(select(ActionRow))}


class TestActivityNews:
    def test_a_contact_with_activity_news_is_decided_though_it_reads_the_same(
        self, store: StateStore
    ) -> None:
        fake = extras_crm()
        job(fake, store).run()
        assert fake.extra["c0"]["sla_status"] == "pending"
        # A call logged in a CRM that does not show it on the contact: only the page says so.
        fake.activities.append(
            Activity("call1", "c0", "call", NOW + timedelta(minutes=20), "u1", {"outcome": "connected"})
        )
        fake.extras = [Page([fake.contacts["c0"]], None, news=frozenset({"c0"}))]
        result = job(fake, store, NOW + timedelta(minutes=30)).run()
        assert result.counts["contacts_decided"] == 1
        assert fake.extra["c0"]["sla_status"] == "met"

    def test_without_news_the_same_contact_is_an_echo(self, store: StateStore) -> None:
        fake = extras_crm()
        job(fake, store).run()
        fake.activities.append(Activity("call1", "c0", "call", NOW + timedelta(minutes=20), "u1"))
        fake.extras = [Page([fake.contacts["c0"]], None)]
        result = job(fake, store, NOW + timedelta(minutes=30)).run()
        assert result.counts.get("contacts_decided", 0) == 0 and result.counts["echoes_skipped"] >= 1
        assert fake.extra["c0"]["sla_status"] == "pending"


class TestDeletions:
    def test_a_deleted_contact_is_forgotten_with_its_pending_work(self, store: StateStore) -> None:
        fake = extras_crm()
        job(fake, store).run()
        assert "c0" in store.contacts("test", ["c0"])
        del fake.contacts["c0"], fake.modified["c0"]
        fake.extras = [Page([], None, deleted=("c0", "never-seen"))]
        result = job(fake, store, NOW + timedelta(minutes=5)).run()
        assert result.counts["contacts_deleted"] == 1
        assert store.contacts("test", ["c0"]) == {} and _written(store, "c0") == {}
        assert "c0" not in store.due_contact_ids("test", NOW + timedelta(days=400), set())
        with store.transaction() as s:  # its decision history stays until the retention ends
            assert list(s.scalars(select(HistoryRow.field).where(HistoryRow.contact_id == "c0")))


class TestMoves:
    def test_a_converted_lead_hands_its_state_to_its_contact(self, store: StateStore) -> None:
        fake = extras_crm()
        job(fake, store).run()
        written = _written(store, "c0")
        keys = [k for k, cid in _action_owners(store).items() if cid == "c0"]
        assert written and keys
        lead = fake.contacts.pop("c0")
        fake.modified.pop("c0")
        # Converted: sales has it, as an opportunity, under a new id.
        fake.put(replace(lead, id="k0", stage="opportunity"))
        fake.extras = [Page([], None, moved={"c0": "k0"})]
        result = job(fake, store, NOW + timedelta(minutes=5)).run()
        assert result.counts["contacts_moved"] == 1
        assert store.contacts("test", ["c0"]) == {} and "k0" in store.contacts("test", ["k0"])
        moved = _written(store, "k0")
        assert "stage" not in moved and moved.get("owner_id") == written.get("owner_id")
        assert all(_action_owners(store)[k] == "k0" for k in keys)
        assert result.counts.get("conflicts", 0) == 0, "the conversion's stage is not a manual change"
        assert not any(k.split(":")[1] == "k0" for k in fake.tasks), "no task made again for the new id"
        with store.transaction() as s:  # the decision history follows: one person's timeline
            fields = list(s.scalars(select(HistoryRow.field).where(HistoryRow.contact_id == "k0")))
            assert "stage" in fields and "owner_id" in fields
            assert not list(s.scalars(select(HistoryRow.field).where(HistoryRow.contact_id == "c0")))


class TestFullReread:
    def test_what_a_complete_re_read_did_not_find_is_gone(self, store: StateStore) -> None:
        fake = extras_crm()
        job(fake, store).run()
        del fake.contacts["c2"], fake.modified["c2"]  # deleted while the deletion log was lost
        fake.reread = True
        result = job(fake, store, NOW + timedelta(minutes=5)).run()
        assert result.counts["contacts_deleted"] == 1
        assert store.contacts("test", ["c2"]) == {}
        assert set(store.contacts("test", list(fake.contacts))) == set(fake.contacts)

    def test_an_interrupted_re_read_forgets_nothing_until_it_completes(self, store: StateStore) -> None:
        fake = extras_crm()
        job(fake, store).run()
        del fake.contacts["c2"], fake.modified["c2"]
        fake.reread = True
        stopping = job(fake, store, NOW + timedelta(minutes=5), decide_batch=1)
        stopping.stop.set()  # SIGTERM: the batch in hand is committed, the re-read is not done
        stopping.run()
        assert "c2" in store.contacts("test", ["c2"])
        fake.reread = True  # the next run reads on; its end completes the re-read begun before
        job(fake, store, NOW + timedelta(minutes=10)).run()
        assert store.contacts("test", ["c2"]) == {}
