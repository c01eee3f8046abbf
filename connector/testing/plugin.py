"""The pytest plugin of ``leadsync.testing`` (entry point ``pytest11: leadsync``).

It only declares fixtures and a marker; nothing is autouse and nothing heavy is imported until a
test asks for one of its fixtures, so a pytest run that does not use the suites pays nothing.

Fixtures:

- ``leadsync_store_url``: a fresh, empty state store URL, once on SQLite (a file in ``tmp_path``)
  and once on PostgreSQL (a schema of its own; see ``leadsync.testing.stores``).
- ``leadsync_store``: an open ``StateStore`` on that URL, closed after the test.
- ``sync_crm``: a fresh CRM from the test class's ``sync_harness`` (``SyncHarness.start``),
  stopped after the test.
- ``sync_reference``: the CRM state two clean syncs reach on a fresh CRM, once per class.
- ``sync_clean_state``: ``sync_clean_state(hot)``, the same for a CRM started with ``hot`` people
  who earn a task, computed once per class and ``hot``.

Marker: ``leadsync_contract``, on every test of ``AdapterContract`` and ``SyncContract`` (select
or deselect them with ``-m``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from leadsync.sync.state import StateStore
    from leadsync.testing.sync_harness import SyncHarness
    from leadsync.testing.sync_suite import Reference

__all__ = ["leadsync_store", "leadsync_store_url", "sync_clean_state", "sync_crm", "sync_reference"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "leadsync_contract: a test of leadsync.testing's adapter or sync contract suite"
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


@pytest.fixture
def sync_crm(sync_harness: SyncHarness[Any]) -> Iterator[Any]:
    """A fresh CRM, started by the class's ``sync_harness`` with its default people, and stopped."""
    crm = sync_harness.start()
    try:
        yield crm
    finally:
        sync_harness.stop(crm)


@pytest.fixture(scope="class")
def sync_reference(sync_harness: SyncHarness[Any]) -> Reference:
    """Two clean syncs of a fresh CRM: the state they leave, the first one's calls (once per class)."""
    from leadsync.testing.sync_suite import reference

    return reference(sync_harness)


@pytest.fixture(scope="class")
def sync_clean_state(sync_harness: SyncHarness[Any]) -> Callable[[int], object]:
    """``state(hot)``: what two clean syncs leave in a fresh CRM with ``hot`` people earning a task."""
    from leadsync.testing.sync_suite import clean_state

    states: dict[int, object] = {}

    def state(hot: int) -> object:
        if hot not in states:
            states[hot] = clean_state(sync_harness, hot)
        return states[hot]

    return state
