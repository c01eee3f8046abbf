"""The durable state of the daemon: SQLite (``state.db``, WAL) by default, PostgreSQL by URL.

Every method that changes rows takes a ``Session`` so that the sync loop can make one
transaction of "these contacts, these pending writes and actions, and this cursor". They take
a batch (a page's or a decision batch's rows) and write it set-based: one upsert, insert or
update per table, executed for many rows, and reads as ``SELECT ... WHERE id IN (...)`` in
chunks (``leadsync.sync.bulk``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from leadsync.sync import database
from leadsync.sync.bulk import chunks as _chunks
from leadsync.sync.bulk import update_rows, upsert
from leadsync.sync.database import utc
from leadsync.sync.status import connection_status
from leadsync.sync.tables import (
    ActionRow,
    ConflictRow,
    ContactRow,
    CursorRow,
    DeadLetterRow,
    OutboxRow,
    OwnerRow,
    RoutingRow,
    RulesAppliedRow,
    RunRow,
    WrittenRow,
)

__all__ = [
    "DEFAULT_URL",
    "DeadLetter",
    "FailedWrite",
    "NewAction",
    "PendingWrite",
    "SeenConflict",
    "StateStore",
    "open_store",
]

DEFAULT_URL = "sqlite:///state.db"


class PendingWrite(NamedTuple):
    """A contact write to queue: the values to write, and the CRM's values before it (JSON)."""

    contact_id: str
    values: dict[str, Any]
    current: dict[str, Any]


class FailedWrite(NamedTuple):
    """An outbox row the CRM did not take: its attempts so far, why, and whether to give up."""

    id: int
    attempts: int
    error: str | None
    dead: bool


class NewAction(NamedTuple):
    """An action to record under its key (``kind``: task or notify)."""

    key: str
    contact_id: str
    kind: str
    payload: dict[str, Any]


class SeenConflict(NamedTuple):
    """A field a person changed after leadsync wrote it: the CRM's value and leadsync's."""

    contact_id: str
    field: str
    crm_value: Any
    wanted: Any


class DeadLetter(NamedTuple):
    """A write (``kind`` write) or task (``kind`` task) the CRM refused, with its error text and
    cause (``leadsync.sync.refusals.letter_cause``)."""

    kind: str
    contact_id: str | None
    key: str | None
    payload: dict[str, Any]
    error: str
    cause: str | None = None


def open_store(url: str = DEFAULT_URL) -> StateStore:
    """Open (and create or migrate) the state store at ``url``."""
    engine = database.engine(url)
    database.migrate(engine)
    return StateStore(engine)


