"""The state store on both backends: SQLite in a temp dir, and PostgreSQL at 127.0.0.1:5432."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from leadsync.sync.state import StateStore, open_store

PG_URL = os.environ.get("LEADSYNC_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def fresh_pg_url() -> str:
    """A new, empty schema of its own (tests and test runs never share one), as a state URL."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    return f"{PG_URL}?options=-csearch_path%3D{schema}"


def drop_pg_schema(url: str) -> None:
    schema = url.rsplit("%3D", 1)[1]
    engine = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    engine.dispose()


@contextmanager
def fresh_store(store_url: str, k: int) -> Iterator[StateStore]:
    """Another empty state store on ``store_url``'s backend (the ``k``-th of a test), closed and
    dropped after: one per crash point of a crash-and-resume loop."""
    url = fresh_pg_url() if store_url.startswith("postgresql") else store_url.replace(".db", f"{k}.db")
    state = open_store(url)
    try:
        yield state
    finally:
        state.close()
        if url.startswith("postgresql"):
            drop_pg_schema(url)


def _reset_pg(url: str) -> None:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty state store URL on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state.db'}"
        return
    try:
        url = fresh_pg_url()
    except Exception as exc:  # the brief says: PostgreSQL runs here; say how to start it
        pytest.fail(
            f"PostgreSQL is not reachable at {PG_URL} ({exc}); start it with "
            "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`"
        )
    yield url
    drop_pg_schema(url)


@pytest.fixture
def store(store_url: str) -> Iterator[StateStore]:
    s = open_store(store_url)
    yield s
    s.close()
