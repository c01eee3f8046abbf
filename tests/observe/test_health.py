"""Liveness (the scheduler's heartbeat), readiness, and the state store's probe."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from leadsync.api import FakeClock
from leadsync.observe.health import Heartbeat, StateProbe, StateReport, readiness
from leadsync.sync import database
from leadsync.sync.state import NewAction, PendingWrite, StateStore, open_store
from tests.support import NOW_DT, table


class TestHeartbeat:
    def test_alive_while_the_scheduler_ticks_within_the_bound(self) -> None:
        clock = FakeClock()
        heartbeat = Heartbeat(clock, within=60)
        clock.advance(60)
        assert heartbeat.liveness() == (True, {"alive": True, "heartbeat_age_s": 60.0})
        clock.advance(15)
        alive, body = heartbeat.liveness()
        assert not alive and body["heartbeat_age_s"] == 75.0
        assert body["problems"] == ["the scheduler has not ticked for 75 s (the bound is 60 s)"]
        heartbeat.beat()
        assert heartbeat.liveness()[0]


OK = StateReport(None)
DOWN = StateReport("the state store is unreachable: connection refused")


@pytest.mark.parametrize(
    ("state", "stopped", "stopping", "leases", "problems"),
    table(
        [
            ("all well, no leases yet", OK, {}, False, None, []),
            ("state store down", DOWN, {}, False, None, [DOWN.problem]),
            (
                "a connection stopped",
                OK,
                {"sf": "authentication failed"},
                False,
                None,
                ["connection sf: stopped: authentication failed"],
            ),
            ("stopping", OK, {}, True, None, ["the daemon is stopping (finishing its current batches)"]),
            ("leases held or waited for", OK, {}, False, {"hs": "held", "sf": "waiting"}, []),
            ("a lease lost", OK, {}, False, {"hs": "held", "sf": "lost"}, ["connection sf: lease lost"]),
            ("a lease unknown", OK, {}, False, {"hs": "held"}, ["connection sf: lease unknown"]),
        ]
    ),
)
def test_readiness(
    state: StateReport,
    stopped: dict[str, str],
    stopping: bool,
    leases: dict[str, str] | None,
    problems: list[str],
) -> None:
    provider = None if leases is None else (lambda: leases)
    ready, body = readiness(
        state, stopped=stopped, stopping=stopping, connections=["hs", "sf"], lease_status=provider
    )
    assert (ready, body["ready"], body["problems"]) == (not problems, not problems, problems)
    assert body["state"] == ("ok" if state.problem is None else "failing")
    assert ("leases" in body) == (leases is not None)


def test_a_lease_provider_that_fails_is_a_problem() -> None:
    def broken() -> dict[str, str]:
        raise RuntimeError("lease table missing")

    ready, body = readiness(OK, stopped={}, stopping=False, connections=["hs"], lease_status=broken)
    assert not ready
    assert body["problems"] == ["the leases' status is unavailable: lease table missing"]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    s = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    yield s
    s.close()


class TestStateProbe:
    def test_a_migrated_store_answers_with_each_connections_backlog(self, store: StateStore) -> None:
        with store.transaction() as s:
            store.enqueue_writes(s, "hs", [PendingWrite("c1", {"score": 1}, {})], NOW_DT)
            store.enqueue_actions(s, "hs", [NewAction("k1", "c1", "task", {})], NOW_DT)
        report = StateProbe(store, ["hs", "sf"]).report()
        assert report.problem is None
        assert report.backlog["hs"] == {
            "pending_writes": 1,
            "pending_actions": 1,
            "dead_letters": 0,
            "conflicts": 0,
        }
        assert report.backlog["sf"]["pending_writes"] == 0

    def test_a_store_at_another_revision_is_not_migrated(self, store: StateStore) -> None:
        with store.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '0000_older'"))
        report = StateProbe(store, ["hs"]).report()
        assert report.problem is not None and report.problem.startswith("the state store is not migrated")
        assert "its schema is at 0000_older" in report.problem and not report.backlog

    def test_a_store_without_tables_is_not_migrated(self, store: StateStore) -> None:
        with store.engine.begin() as conn:
            conn.execute(text("DROP TABLE alembic_version"))
        report = StateProbe(store, ["hs"]).report()
        assert report.problem is not None and "no revision (no leadsync tables)" in report.problem

    def test_an_unreachable_store(self) -> None:
        with _closed_port() as port:
            unreachable = StateStore(_pg_engine(port))
            report = StateProbe(unreachable, ["hs"], heads=frozenset({"0001"})).report()
        assert report.problem is not None and report.problem.startswith("the state store is unreachable: ")
        assert "Background on this error" not in report.problem  # SQLAlchemy's link and SQL left out

    def test_a_store_that_does_not_answer_is_waited_for_a_bound_and_asked_once(self) -> None:
        hung = _HungStore()
        probe = StateProbe(hung, ["hs"], timeout=0.05, heads=frozenset({"0001"}))  # type: ignore[arg-type]
        try:
            first, second = probe.report(), probe.report()
            assert first.problem == "the state store did not answer within 0.05 s" == second.problem
            assert hung.asked == 1  # the second probe shares the question under way
        finally:
            hung.release.set()


class _HungStore:
    """A state store whose transactions wait until released (a database that stopped answering)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.asked = 0

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        self.asked += 1
        self.release.wait(10)
        raise RuntimeError("released")
        yield  # pragma: no cover


@contextmanager
def _closed_port() -> Iterator[int]:
    """A port on 127.0.0.1 nothing listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    yield port


def _pg_engine(port: int) -> Any:
    return database.engine(f"postgresql://postgres@127.0.0.1:{port}/test?connect_timeout=2")