class StateStore:
    """Reads and writes of the daemon's state, one connection name at a time."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._fences = threading.local()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises.

        Inside ``fenced`` (on this thread), it first runs the fence's check, which may refuse.
        """
        with self._sessions.begin() as session:
            check = getattr(self._fences, "check", None)
            if check is not None:
                check(session)
            yield session

    @contextmanager
    def fenced(self, check: Callable[[Session], None]) -> Iterator[None]:
        """Every ``transaction`` this thread opens in the block begins with ``check(session)``: a
        replica's lease on the connection it syncs (``leadsync.sync.leases``), so that a replica
        which lost it commits nothing more."""
        before = getattr(self._fences, "check", None)
        self._fences.check = check
        try:
            yield
        finally:
            self._fences.check = before

    def close(self) -> None:
        self.engine.dispose()

    # -- cursors ------------------------------------------------------------------------------

    def cursor(self, connection: str, obj: str = "contacts") -> str | None:
        with self._sessions() as s:
            row = s.get(CursorRow, (connection, obj))
            return row.value if row else None

    @staticmethod
    def set_cursor(s: Session, connection: str, value: str | None, obj: str = "contacts") -> None:
        if value is None:
            return
        row = {"connection": connection, "object": obj, "value": value, "updated_at": datetime.now(UTC)}
        upsert(s, CursorRow, [row])

    # -- contacts -----------------------------------------------------------------------------

    @staticmethod
    def save_contacts(s: Session, rows: Sequence[dict[str, Any]]) -> None:
        """Snapshots (rows of the contacts table, as dicts), inserted or replaced: one upsert."""
        upsert(s, ContactRow, rows)

    def contacts(self, connection: str, ids: Sequence[str]) -> dict[str, ContactRow]:
        with self._sessions() as s:
            out: dict[str, ContactRow] = {}
            for chunk in _chunks(ids):
                q = select(ContactRow).where(
                    ContactRow.connection == connection, ContactRow.contact_id.in_(chunk)
                )
                out.update({r.contact_id: r for r in s.scalars(q)})
            return out

    def records(self, connection: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The stored record of each known contact among ``ids`` (its activities not read)."""
        with self._sessions() as s:
            return self.records_in(s, connection, ids)

    @staticmethod
    def records_in(s: Session, connection: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """``records``, inside a transaction."""
        out: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(ids):
            q = select(ContactRow.contact_id, ContactRow.record).where(
                ContactRow.connection == connection, ContactRow.contact_id.in_(chunk)
            )
            out.update({cid: record for cid, record in s.execute(q)})
        return out

    @staticmethod
    def update_records(
        s: Session, connection: str, records: dict[str, dict[str, Any]], read_at: datetime | None = None
    ) -> None:
        """Replace the stored record of these (known) contacts: one UPDATE, executed for many."""
        rows: list[dict[str, Any]] = [
            {"connection": connection, "contact_id": cid, "record": r} for cid, r in records.items()
        ]
        if read_at is not None:
            for row in rows:
                row["read_at"] = read_at
        update_rows(s, ContactRow, rows)

    def due_contact_ids(self, connection: str, now: datetime, exclude: set[str]) -> list[str]:
        """Contacts whose decision time alone may have changed by ``now``."""
        with self._sessions() as s:
            q = select(ContactRow.contact_id).where(
                ContactRow.connection == connection, ContactRow.recheck_at <= now
            )
            return [cid for cid in s.scalars(q) if cid not in exclude]

    def contact_ids(self, connection: str) -> list[str]:
        """Every contact known on ``connection`` (what a change of the rules re-decides)."""
        with self._sessions() as s:
            q = select(ContactRow.contact_id).where(ContactRow.connection == connection)
            return sorted(s.scalars(q))

    def contacts_at_domain(self, connection: str, domain: str) -> list[tuple[str, datetime, str | None]]:
        """(id, created_at, owner_id) of the known contacts at company ``domain`` (account match;
        the index ``ix_contacts_domain``)."""
        with self._sessions() as s:
            q = select(ContactRow.contact_id, ContactRow.created_at, ContactRow.owner_id).where(
                ContactRow.connection == connection, ContactRow.domain == domain
            )
            return [(cid, utc(created) or created, owner) for cid, created, owner in s.execute(q)]

    def assigned_between(
        self, connection: str, owner_id: str, start: datetime, end: datetime
    ) -> list[tuple[str, datetime]]:
        """(id, assigned_at) of the known contacts ``owner_id`` owns, assigned in [start, end)
        (capacity per day; the index ``ix_contacts_assigned``)."""
        with self._sessions() as s:
            q = select(ContactRow.contact_id, ContactRow.assigned_at).where(
                ContactRow.connection == connection,
                ContactRow.owner_id == owner_id,
                ContactRow.assigned_at >= start.astimezone(UTC),
                ContactRow.assigned_at < end.astimezone(UTC),
            )
            return [(cid, at) for cid, at in ((cid, utc(at)) for cid, at in s.execute(q)) if at is not None]

    # -- written values and conflicts ---------------------------------------------------------

    def written(self, connection: str, ids: Sequence[str]) -> dict[str, dict[str, tuple[Any, datetime]]]:
        """Per contact, per field: (value leadsync last wrote, when)."""
        out: dict[str, dict[str, tuple[Any, datetime]]] = {}
        with self._sessions() as s:
            for chunk in _chunks(ids):
                q = select(WrittenRow).where(
                    WrittenRow.connection == connection, WrittenRow.contact_id.in_(chunk)
                )
                for r in s.scalars(q):
                    out.setdefault(r.contact_id, {})[r.field] = (r.value, utc(r.written_at) or r.written_at)
        return out

    @staticmethod
    def record_written(s: Session, connection: str, values: dict[str, dict[str, Any]], at: datetime) -> None:
        """Per contact, the values the CRM confirmed: each field's last written value, upserted."""
        rows = [
            {"connection": connection, "contact_id": cid, "field": name, "value": value, "written_at": at}
            for cid, fields in values.items()
            for name, value in fields.items()
        ]
        upsert(s, WrittenRow, rows)

    @staticmethod
    def record_conflicts(
        s: Session, connection: str, conflicts: Sequence[SeenConflict], at: datetime
    ) -> None:
        """Fields a person changed after leadsync wrote them; the last sighting per field is kept."""
        upsert(s, ConflictRow, [{"connection": connection, **c._asdict(), "seen_at": at} for c in conflicts])

    # -- outbox -------------------------------------------------------------------------------

    @staticmethod
    def enqueue_writes(s: Session, connection: str, writes: Sequence[PendingWrite], now: datetime) -> None:
        """One pending write per contact: a newer plan merges into the one still pending."""
        merged: dict[str, PendingWrite] = {}
        for w in writes:
            old = merged.get(w.contact_id)
            merged[w.contact_id] = w if old is None else _merge(old, w)
        pending: dict[str, tuple[int, dict[str, Any], dict[str, Any]]] = {}
        for chunk in _chunks(list(merged)):
            q = (
                select(OutboxRow.contact_id, OutboxRow.id, OutboxRow.values, OutboxRow.current)
                .where(
                    OutboxRow.connection == connection,
                    OutboxRow.contact_id.in_(chunk),
                    OutboxRow.status == "pending",
                )
                .order_by(OutboxRow.id.desc())  # should there be several, the oldest is merged into
            )
            pending.update({cid: (row_id, values, current) for cid, row_id, values, current in s.execute(q)})
        fresh = {"connection": connection, "status": "pending", "attempts": 0, "created_at": now}
        new = [{**fresh, **w._asdict(), "updated_at": now} for cid, w in merged.items() if cid not in pending]
        changed = []
        for cid, (row_id, values, current) in pending.items():
            w = _merge(PendingWrite(cid, values, current), merged[cid])
            changed.append({"id": row_id, "values": w.values, "current": w.current, "updated_at": now})
        if new:
            s.execute(insert(OutboxRow), new)
        update_rows(s, OutboxRow, changed)

    def pending_writes(self, connection: str, limit: int) -> list[OutboxRow]:
        with self._sessions() as s:
            q = (
                select(OutboxRow)
                .where(OutboxRow.connection == connection, OutboxRow.status == "pending")
                .order_by(OutboxRow.id)
                .limit(limit)
            )
            return list(s.scalars(q))

    @staticmethod
    def writes_done(s: Session, ids: Sequence[int], now: datetime) -> None:
        """Outbox rows the CRM confirmed."""
        for chunk in _chunks(ids):
            s.execute(
                update(OutboxRow)
                .where(OutboxRow.id.in_(chunk))
                .values(status="done", updated_at=now)
                .execution_options(synchronize_session=False)
            )

    @staticmethod
    def writes_failed(s: Session, failures: Sequence[FailedWrite]) -> None:
        """Outbox rows the CRM refused: their attempts and error, and dead ones no longer pending."""
        rows = [
            {
                "id": f.id,
                "attempts": f.attempts,
                "last_error": f.error,
                "status": "dead" if f.dead else "pending",
            }
            for f in failures
        ]
        update_rows(s, OutboxRow, rows)

    # -- actions ------------------------------------------------------------------------------

    @staticmethod
    def enqueue_actions(s: Session, connection: str, actions: Sequence[NewAction], now: datetime) -> None:
        """Record each action key once, ever: a key known already is left as it is."""
        rows = [
            {"connection": connection, **a._asdict(), "status": "pending", "attempts": 0, "created_at": now}
            for a in actions
        ]
        upsert(s, ActionRow, rows, update=())

    def known_action_keys(self, connection: str, keys: Sequence[str]) -> set[str]:
        with self._sessions() as s:
            found: set[str] = set()
            for chunk in _chunks(keys):
                q = select(ActionRow.key).where(ActionRow.connection == connection, ActionRow.key.in_(chunk))
                found.update(s.scalars(q))
            return found

    def pending_actions(self, connection: str, limit: int) -> list[ActionRow]:
        with self._sessions() as s:
            q = (
                select(ActionRow)
                .where(ActionRow.connection == connection, ActionRow.status == "pending")
                .order_by(ActionRow.created_at, ActionRow.key)
                .limit(limit)
            )
            return list(s.scalars(q))

    @staticmethod
    def update_action(s: Session, connection: str, key: str, **values: Any) -> None:
        """Set these columns of one action (attempts, status, crm_id, last_error, done_at)."""
        update_rows(s, ActionRow, [{"connection": connection, "key": key, **values}])

    # -- owners and routing -------------------------------------------------------------------

    @staticmethod
    def save_owners(s: Session, connection: str, owners: list[dict[str, Any]]) -> None:
        s.execute(delete(OwnerRow).where(OwnerRow.connection == connection))
        rows = {o["id"]: {"connection": connection, "owner_id": o["id"], "record": o} for o in owners}
        if rows:
            s.execute(insert(OwnerRow), list(rows.values()))

    def owners(self, connection: str) -> list[dict[str, Any]]:
        with self._sessions() as s:
            return [r.record for r in s.scalars(select(OwnerRow).where(OwnerRow.connection == connection))]

    def routing_state(self, connection: str) -> dict[str, dict[str, Any]]:
        with self._sessions() as s:
            q = select(RoutingRow).where(RoutingRow.connection == connection)
            return {r.pool: r.state for r in s.scalars(q)}

    @staticmethod
    def save_routing_state(s: Session, connection: str, pools: dict[str, dict[str, Any]]) -> None:
        rows = [{"connection": connection, "pool": pool, "state": state} for pool, state in pools.items()]
        upsert(s, RoutingRow, rows)

    # -- the rules that decided ---------------------------------------------------------------

    def rules_sha(self, connection: str) -> str | None:
        """The content hash of the rules that last decided every contact of ``connection``."""
        with self._sessions() as s:
            row = s.get(RulesAppliedRow, connection)
            return row.sha if row else None

    @staticmethod
    def set_rules_sha(s: Session, connection: str, sha: str, at: datetime) -> None:
        upsert(s, RulesAppliedRow, [{"connection": connection, "sha": sha, "applied_at": at}])

    # -- runs and dead letters ----------------------------------------------------------------

    def start_run(self, run_id: str, connection: str, kind: str, now: datetime) -> None:
        """A run begins: its row, ``running``. Any other run of ``connection`` still ``running``
        was interrupted (its process killed, or the state store went away before it could say
        how it ended); it is closed as failed, since only one run of a connection runs at once."""
        with self.transaction() as s:
            s.execute(
                update(RunRow)
                .where(RunRow.connection == connection, RunRow.status == "running")
                .values(
                    status="failed",
                    finished_at=datetime.now(UTC),
                    error=f"interrupted: the run never finished (closed when run {run_id} started)",
                )
                .execution_options(synchronize_session=False)
            )
            s.add(
                RunRow(
                    run_id=run_id,
                    connection=connection,
                    kind=kind,
                    status="running",
                    started_at=now,
                    counts={},
                    timings={},
                )
            )

    def finish_run(
        self,
        run_id: str,
        status: str,
        counts: dict[str, Any],
        timings: dict[str, Any],
        error: str | None = None,
    ) -> None:
        """A run ended; never fenced (a run that lost its lease still says so, on its own row)."""
        with self._sessions.begin() as s:
            s.execute(
                update(RunRow)
                .where(RunRow.run_id == run_id)
                .values(
                    status=status, finished_at=datetime.now(UTC), counts=counts, timings=timings, error=error
                )
            )

    @staticmethod
    def dead_letters(s: Session, connection: str, letters: Sequence[DeadLetter], now: datetime) -> None:
        """Writes and tasks the CRM refused, with its own error text."""
        rows = [{"connection": connection, **d._asdict(), "created_at": now} for d in letters]
        if rows:
            s.execute(insert(DeadLetterRow), rows)

    # -- status -------------------------------------------------------------------------------

    def status(self, connection: str, runs: int = 5) -> dict[str, Any]:
        """What ``leadsync status`` shows for one connection (see ``leadsync.sync.status``)."""
        with self._sessions() as s:
            return connection_status(s, connection, runs)

    def dead_letter_rows(self, connection: str) -> list[DeadLetterRow]:
        """Every dead letter of ``connection``, oldest first (what ``leadsync retry`` replays)."""
        with self._sessions() as s:
            q = select(DeadLetterRow).where(DeadLetterRow.connection == connection).order_by(DeadLetterRow.id)
            return list(s.scalars(q))

    @staticmethod
    def delete_dead_letters(s: Session, ids: Sequence[int]) -> None:
        for chunk in _chunks(ids):
            s.execute(delete(DeadLetterRow).where(DeadLetterRow.id.in_(chunk)))

    @staticmethod
    def revive_actions(s: Session, connection: str, keys: Sequence[str]) -> None:
        """Dead actions made pending again (their attempts kept: the adapter looks before creating)."""
        for chunk in _chunks(keys):
            s.execute(
                update(ActionRow)
                .where(ActionRow.connection == connection, ActionRow.key.in_(chunk))
                .where(ActionRow.status == "dead")
                .values(status="pending")
                .execution_options(synchronize_session=False)
            )

    def pending_write_contacts(self, connection: str) -> set[str]:
        """Contacts with a write pending in the outbox."""
        with self._sessions() as s:
            q = select(OutboxRow.contact_id).where(
                OutboxRow.connection == connection, OutboxRow.status == "pending"
            )
            return set(s.scalars(q))

    def action_statuses(self, connection: str, keys: Sequence[str]) -> dict[str, str]:
        """Each of these action keys' status (pending, done, dead)."""
        out: dict[str, str] = {}
        with self._sessions() as s:
            for chunk in _chunks(keys):
                q = select(ActionRow.key, ActionRow.status).where(
                    ActionRow.connection == connection, ActionRow.key.in_(chunk)
                )
                out.update({key: status for key, status in s.execute(q)})
        return out

    def pending_action_contacts(self, connection: str) -> set[str]:
        """Contacts with a task pending."""
        with self._sessions() as s:
            q = select(ActionRow.contact_id).where(
                ActionRow.connection == connection, ActionRow.status == "pending"
            )
            return set(s.scalars(q))

    def recent_dead_letters(self, connection: str, limit: int = 10) -> list[DeadLetterRow]:
        with self._sessions() as s:
            q = (
                select(DeadLetterRow)
                .where(DeadLetterRow.connection == connection)
                .order_by(DeadLetterRow.id.desc())
                .limit(limit)
            )
            return list(s.scalars(q))


def _merge(old: PendingWrite, new: PendingWrite) -> PendingWrite:
    """A newer plan's values win; the CRM's values from before the first pending write stay."""
    return PendingWrite(old.contact_id, {**old.values, **new.values}, {**new.current, **old.current})
