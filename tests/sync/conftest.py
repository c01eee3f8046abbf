"""The state store on both backends for the sync tests: SQLite in a temp dir, and PostgreSQL at
127.0.0.1:5432, as leadsync.testing's plugin provides it (``leadsync_store_url``)."""

from __future__ import annotations

import pytest

from leadsync.sync.state import StateStore
from leadsync.testing.stores import PG_URL, drop_pg_schema, fresh_pg_url, fresh_store

__all__ = ["PG_URL", "drop_pg_schema", "fresh_pg_url", "fresh_store"]


@pytest.fixture
def store_url(leadsync_store_url: str) -> str:
    """A fresh, empty state store URL on each backend."""
    return leadsync_store_url


@pytest.fixture
def store(leadsync_store: StateStore) -> StateStore:
    return leadsync_store
