"""Opening the state store's database: an engine per URL, and its schema brought up to date.

SQLite (``sqlite:///state.db``, the default) runs in WAL mode so that ``leadsync status`` can
read while the daemon writes; ``postgresql://`` URLs go through psycopg 3. The schema is
Alembic's (``leadsync/migrations``), upgraded at every open, once: behind a lock, so that
processes starting together on a fresh store wait for the first one's migration instead of
racing it (PostgreSQL: a transaction-scoped advisory lock, which a transaction-pooling proxy
keeps; SQLite: the migration runs in one ``BEGIN EXCLUSIVE`` transaction).
"""

from __future__ import annotations

from datetime import UTC, datetime
from importlib.resources import files
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.pool import NullPool

__all__ = ["current_revisions", "engine", "head_revisions", "migrate", "utc"]


_PG_MIGRATION_LOCK = "SELECT pg_advisory_xact_lock(hashtext('leadsync.migrate.' || current_schema()))"


def utc(ts: datetime | None) -> datetime | None:
    """SQLite hands timestamps back without a zone; they were stored as UTC."""
    if ts is None:
        return None
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def engine(url: str) -> Engine:
    """An engine for a state URL: PostgreSQL through psycopg 3, SQLite in WAL mode.

    ``hide_parameters``: a failed statement's error (a full disk, a deadlock, a lost connection)
    names the statement but not its values, which are contacts' data and would reach the log.
    """
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)

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
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision, one process at a time."""
    config = Config()
    config.set_main_option("script_location", str(files("leadsync") / "migrations"))
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        locked = _exclusive_sqlite(engine)
        try:
            with locked.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        finally:
            locked.dispose()
        return
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            # Held until this transaction ends, per schema: the next process waits, then finds
            # the schema at head. Transaction-scoped, so pgbouncer's transaction mode keeps it.
            connection.execute(text(_PG_MIGRATION_LOCK))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def _exclusive_sqlite(engine: Engine) -> Engine:
    """An engine on the same SQLite file whose transactions are ``BEGIN EXCLUSIVE``: its DDL is
    transactional and a second migrator waits (busy timeout) for the first to commit.

    pysqlite runs DDL outside any transaction of its own; SQLAlchemy's recipe for it: the
    driver in autocommit, and our own BEGIN (docs.sqlalchemy.org, dialects/sqlite, "Serializable
    isolation / Savepoints / Transactional DDL").
    """
    locked = create_engine(engine.url, connect_args={"timeout": 30}, poolclass=NullPool, hide_parameters=True)

    @event.listens_for(locked, "connect")
    def _autocommit(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(locked, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN EXCLUSIVE")

    return locked


def head_revisions() -> frozenset[str]:
    """The newest revisions this version of leadsync knows (what ``migrate`` brings a store to)."""
    config = Config()
    config.set_main_option("script_location", str(files("leadsync") / "migrations"))
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def current_revisions(connection: Connection) -> frozenset[str]:
    """The revisions the store's schema is at (none: never migrated, or its tables are gone)."""
    return frozenset(MigrationContext.configure(connection).get_current_heads())
