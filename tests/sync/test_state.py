"""The state store's batch operations, on SQLite and PostgreSQL: what lands in which table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from leadsync.sync.snapshot import apply_written, refresh_records
from leadsync.sync.state import (
    DeadLetter,
    FailedWrite,
    NewAction,
    PendingWrite,
    SeenConflict,
    StateStore,
)
from leadsync.sync.tables import ActionRow, ConflictRow, ContactRow, DeadLetterRow, OutboxRow, WrittenRow
from tests.sync.test_loop import contact

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def snapshot(cid: str, **kw: Any) -> dict[str, Any]:
    return {
        "connection": "t",
        "contact_id": cid,
        "record": {"id": cid, "title": "CEO", "properties": {}},
        "activities": [],
        "read_at": NOW,
        "recheck_at": None,
        "stage": "lead",
        "sla_status": None,
        "domain": None,
        "created_at": NOW - timedelta(days=3),
        "owner_id": None,
        "assigned_at": None,
    } | kw


def outbox(store: StateStore) -> list[tuple[str, dict[str, Any], dict[str, Any], str, int]]:
    with store.transaction() as s:
        rows = s.scalars(select(OutboxRow).order_by(OutboxRow.id))
        return [(r.contact_id, r.values, r.current, r.status, r.attempts) for r in rows]


class TestContacts:
    """Snapshots are inserted or replaced by key, in one call for many, beyond one IN chunk."""

    def test_save_then_replace(self, store: StateStore) -> None:
        ids = [f"c{i}" for i in range(1200)]
        with store.transaction() as s:
            store.save_contacts(s, [snapshot(cid) for cid in ids])
        with store.transaction() as s:
            store.save_contacts(s, [snapshot("c7", stage="mql"), snapshot("c7", stage="sql"), snapshot("x")])
        rows = store.contacts("t", [*ids, "x", "unknown"])
        assert len(rows) == 1201 and "unknown" not in rows
        assert rows["c7"].stage == "sql"  # the last of two rows for one key wins
        assert rows["c8"].created_at.replace(tzinfo=UTC) == NOW - timedelta(days=3)
        assert store.records("t", ["c7", "nope"]) == {"c7": snapshot("c7")["record"]}
        assert store.contacts("other", ids) == {}

    def test_refresh_keeps_own_fields_and_skips_unknown(self, store: StateStore) -> None:
        own = {"sla_status": "pending", "score_breakdown": "ceo +30"}
        with store.transaction() as s:
            store.save_contacts(s, [snapshot("c1", record={"id": "c1", "properties": own})])
        read = contact("c1", "CTO")
        with store.transaction() as s:
            refresh_records(s, "t", [read, contact("c2", "CEO")], NOW + timedelta(minutes=5))
        record = store.records("t", ["c1", "c2"])
        assert list(record) == ["c1"]
        assert record["c1"]["title"] == "CTO" and record["c1"]["properties"] == own
        assert store.contacts("t", ["c1"])["c1"].read_at.replace(tzinfo=UTC) == NOW + timedelta(minutes=5)

    def test_refresh_keeps_a_stage_date_the_read_left_out(self, store: StateStore) -> None:
        when = "2026-11-01T09:00:00+00:00"
        with store.transaction() as s:
            store.save_contacts(s, [snapshot("c1", record={"id": "c1", "stage_changed_at": when})])
        with store.transaction() as s:
            refresh_records(s, "t", [contact("c1", "CTO")], NOW)
        assert store.records("t", ["c1"])["c1"]["stage_changed_at"] == when

    def test_apply_written(self, store: StateStore) -> None:
        with store.transaction() as s:
            store.save_contacts(
                s, [snapshot("c1", record={"id": "c1", "stage": "lead", "disqualification_reason": "x"})]
            )
        written = {"stage": "mql", "disqualification_reason": None, "sla_status": "pending"}
        with store.transaction() as s:
            apply_written(s, "t", {"c1": written, "gone": {"stage": "sql"}})
        assert store.records("t", ["c1", "gone"]) == {
            "c1": {"id": "c1", "stage": "mql", "properties": {"sla_status": "pending"}}
        }


class TestOutbox:
    """One pending write per contact: a newer plan merges into it; sent rows leave the queue."""

    def test_coalesce_within_a_batch_and_with_a_pending_row(self, store: StateStore) -> None:
        with store.transaction() as s:
            store.enqueue_writes(
                s,
                "t",
                [
                    PendingWrite("c1", {"stage": "mql"}, {"stage": "lead"}),
                    PendingWrite("c2", {"score": 1}, {"score": None}),
                    PendingWrite("c1", {"owner_id": "u1"}, {"stage": "other", "owner_id": None}),
                ],
                NOW,
            )
        with store.transaction() as s:
            store.enqueue_writes(
                s,
                "t",
                [
                    PendingWrite("c1", {"stage": "sql"}, {"stage": "mql", "score": 5}),
                    PendingWrite("c3", {"score": 3}, {}),
                ],
                NOW + timedelta(minutes=1),
            )
        assert outbox(store) == [
            (
                "c1",
                {"stage": "sql", "owner_id": "u1"},
                {"stage": "lead", "owner_id": None, "score": 5},
                "pending",
                0,
            ),
            ("c2", {"score": 1}, {"score": None}, "pending", 0),
            ("c3", {"score": 3}, {}, "pending", 0),
        ]

    def test_done_failed_dead(self, store: StateStore) -> None:
        with store.transaction() as s:
            store.enqueue_writes(s, "t", [PendingWrite(f"c{i}", {"score": i}, {}) for i in range(4)], NOW)
        rows = store.pending_writes("t", 10)
        later = NOW + timedelta(minutes=5)
        with store.transaction() as s:
            store.writes_done(s, [rows[0].id, rows[1].id], later)
            store.writes_failed(s, [FailedWrite(rows[2].id, 1, "busy", dead=False)])
            store.writes_failed(s, [FailedWrite(rows[3].id, 5, "no", dead=True)])
            store.dead_letters(s, "t", [DeadLetter("write", "c3", None, {"score": 3}, "no")], later)
        assert [(r[0], r[3], r[4]) for r in outbox(store)] == [
            ("c0", "done", 0),
            ("c1", "done", 0),
            ("c2", "pending", 1),
            ("c3", "dead", 5),
        ]
        assert [r.contact_id for r in store.pending_writes("t", 10)] == ["c2"]
        with store.transaction() as s:
            errors = {r.contact_id: r.last_error for r in s.scalars(select(OutboxRow))}
            dead = s.scalars(select(DeadLetterRow)).one()
        assert errors == {"c0": None, "c1": None, "c2": "busy", "c3": "no"}
        assert (dead.kind, dead.contact_id, dead.payload, dead.error) == ("write", "c3", {"score": 3}, "no")
        # A contact whose write was sent gets a new pending row, not a merge into the sent one.
        with store.transaction() as s:
            store.enqueue_writes(s, "t", [PendingWrite("c0", {"score": 9}, {"score": 0})], later)
        assert [(r.contact_id, r.values) for r in store.pending_writes("t", 10)] == [
            ("c2", {"score": 2}),
            ("c0", {"score": 9}),
        ]

    def test_written_values(self, store: StateStore) -> None:
        with store.transaction() as s:
            store.record_written(s, "t", {"c1": {"stage": "mql", "sla_due_at": None}}, NOW)
        later = NOW + timedelta(hours=1)
        with store.transaction() as s:
            store.record_written(s, "t", {"c1": {"stage": "sql"}, "c2": {"score": 7}}, later)
        assert store.written("t", ["c1", "c2", "c3"]) == {
            "c1": {"stage": ("sql", later), "sla_due_at": (None, NOW)},
            "c2": {"score": (7, later)},
        }
        with store.transaction() as s:
            assert s.scalar(select(WrittenRow.value).where(WrittenRow.field == "sla_due_at")) is None


class TestActionsAndConflicts:
    """An action key is recorded once, ever; a conflict keeps its last sighting."""

    def test_action_keys_once(self, store: StateStore) -> None:
        first = [NewAction(f"k{i}", f"c{i}", "task", {"title": "Call"}) for i in range(3)]
        with store.transaction() as s:
            store.enqueue_actions(s, "t", first, NOW)
        with store.transaction() as s:
            store.update_action(s, "t", "k0", status="done", crm_id="T1", attempts=1, done_at=NOW)
        again = [NewAction("k0", "c0", "task", {"title": "Other"}), NewAction("k3", "c3", "notify", {})]
        with store.transaction() as s:
            store.enqueue_actions(s, "t", again + again, NOW + timedelta(hours=1))
        with store.transaction() as s:
            rows = {r.key: r for r in s.scalars(select(ActionRow))}
        assert sorted(rows) == ["k0", "k1", "k2", "k3"]
        assert (rows["k0"].status, rows["k0"].crm_id, rows["k0"].payload) == ("done", "T1", {"title": "Call"})
        assert [r.key for r in store.pending_actions("t", 10)] == ["k1", "k2", "k3"]
        assert store.known_action_keys("t", ["k0", "k3", "k9"]) == {"k0", "k3"}

    def test_conflicts(self, store: StateStore) -> None:
        with store.transaction() as s:
            store.record_conflicts(s, "t", [SeenConflict("c1", "owner_id", "u2", "u1")], NOW)
        later = NOW + timedelta(hours=1)
        with store.transaction() as s:
            store.record_conflicts(
                s,
                "t",
                [SeenConflict("c1", "owner_id", "u3", "u1"), SeenConflict("c1", "stage", None, "mql")],
                later,
            )
        with store.transaction() as s:
            rows = sorted((r.field, r.crm_value, r.wanted) for r in s.scalars(select(ConflictRow)))
        assert rows == [("owner_id", "u3", "u1"), ("stage", None, "mql")]
        assert store.status("t")["conflicts"] == 2


class TestRoutingOwnersCursor:
    def test_upserts(self, store: StateStore) -> None:
        with store.transaction() as s:
            store.save_routing_state(s, "t", {"a": {"next_index": 1}, "b": {"next_index": 0}})
            store.save_owners(s, "t", [{"id": "u1"}, {"id": "u2"}])
            store.set_cursor(s, "t", "10")
        with store.transaction() as s:
            store.save_routing_state(s, "t", {"a": {"next_index": 2}})
            store.save_owners(s, "t", [{"id": "u2", "active": False}])
            store.set_cursor(s, "t", "20")
            store.set_cursor(s, "t", None)
        assert store.routing_state("t") == {"a": {"next_index": 2}, "b": {"next_index": 0}}
        assert store.owners("t") == [{"id": "u2", "active": False}]
        assert store.cursor("t") == "20"
        with store.transaction() as s:
            assert s.scalars(select(ContactRow)).all() == []
