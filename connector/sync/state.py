"""The durable state of the daemon: SQLite (``state.db``, WAL) by default, PostgreSQL by URL.

Every method that changes more than one row takes a ``Session`` so that the sync loop can make
one transaction of "these contacts, these pending writes and actions, and this cursor".
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib.resources import files
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, delete, event, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from connector.sync.schema import (
    ActionRow,
    ConflictRow,
    ContactRow,
    CursorRow,
    DeadLetterRow,
    OutboxRow,
    OwnerRow,
    RoutingRow,
    RunRow,
    WrittenRow,
)

__all__ = ["DEFAULT_URL", "StateStore", "open_store"]

DEFAULT_URL = "sqlite:///state.db"


def _utc(ts: datetime | None) -> datetime | None:
    """SQLite hands timestamps back without a zone; they were stored as UTC."""
    if ts is None:
        return None
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def _engine(url: str) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            # WAL: readers (leadsync status) never block the daemon; NORMAL is durable across a
            # killed process (only an OS crash can lose the last commit).
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision."""
    config = Config()
    config.set_main_option("script_location", str(files("connector") / "migrations"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def open_store(url: str = DEFAULT_URL) -> StateStore:
    """Open (and create or migrate) the state store at ``url``."""
    engine = _engine(url)
    migrate(engine)
    return StateStore(engine)


class StateStore:
    """Reads and writes of the daemon's state, one connection name at a time."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self._sessions.begin() as session:
            yield session

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
        s.merge(CursorRow(connection=connection, object=obj, value=value, updated_at=datetime.now(UTC)))

    # -- contacts -----------------------------------------------------------------------------

    @staticmethod
    def save_contact(s: Session, row: ContactRow) -> None:
        s.merge(row)

    def contacts(self, connection: str, ids: Sequence[str]) -> dict[str, ContactRow]:
        with self._sessions() as s:
            out: dict[str, ContactRow] = {}
            for chunk in _chunks(list(ids), 500):
                q = select(ContactRow).where(
                    ContactRow.connection == connection, ContactRow.contact_id.in_(chunk)
                )
                out.update({r.contact_id: r for r in s.scalars(q)})
            return out

    def due_contact_ids(self, connection: str, now: datetime, exclude: set[str]) -> list[str]:
        """Contacts whose decision time alone may have changed by ``now``."""
        with self._sessions() as s:
            q = select(ContactRow.contact_id).where(
                ContactRow.connection == connection, ContactRow.recheck_at <= now
            )
            return [cid for cid in s.scalars(q) if cid not in exclude]

    def routing_index_rows(self, connection: str) -> list[tuple[Any, ...]]:
        """(id, domain, created_at, owner_id, assigned_at) of every known contact."""
        with self._sessions() as s:
            q = select(
                ContactRow.contact_id,
                ContactRow.domain,
                ContactRow.created_at,
                ContactRow.owner_id,
                ContactRow.assigned_at,
            ).where(ContactRow.connection == connection)
            return [(r[0], r[1], _utc(r[2]), r[3], _utc(r[4])) for r in s.execute(q)]

    # -- written values and conflicts ---------------------------------------------------------

    def written(self, connection: str, ids: Sequence[str]) -> dict[str, dict[str, tuple[Any, datetime]]]:
        """Per contact, per field: (value leadsync last wrote, when)."""
        out: dict[str, dict[str, tuple[Any, datetime]]] = {}
        with self._sessions() as s:
            for chunk in _chunks(list(ids), 500):
                q = select(WrittenRow).where(
                    WrittenRow.connection == connection, WrittenRow.contact_id.in_(chunk)
                )
                for r in s.scalars(q):
                    out.setdefault(r.contact_id, {})[r.field] = (r.value, _utc(r.written_at) or r.written_at)
        return out

    @staticmethod
    def record_written(
        s: Session, connection: str, contact_id: str, values: dict[str, Any], at: datetime
    ) -> None:
        for name, value in values.items():
            s.merge(
                WrittenRow(
                    connection=connection, contact_id=contact_id, field=name, value=value, written_at=at
                )
            )

    @staticmethod
    def record_conflict(
        s: Session, connection: str, contact_id: str, name: str, crm_value: Any, wanted: Any, at: datetime
    ) -> None:
        s.merge(
            ConflictRow(
                connection=connection,
                contact_id=contact_id,
                field=name,
                crm_value=crm_value,
                wanted=wanted,
                seen_at=at,
            )
        )

    # -- outbox -------------------------------------------------------------------------------

    @staticmethod
    def enqueue_write(
        s: Session,
        connection: str,
        contact_id: str,
        values: dict[str, Any],
        current: dict[str, Any],
        now: datetime,
    ) -> None:
        """One pending write per contact: a newer plan merges into the one still pending."""
        q = select(OutboxRow).where(
            OutboxRow.connection == connection,
            OutboxRow.contact_id == contact_id,
            OutboxRow.status == "pending",
        )
        row = s.scalars(q).first()
        if row is None:
            s.add(
                OutboxRow(
                    connection=connection,
                    contact_id=contact_id,
                    values=values,
                    current=current,
                    status="pending",
                    attempts=0,
                    created_at=now,
                    updated_at=now,
                )
            )
        else:
            row.values = {**row.values, **values}
            row.current = {**current, **row.current}
            row.updated_at = now

    def pending_writes(self, connection: str, limit: int) -> list[OutboxRow]:
        with self._sessions() as s:
            q = (
                select(OutboxRow)
                .where(OutboxRow.connection == connection, OutboxRow.status == "pending")
                .order_by(OutboxRow.id)
                .limit(limit)
            )
            return list(s.scalars(q))

    # -- actions ------------------------------------------------------------------------------

    @staticmethod
    def enqueue_action(
        s: Session,
        connection: str,
        key: str,
        contact_id: str,
        kind: str,
        payload: dict[str, Any],
        now: datetime,
    ) -> bool:
        """Record an action key once, ever; False when it was known already."""
        if s.get(ActionRow, (connection, key)) is not None:
            return False
        s.add(
            ActionRow(
                connection=connection,
                key=key,
                contact_id=contact_id,
                kind=kind,
                payload=payload,
                status="pending",
                attempts=0,
                created_at=now,
            )
        )
        return True

    def known_action_keys(self, connection: str, keys: Sequence[str]) -> set[str]:
        with self._sessions() as s:
            found: set[str] = set()
            for chunk in _chunks(list(keys), 500):
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

    # -- owners and routing -------------------------------------------------------------------

    @staticmethod
    def save_owners(s: Session, connection: str, owners: list[dict[str, Any]]) -> None:
        s.execute(delete(OwnerRow).where(OwnerRow.connection == connection))
        for o in owners:
            s.add(OwnerRow(connection=connection, owner_id=o["id"], record=o))

    def owners(self, connection: str) -> list[dict[str, Any]]:
        with self._sessions() as s:
            return [r.record for r in s.scalars(select(OwnerRow).where(OwnerRow.connection == connection))]

    def routing_state(self, connection: str) -> dict[str, dict[str, Any]]:
        with self._sessions() as s:
            q = select(RoutingRow).where(RoutingRow.connection == connection)
            return {r.pool: r.state for r in s.scalars(q)}

    @staticmethod
    def save_routing_state(s: Session, connection: str, pools: dict[str, dict[str, Any]]) -> None:
        for pool, state in pools.items():
            s.merge(RoutingRow(connection=connection, pool=pool, state=state))

    # -- runs and dead letters ----------------------------------------------------------------

    def start_run(self, run_id: str, connection: str, kind: str, now: datetime) -> None:
        with self.transaction() as s:
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
        with self.transaction() as s:
            s.execute(
                update(RunRow)
                .where(RunRow.run_id == run_id)
                .values(
                    status=status, finished_at=datetime.now(UTC), counts=counts, timings=timings, error=error
                )
            )

    @staticmethod
    def dead_letter(
        s: Session,
        connection: str,
        kind: str,
        contact_id: str | None,
        key: str | None,
        payload: dict[str, Any],
        error: str,
        now: datetime,
    ) -> None:
        s.add(
            DeadLetterRow(
                connection=connection,
                kind=kind,
                contact_id=contact_id,
                key=key,
                payload=payload,
                error=error,
                created_at=now,
            )
        )

    # -- status -------------------------------------------------------------------------------

    def status(self, connection: str, runs: int = 5) -> dict[str, Any]:
        """What ``leadsync status`` shows for one connection."""
        with self._sessions() as s:
            last = s.scalars(
                select(RunRow).where(RunRow.connection == connection).order_by(RunRow.id.desc()).limit(runs)
            ).all()

            def count(model: Any, *where: Any) -> int:
                return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)

            sla = dict(
                s.execute(
                    select(ContactRow.sla_status, func.count())
                    .where(ContactRow.connection == connection)
                    .group_by(ContactRow.sla_status)
                ).all()
            )
            stages = dict(
                s.execute(
                    select(ContactRow.stage, func.count())
                    .where(ContactRow.connection == connection)
                    .group_by(ContactRow.stage)
                ).all()
            )
            return {
                "runs": [
                    {
                        "run_id": r.run_id,
                        "kind": r.kind,
                        "status": r.status,
                        "started_at": _utc(r.started_at),
                        "finished_at": _utc(r.finished_at),
                        "counts": r.counts,
                        "error": r.error,
                    }
                    for r in last
                ],
                "pending_writes": count(
                    OutboxRow, OutboxRow.connection == connection, OutboxRow.status == "pending"
                ),
                "pending_actions": count(
                    ActionRow, ActionRow.connection == connection, ActionRow.status == "pending"
                ),
                "dead_letters": count(DeadLetterRow, DeadLetterRow.connection == connection),
                "conflicts": count(ConflictRow, ConflictRow.connection == connection),
                "contacts": count(ContactRow, ContactRow.connection == connection),
                "sla": {k or "none": v for k, v in sla.items()},
                "stages": {k or "lead": v for k, v in stages.items()},
            }

    def recent_dead_letters(self, connection: str, limit: int = 10) -> list[DeadLetterRow]:
        with self._sessions() as s:
            q = (
                select(DeadLetterRow)
                .where(DeadLetterRow.connection == connection)
                .order_by(DeadLetterRow.id.desc())
                .limit(limit)
            )
            return list(s.scalars(q))


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
