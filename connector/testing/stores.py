"""State stores for tests: SQLite in a file or in memory, and PostgreSQL in a schema of its own.

The suites run on both backends leadsync supports. PostgreSQL is found at ``LEADSYNC_TEST_PG_URL``
(default ``postgresql://postgres@127.0.0.1:5432/test``); each store gets a new, empty schema,
dropped after, so tests and test runs never share one. Set ``LEADSYNC_TEST_PG_URL`` to an empty
string to run on SQLite alone (the PostgreSQL cases are then skipped, saying so).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, inspect, text

from leadsync.sync.state import StateStore, open_store

__all__ = ["PG_URL", "START_PG", "drop_pg_schema", "fresh_pg_url", "fresh_store"]

PG_URL = os.environ.get("LEADSYNC_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
START_PG = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"


def _engine_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def fresh_pg_url() -> str:
    """A new, empty schema of its own (tests and test runs never share one), as a state URL."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(_engine_url(PG_URL))
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    return f"{PG_URL}?options=-csearch_path%3D{schema}"


def drop_pg_schema(url: str) -> None:
    """Drop the schema of a URL ``fresh_pg_url`` made, with everything in it."""
    schema = url.rsplit("%3D", 1)[1]
    engine = create_engine(_engine_url(PG_URL))
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    engine.dispose()


@contextmanager
def fresh_store(store_url: str, k: int) -> Iterator[StateStore]:
    """An empty state store on ``store_url``'s backend (the ``k``-th of a test), closed after: one
    per crash point of a crash-and-resume loop. On SQLite a file of its own; on PostgreSQL
    ``store_url``'s own schema, emptied: a new schema would cost a migration per point (0.3 s)."""
    if store_url.startswith("postgresql"):
        state = open_store(store_url)
        _empty(store_url)
    else:
        state = open_store(store_url.replace(".db", f"{k}.db"))
    try:
        yield state
    finally:
        state.close()


def _empty(url: str) -> None:
    """Delete every row of a state store but its migration version."""
    engine = create_engine(_engine_url(url))
    try:
        with engine.begin() as conn:
            for table in inspect(engine).get_table_names():
                if table != "alembic_version":
                    conn.execute(text(f'DELETE FROM "{table}"'))
    finally:
        engine.dispose()
