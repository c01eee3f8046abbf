"""Leases on PostgreSQL: claimed, spread over replicas, taken over after expiry, fenced.

Expiry is made by moving a lease's ``expires_at`` into the past in the database (the lease's clock
is the database's ``now()``), so no test waits for a ttl to pass.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import orjson
import pytest
from sqlalchemy import select, text

from leadsync.errors import LeaseLost
from leadsync.observe.monitor import Monitor
from leadsync.sync.leases import LeaseHeld, Leases, one_off
from leadsync.sync.state import StateStore, open_store
from leadsync.sync.tables import CursorRow, LeaseRow
from tests.observe.support import samples, value
from tests.sync.conftest import drop_pg_schema, fresh_pg_url

NAMES = ["c1", "c2", "c3", "c4", "c5", "c6"]


@pytest.fixture
def pg_store() -> Iterator[StateStore]:
    url = fresh_pg_url()
    store = open_store(url)
    try:
        yield store
    finally:
        store.close()
        drop_pg_schema(url)


def _expire(store: StateStore, holder: str) -> None:
    """As if ``holder`` stopped renewing ``ttl`` ago (killed, or paused)."""
    with store.transaction() as s:
        for table in ("leases", "replicas"):
            sql = f"UPDATE {table} SET expires_at = now() - interval '1 second' WHERE holder = :h"
            s.execute(text(sql), {"h": holder})


def _holders(store: StateStore) -> dict[str, str | None]:
    with store.transaction() as s:
        return {r.connection: r.holder for r in s.scalars(select(LeaseRow))}


class TestClaimAndSpread:
    def test_a_lone_replica_holds_every_connection(self, pg_store: StateStore) -> None:
        a = Leases(pg_store, NAMES, ttl=30)
        tick = a.tick()
        assert tick.held == set(NAMES) and tick.claimed == set(NAMES) and tick.replicas == 1
        assert a.status() == dict.fromkeys(NAMES, "held")
        assert set(_holders(pg_store).values()) == {a.holder}

    def test_connections_spread_to_a_fair_share_each(self, pg_store: StateStore) -> None:
        a, b, c = (Leases(pg_store, NAMES, ttl=30) for _ in range(3))
        a.tick()
        assert b.tick().held == set()  # all held by a; b waits
        for _ in range(2):  # a sees three replicas and gives back what is above its share
            for r in (a, b, c):
                r.tick()
        held = [set(r.held()) for r in (a, b, c)]
        assert [len(h) for h in held] == [2, 2, 2]
        assert set().union(*held) == set(NAMES)
        assert b.status() == {n: "held" if n in held[1] else "waiting" for n in NAMES}

    def test_a_run_under_way_keeps_its_lease(self, pg_store: StateStore) -> None:
        a, b = Leases(pg_store, NAMES, ttl=30), Leases(pg_store, NAMES, ttl=30)
        a.tick()
        for n in NAMES:
            a.busy(n, True)
        b.tick()
        assert a.tick().released == set()  # all busy: nothing given back yet
        for n in NAMES:
            a.busy(n, False)
        assert len(a.tick().released) == 3
        assert len(b.tick().claimed) == 3

    def test_a_replica_that_stops_cleanly_hands_over_at_the_next_tick(self, pg_store: StateStore) -> None:
        a, b = Leases(pg_store, NAMES, ttl=30), Leases(pg_store, NAMES, ttl=30)
        a.tick()
        b.tick()
        a.release_all()
        assert b.tick().held == set(NAMES)  # a left the replicas: b's share is everything


class TestTakeover:
    def test_expired_leases_move_to_the_replicas_alive(self, pg_store: StateStore) -> None:
        a, b, c = (Leases(pg_store, NAMES, ttl=30) for _ in range(3))
        for _ in range(3):
            for r in (a, b, c):
                r.tick()
        lost = set(a.held())
        _expire(pg_store, a.holder)  # a was killed ttl ago
        b.tick()
        c.tick()
        assert set(b.held()) | set(c.held()) == set(NAMES)
        assert len(b.held()) == len(c.held()) == 3
        assert lost <= set(b.held()) | set(c.held())

    def test_the_old_holder_learns_it_lost_them(self, pg_store: StateStore) -> None:
        a, b = Leases(pg_store, NAMES, ttl=30), Leases(pg_store, NAMES, ttl=30)
        a.tick()
        _expire(pg_store, a.holder)
        b.tick()
        tick = a.tick()
        assert tick.lost == set(NAMES) and a.held() == []
        assert a.status() == dict.fromkeys(NAMES, "waiting")


class TestFencing:
    def test_a_holder_commits_and_renews(self, pg_store: StateStore) -> None:
        a = Leases(pg_store, NAMES, ttl=30)
        a.tick()
        with pg_store.fenced(a.fence("c1")), pg_store.transaction() as s:
            pg_store.set_cursor(s, "c1", "cursor-1")
        assert pg_store.cursor("c1") == "cursor-1"

    def test_a_paused_then_resumed_holder_commits_nothing(self, pg_store: StateStore) -> None:
        a, b = Leases(pg_store, NAMES, ttl=30), Leases(pg_store, NAMES, ttl=30)
        a.tick()
        _expire(pg_store, a.holder)  # a paused past its ttl...
        b.tick()  # ...and b took over
        fence = pg_store.fenced(a.fence("c1"))
        with pytest.raises(LeaseLost, match="c1"), fence, pg_store.transaction() as s:
            pg_store.set_cursor(s, "c1", "stale")
        assert pg_store.cursor("c1") is None
        assert not a.holds("c1")

    def test_an_expired_lease_fences_even_before_anyone_takes_it(self, pg_store: StateStore) -> None:
        a = Leases(pg_store, NAMES, ttl=30)
        a.tick()
        _expire(pg_store, a.holder)
        with pytest.raises(LeaseLost), pg_store.fenced(a.fence("c2")), pg_store.transaction() as s:
            pg_store.set_cursor(s, "c2", "late")
        with pg_store.transaction() as s:
            assert s.get(CursorRow, ("c2", "contacts")) is None

    def test_a_takeover_waits_for_the_batch_being_committed(self, pg_store: StateStore) -> None:
        a, b = Leases(pg_store, ["c1"], ttl=30), Leases(pg_store, ["c1"], ttl=30)
        a.tick()
        b.tick()
        with pg_store.fenced(a.fence("c1")), pg_store.transaction() as s:
            pg_store.set_cursor(s, "c1", "committed")
            # a's lease lapses while its batch is being committed: b's claim (on a thread of its
            # own, as the daemon's tick) skips the locked row: no wait, no takeover under a's feet.
            _expire_elsewhere(pg_store, a.holder)
            with ThreadPoolExecutor(1) as pool:
                assert pool.submit(b.tick).result(timeout=10).claimed == set()
        assert pg_store.cursor("c1") == "committed"  # ...and the batch is committed


def _expire_elsewhere(store: StateStore, holder: str) -> None:
    """``_expire`` of the replica row alone, from another thread: the lease row is locked."""
    sql = "UPDATE replicas SET expires_at = now() - interval '1 second' WHERE holder = :h"

    def run() -> None:
        with store.transaction() as s:
            s.execute(text(sql), {"h": holder})

    with ThreadPoolExecutor(1) as pool:
        pool.submit(run).result(timeout=10)


class TestOneOffRun:
    """``leadsync sync`` on PostgreSQL takes the connection's lease for its run, or refuses."""

    def test_a_connection_a_replica_holds_is_refused(self, pg_store: StateStore) -> None:
        replica = Leases(pg_store, ["c1"], ttl=30)
        replica.tick()
        words = f"connection c1 is being synced by another leadsync process \\({replica.holder}\\)"
        with pytest.raises(LeaseHeld, match=words), one_off(pg_store, "c1"):
            pass

    def test_a_free_connection_is_held_for_the_run_then_given_back(self, pg_store: StateStore) -> None:
        replica = Leases(pg_store, ["c1"], ttl=30)
        with one_off(pg_store, "c1"):
            assert _holders(pg_store)["c1"] not in (None, replica.holder)
            assert replica.tick().claimed == set()  # held: the replica waits
            with pg_store.transaction() as s:  # fenced by the one-off's lease
                pg_store.set_cursor(s, "c1", "once")
        assert pg_store.cursor("c1") == "once"
        assert replica.tick().claimed == {"c1"}  # given back at the end

    def test_a_killed_holder_on_this_host_does_not_block_a_restart(self, pg_store: StateStore) -> None:
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        killed = Leases(pg_store, ["c1"], ttl=30, holder=f"{socket.gethostname()}:{dead.pid}:0badf00d")
        killed.tick()  # held for 30 s more, by a process that is gone
        with one_off(pg_store, "c1"):
            assert _holders(pg_store)["c1"] != killed.holder


class TestReadiness:
    def test_readyz_and_metrics_show_each_lease(self, pg_store: StateStore) -> None:
        a, b = Leases(pg_store, ["c1", "c2"], ttl=30), Leases(pg_store, ["c1", "c2"], ttl=30)
        a.tick(claim=False)
        b.tick(claim=False)
        a.tick()
        b.tick()
        monitor = Monitor(pg_store, {"c1": object(), "c2": object()}, lease_status=a.status)
        status, _, body = monitor._readyz({})
        answer = orjson.loads(body)
        held = a.held()
        assert len(held) == 1
        assert answer["leases"] == {n: "held" if n in held else "waiting" for n in ("c1", "c2")}
        assert status == 200 and answer["ready"] is True
        _, _, scrape = monitor._metrics({})
        s = samples(scrape.decode())
        assert value(s, "leadsync_lease_held", connection=held[0]) == 1
        assert value(s, "leadsync_lease_held", connection=({"c1", "c2"} - set(held)).pop()) == 0
