"""The pytest plugin of ``leadsync.testing`` (entry point ``pytest11: leadsync``).

It only declares fixtures and a marker; nothing is autouse and nothing heavy is imported until a
test asks for one of its fixtures, so a pytest run that does not use the suites pays nothing.

Fixtures:

- ``leadsync_store_url``: a fresh, empty state store URL, once on SQLite (a file in ``tmp_path``)
  and once on PostgreSQL (a schema of its own; see ``leadsync.testing.stores``).
- ``leadsync_store``: an open ``StateStore`` on that URL, closed after the test.

Marker: ``leadsync_contract``, on every test of ``AdapterContract`` (select or deselect them
with ``-m``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from leadsync.sync.state import StateStore

__all__ = ["leadsync_store", "leadsync_store_url"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "leadsync_contract: a test of leadsync.testing's adapter contract suite"
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def leadsync_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty state store URL on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state.db'}"
        return
    from leadsync.testing.stores import PG_URL, START_PG, drop_pg_schema, fresh_pg_url

    if not os.environ.get("LEADSYNC_TEST_PG_URL", "unset"):
        pytest.skip("LEADSYNC_TEST_PG_URL is empty: PostgreSQL left out")
    try:
        url = fresh_pg_url()
    except Exception as exc:  # a run that left PostgreSQL in must say how to start it
        pytest.fail(f"PostgreSQL is not reachable at {PG_URL} ({exc}); start it with `{START_PG}`")
    yield url
    drop_pg_schema(url)


@pytest.fixture
def leadsync_store(leadsync_store_url: str) -> Iterator[StateStore]:
    """An open state store on ``leadsync_store_url``."""
    from leadsync.sync.state import open_store

    store = open_store(leadsync_store_url)
    yield store
    store.close()
