"""Opening the state store's database: an engine per URL, and its schema brought up to date.

SQLite (``sqlite:///state.db``, the default) runs in WAL mode so that ``leadsync status`` can
read while the daemon writes; ``postgresql://`` URLs go through psycopg 3. The schema is
Alembic's (``leadsync/migrations``), upgraded at every open.
"""

from __future__ import annotations

from datetime import UTC, datetime
from importlib.resources import files
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event

__all__ = ["current_revisions", "engine", "head_revisions", "migrate", "utc"]


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
    """Bring the schema to the newest Alembic revision."""
    config = Config()
    config.set_main_option("script_location", str(files("leadsync") / "migrations"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def head_revisions() -> frozenset[str]:
    """The newest revisions this version of leadsync knows (what ``migrate`` brings a store to)."""
    config = Config()
    config.set_main_option("script_location", str(files("leadsync") / "migrations"))
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def current_revisions(connection: Connection) -> frozenset[str]:
    """The revisions the store's schema is at (none: never migrated, or its tables are gone)."""
    return frozenset(MigrationContext.configure(connection).get_current_heads())
