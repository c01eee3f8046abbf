"""The tables of the state store. Changes here need an Alembic migration in connector/migrations.

cursors        where each connection's reads resume, per object
contacts       each contact as the CRM last showed it (plus what leadsync wrote since), its
               activities, and when time alone may next change its decision
written        per contact and field, the value leadsync last wrote and when
outbox         contact writes decided but not yet confirmed by the CRM
actions        each action key, once ever: pending, done (with the CRM's id) or dead
owners         the CRM's owners as last read
routing        round-robin pointers and smooth-weight counters per pool
runs           every run: counts, errors, timings
dead_letters   writes and tasks the CRM refused, with its own error text and its cause
rules_applied  per connection, the content hash of the rules that last decided its contacts
conflicts      fields a person changed after leadsync wrote them (kept, reported)
decision_history  every change leadsync decided: contact, field, before, after, cause, run, time
leases         which replica syncs each connection, until when (PostgreSQL; ``leases.py``)
replicas       each running replica's heartbeat, so that each takes its fair share of leases
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, DateTime, Index, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "ActionRow",
    "Base",
    "ConflictRow",
    "ContactRow",
    "CursorRow",
    "DeadLetterRow",
    "HistoryRow",
    "LeaseRow",
    "OutboxRow",
    "OwnerRow",
    "ReplicaRow",
    "RoutingRow",
    "RulesAppliedRow",
    "RunRow",
    "WrittenRow",
]

_NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
}

TS = DateTime(timezone=True)
Conn = String(100)
Id = String(200)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=_NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class CursorRow(Base):
    __tablename__ = "cursors"
    connection: Mapped[str] = mapped_column(Conn, primary_key=True)
    object: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(TS)


class ContactRow(Base):
    __tablename__ = "contacts"
    connection: Mapped[str] = mapped_column(Conn, primary_key=True)
    contact_id: Mapped[str] = mapped_column(Id, primary_key=True)
    record: Mapped[dict[str, Any]]
    activities: Mapped[list[Any]]
    read_at: Mapped[datetime] = mapped_column(TS)
    recheck_at: Mapped[datetime | None] = mapped_column(TS)
    stage: Mapped[str | None] = mapped_column(String(20))
    sla_status: Mapped[str | None] = mapped_column(String(20))
    # What routing needs of every contact (account match, capacity), without reading `record`.
    domain: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(TS)
    owner_id: Mapped[str | None] = mapped_column(Id)
    assigned_at: Mapped[datetime | None] = mapped_column(TS)
    __table_args__ = (
        Index("ix_contacts_recheck", "connection", "recheck_at"),
        # Routing asks the store, not a copy of every contact in memory (``routing_store.py``).
        Index("ix_contacts_domain", "connection", "domain"),
        Index("ix_contacts_assigned", "connection", "owner_id", "assigned_at"),
    )


class WrittenRow(Base):
    __tablename__ = "written"
    connection: Mapped[str] = mapped_column(Conn, primary_key=True)
    contact_id: Mapped[str] = mapped_column(Id, primary_key=True)
    field: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    written_at: Mapped[datetime] = mapped_column(TS)


class OutboxRow(Base):
    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    connection: Mapped[str] = mapped_column(Conn)
    contact_id: Mapped[str] = mapped_column(Id)
    values: Mapped[dict[str, Any]]
    current: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TS)
    updated_at: Mapped[datetime] = mapped_column(TS)
    __table_args__ = (Index("ix_outbox_pending", "connection", "status", "id"),)


class ActionRow(Base):
    __tablename__ = "actions"
    connection: Mapped[str] = mapped_column(Conn, primary_key=True)
    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    contact_id: Mapped[str] = mapped_column(Id)
    kind: Mapped[str] = mapped_column(String(10))
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(10), default="pending")
    crm_id: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TS)
    done_at: Mapped[datetime | None] = mapped_column(TS)
    __table_args__ = (Index("ix_actions_status", "connection", "status"),)


class OwnerRow(Base):
    __tablename__ = "owners"
    connection: Mapped[str] = mapped_column(Conn, primary_key=True)
    owner_id: Mapped[str] = mapped_column(Id, primary_key=True)
    record: Mapped[dict[str, Any]]


class RoutingRow(Base):
    __tablename__ = "routing"
    connection: Mapped[str] = mapped_column(Conn, primary_key=True)
    pool: Mapped[str] = mapped_column(String(200), primary_key=True)
    state: Mapped[dict[str, Any]]


class RunRow(Base):
    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(40), unique=True)
    connection: Mapped[str] = mapped_column(Conn)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(TS)
    finished_at: Mapped[datetime | None] = mapped_column(TS)
    counts: Mapped[dict[str, Any]]
    timings: Mapped[dict[str, Any]]
    error: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (Index("ix_runs_connection", "connection", "id"),)


class DeadLetterRow(Base):
    __tablename__ = "dead_letters"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    connection: Mapped[str] = mapped_column(Conn)
    kind: Mapped[str] = mapped_column(String(10))
    contact_id: Mapped[str | None] = mapped_column(Id)
    key: Mapped[str | None] = mapped_column(String(400))
    payload: Mapped[dict[str, Any]]
    error: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TS)
    # The adapter's cause, else the CRM's error code (``VALIDATION_ERROR``), ``retries_exhausted``
    # for a record refused "for now" too often; None on letters from before migration 0002.
    cause: Mapped[str | None] = mapped_column(String(60))


class ConflictRow(Base):
    __tablename__ = "conflicts"
    connection: Mapped[str] = mapped_column(Conn, primary_key=True)
    contact_id: Mapped[str] = mapped_column(Id, primary_key=True)
    field: Mapped[str] = mapped_column(String(50), primary_key=True)
    crm_value: Mapped[Any] = mapped_column(JSON)
    wanted: Mapped[Any] = mapped_column(JSON)
    seen_at: Mapped[datetime] = mapped_column(TS)


class HistoryRow(Base):
    """One change leadsync decided (``leadsync.sync.history``): appended in the transaction that
    commits the decision, deleted after the retention period (``state.history_days``)."""

    __tablename__ = "decision_history"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    connection: Mapped[str] = mapped_column(Conn)
    contact_id: Mapped[str] = mapped_column(Id)
    at: Mapped[datetime] = mapped_column(TS)  # the run's `now`: when the decision was made
    run_id: Mapped[str] = mapped_column(String(40))
    field: Mapped[str] = mapped_column(String(50))  # a writable field, or `task`/`notify`
    before: Mapped[Any] = mapped_column(JSON)
    after: Mapped[Any] = mapped_column(JSON)
    cause: Mapped[str] = mapped_column(String(250))  # the rule or step: mql_bar, routing:pool:emea...
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    __table_args__ = (
        Index("ix_decision_history_contact", "connection", "contact_id", "at"),  # a timeline
        Index("ix_decision_history_at", "connection", "at"),  # retention deletes
    )


class RulesAppliedRow(Base):
    __tablename__ = "rules_applied"
    connection: Mapped[str] = mapped_column(Conn, primary_key=True)
    sha: Mapped[str] = mapped_column(String(64))
    applied_at: Mapped[datetime] = mapped_column(TS)


class LeaseRow(Base):
    """One connection's lease: ``holder`` syncs it until ``expires_at`` (the database's clock)."""

    __tablename__ = "leases"
    connection: Mapped[str] = mapped_column(Conn, primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(TS)
    acquired_at: Mapped[datetime | None] = mapped_column(TS)


class ReplicaRow(Base):
    """A running replica (``host:pid:random``), alive until ``expires_at`` (the database's clock)."""

    __tablename__ = "replicas"
    holder: Mapped[str] = mapped_column(String(200), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(TS)
    expires_at: Mapped[datetime] = mapped_column(TS)
