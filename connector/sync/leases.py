"""Leases: which replica of ``leadsync run`` syncs each connection, on a PostgreSQL state store.

Any number of replicas may share one state. Each connection has a row in ``leases``: its holder
(``host:pid:random``) syncs it until ``expires_at``, a time on the database's clock (``now()``),
never a replica's. A replica's ``tick``, every ``ttl / 3``, is one short transaction:

1. its own row in ``replicas`` is renewed, so that every replica knows how many are alive;
2. the leases it holds are renewed;
3. above its fair share, ``ceil(connections / replicas alive)``, it releases idle ones;
4. below it, it claims free or expired ones with ``SELECT … FOR UPDATE SKIP LOCKED`` (two
   replicas never wait on each other for a row, nor both take it).

A replica killed at any point leaves leases that expire after ``ttl``; another claims them at its
next tick, so a connection moves within ``ttl`` plus one tick. A replica stopped by SIGTERM
releases its leases as it exits, so they move at once.

**Fencing.** Every transaction of a run (``StateStore.fenced``) begins by renewing its lease with a
conditional UPDATE (holder is this replica, not yet expired). The row lock that UPDATE takes lasts
until the commit, so a takeover waits for a batch under way, and a replica that lost its lease
(paused, then resumed) cannot commit a batch, a cursor or an outbox row: its run stops at that
batch boundary with ``LeaseLost``, its transaction rolled back.

Nothing is held in a database session between transactions (no advisory lock, no temporary
table), so a pgbouncer in transaction mode between the replicas and PostgreSQL is fine.
"""

from __future__ import annotations

import math
import os
import secrets
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import Interval, delete, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from leadsync.api import SYSTEM_CLOCK, Clock
from leadsync.errors import LeaseLost
from leadsync.sync.state import StateStore
from leadsync.sync.tables import LeaseRow, ReplicaRow

__all__ = ["JOIN_S", "TTL_S", "LeaseHeld", "Leases", "TickResult", "holder_id", "one_off"]

TTL_S = 30.0  # a lease's (and a replica's heartbeat's) life, unless renewed
JOIN_S = 2.0  # a replica's first claim waits this long (at most a tick) after it registers
FORGET_AFTER = 10  # a replica row expired for this many ttls is deleted

log = structlog.get_logger("leadsync.leases")


def holder_id() -> str:
    """This process, as a lease holder: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class LeaseHeld(Exception):
    """A one-off run cannot start: a replica of ``leadsync run`` holds the connection's lease."""


@dataclass(frozen=True)
class TickResult:
    """What one tick did: the leases held after it, those claimed, released and lost."""

    held: frozenset[str]
    claimed: frozenset[str]
    released: frozenset[str]
    lost: frozenset[str]
    replicas: int


class Leases:
    """One replica's leases on the connections it is configured with (PostgreSQL only)."""

    def __init__(
        self,
        store: StateStore,
        connections: Sequence[str],
        *,
        ttl: float = TTL_S,
        holder: str | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        if store.engine.dialect.name != "postgresql":
            raise ValueError("leases need a PostgreSQL state store (SQLite: one daemon, a file lock)")
        self.store = store
        self.connections = sorted(connections)
        self.ttl = ttl
        self.holder = holder or holder_id()
        self.clock = clock
        self._lock = threading.Lock()
        self._held: dict[str, float] = {}  # connection → monotonic time of its last renewal
        self._busy: set[str] = set()  # connections whose run is under way (never released)
        self._rows_made = False

    @property
    def tick_seconds(self) -> float:
        """How often ``tick`` should run: three chances to renew before a lease expires."""
        return self.ttl / 3

    @property
    def join_seconds(self) -> float:
        """How long after its first tick (``claim=False``: it registers only) a replica claims:
        replicas started together see each other first, so the first one up does not take every
        connection (a lease of a run under way is never released to even them out)."""
        return min(JOIN_S, self.tick_seconds)

    def _until(self) -> Any:
        return func.now() + literal(timedelta(seconds=self.ttl), Interval())

    # -- the tick -------------------------------------------------------------------------------

    def tick(self, *, claim: bool = True) -> TickResult:
        """Heartbeat, renew, release above the fair share, claim below it: one transaction."""
        started = self.clock.monotonic()
        if not self._rows_made:
            self._make_rows()
        with self.store.transaction() as s:
            alive = self._heartbeat(s)
            renewed = self._renew(s)
            share = math.ceil(len(self.connections) / max(alive, 1))
            released = self._release(s, renewed, len(renewed) - share)
            claimed = self._claim(s, share - len(renewed - released)) if claim else frozenset()
        held = (renewed - released) | claimed
        with self._lock:
            lost = frozenset(set(self._held) - held)
            self._held = {name: started for name in held}
        result = TickResult(frozenset(held), claimed, released, lost, alive)
        if claimed or released or lost:
            log.info(
                "leases_changed",
                holder=self.holder,
                held=sorted(held),
                claimed=sorted(claimed),
                released=sorted(released),
                lost=sorted(lost),
                replicas=alive,
            )
        return result

    def _make_rows(self) -> None:
        """A (free) lease row for each connection that has none, in name order, so that two
        replicas starting together never deadlock on each other's inserts. Rows already there
        are not touched (one may be locked by a batch under way)."""
        with self.store.transaction() as s:
            mine = select(LeaseRow.connection).where(LeaseRow.connection.in_(self.connections))
            have = set(s.scalars(mine))
            rows = [
                {"connection": c, "holder": None, "expires_at": func.now()}
                for c in self.connections
                if c not in have
            ]
            if rows:
                s.execute(insert(LeaseRow).values(rows).on_conflict_do_nothing())
        self._rows_made = True

    def _heartbeat(self, s: Session) -> int:
        """Renew this replica's row; forget long-dead ones; how many replicas are alive."""
        row = {"holder": self.holder, "started_at": func.now(), "expires_at": self._until()}
        s.execute(
            insert(ReplicaRow)
            .values(row)
            .on_conflict_do_update(index_elements=["holder"], set_={"expires_at": self._until()})
        )
        forget = func.now() - literal(timedelta(seconds=self.ttl * FORGET_AFTER), Interval())
        s.execute(delete(ReplicaRow).where(ReplicaRow.expires_at < forget))
        alive = select(func.count()).select_from(ReplicaRow).where(ReplicaRow.expires_at > func.now())
        return int(s.scalar(alive) or 1)

    def _renew(self, s: Session) -> frozenset[str]:
        """Renew what this replica holds (an expired lease nobody took is still its own)."""
        q = (
            update(LeaseRow)
            .where(LeaseRow.connection.in_(self.connections), LeaseRow.holder == self.holder)
            .values(expires_at=self._until())
            .returning(LeaseRow.connection)
            .execution_options(synchronize_session=False)
        )
        return frozenset(s.scalars(q))

    def _release(self, s: Session, held: frozenset[str], extra: int) -> frozenset[str]:
        """Give back ``extra`` idle leases (a run under way keeps its own)."""
        if extra <= 0:
            return frozenset()
        with self._lock:
            idle = sorted(held - self._busy)
        out = frozenset(idle[-extra:]) if idle else frozenset()
        if out:
            s.execute(
                update(LeaseRow)
                .where(LeaseRow.connection.in_(out), LeaseRow.holder == self.holder)
                .values(holder=None, expires_at=func.now())
                .execution_options(synchronize_session=False)
            )
        return out

    def _claim(self, s: Session, wanted: int) -> frozenset[str]:
        """Take up to ``wanted`` free or expired leases; rows another replica is taking are skipped."""
        if wanted <= 0:
            return frozenset()
        free = (
            select(LeaseRow.connection)
            .where(
                LeaseRow.connection.in_(self.connections),
                or_(LeaseRow.holder.is_(None), LeaseRow.expires_at <= func.now()),
            )
            .order_by(func.random())  # replicas starting together do not all want the same rows
            .limit(wanted)
            .with_for_update(skip_locked=True)
        )
        names = frozenset(s.scalars(free))
        if names:
            s.execute(
                update(LeaseRow)
                .where(LeaseRow.connection.in_(names))
                .values(holder=self.holder, expires_at=self._until(), acquired_at=func.now())
                .execution_options(synchronize_session=False)
            )
        return names

    # -- what the daemon asks -------------------------------------------------------------------

    def holds(self, connection: str) -> bool:
        """Whether this replica holds the lease (renewed within ``ttl``, by its own clock)."""
        with self._lock:
            renewed = self._held.get(connection)
        return renewed is not None and self.clock.monotonic() - renewed < self.ttl

    def held(self) -> list[str]:
        return [c for c in self.connections if self.holds(c)]

    def status(self) -> dict[str, str]:
        """Per connection: ``held`` (this replica syncs it) or ``waiting`` (another does)."""
        return {c: "held" if self.holds(c) else "waiting" for c in self.connections}

    def busy(self, connection: str, running: bool) -> None:
        """A run of ``connection`` started (``running``) or ended: its lease is never released
        while it runs."""
        with self._lock:
            (self._busy.add if running else self._busy.discard)(connection)

    def fence(self, connection: str) -> Callable[[Session], None]:
        """The check each transaction of a run of ``connection`` begins with (``StateStore.fenced``):
        renew the lease if this replica still holds it, else ``LeaseLost`` (nothing committed)."""

        def check(s: Session) -> None:
            started = self.clock.monotonic()
            q = (
                update(LeaseRow)
                .where(
                    LeaseRow.connection == connection,
                    LeaseRow.holder == self.holder,
                    LeaseRow.expires_at > func.now(),
                )
                .values(expires_at=self._until())
                .returning(LeaseRow.connection)
                .execution_options(synchronize_session=False)
            )
            if s.scalar(q) is None:
                with self._lock:
                    self._held.pop(connection, None)
                raise LeaseLost(f"connection {connection}: this replica's lease expired or was taken over")
            with self._lock:
                self._held[connection] = started

        return check

    def release_all(self) -> None:
        """Give every lease back and leave the replicas (a clean stop): the others take over at
        their next tick, not after ``ttl``."""
        with self.store.transaction() as s:
            s.execute(
                update(LeaseRow)
                .where(LeaseRow.connection.in_(self.connections), LeaseRow.holder == self.holder)
                .values(holder=None, expires_at=func.now())
                .execution_options(synchronize_session=False)
            )
            s.execute(delete(ReplicaRow).where(ReplicaRow.holder == self.holder))
        with self._lock:
            self._held.clear()
        log.info("leases_released", holder=self.holder)

    # -- a one-off run (``leadsync sync``) ------------------------------------------------------

    def claim_once(self, connection: str) -> str | None:
        """Take ``connection``'s lease for one run, without joining the replicas (their shares
        stay as they are): None when taken, else the live holder that has it."""
        started = self.clock.monotonic()
        self._make_rows()
        with self.store.transaction() as s:
            live = LeaseRow.expires_at > func.now()
            q = select(LeaseRow.holder, live).where(LeaseRow.connection == connection).with_for_update()
            holder, alive = s.execute(q).one()
            if holder is not None and alive and holder != self.holder and not _dead_here(holder):
                return str(holder)
            s.execute(
                update(LeaseRow)
                .where(LeaseRow.connection == connection)
                .values(holder=self.holder, expires_at=self._until(), acquired_at=func.now())
                .execution_options(synchronize_session=False)
            )
        with self._lock:
            self._held[connection] = started
        return None

    def renew(self) -> frozenset[str]:
        """Renew the leases held, alone (a one-off run's heartbeat)."""
        with self.store.transaction() as s:
            return self._renew(s)


def _dead_here(holder: str) -> bool:
    """Whether ``holder`` was a process of this host that is gone (killed): its lease is free
    now, not ``ttl`` later, for a one-off run restarted on the same host."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


@contextmanager
def one_off(store: StateStore, connection: str, ttl: float = TTL_S) -> Iterator[None]:
    """Hold ``connection``'s lease for the block (renewed every ttl / 3 on a thread of its own),
    each transaction of this thread fenced by it; ``LeaseHeld`` when a replica has it."""
    leases = Leases(store, [connection], ttl=ttl)
    holder = leases.claim_once(connection)
    if holder is not None:
        raise LeaseHeld(
            f"connection {connection} is being synced by another leadsync process ({holder}); "
            "wait for it, or stop it first"
        )
    done = threading.Event()

    def heartbeat() -> None:
        while not done.wait(leases.tick_seconds):
            try:
                leases.renew()
            except Exception as exc:  # the fence says so at the next batch
                error = f"{type(exc).__name__}: {exc}"
                log.warning("lease_renewal_failed", connection=connection, error=error)

    thread = threading.Thread(target=heartbeat, daemon=True)
    thread.start()
    try:
        with store.fenced(leases.fence(connection)):
            yield
    finally:
        done.set()
        thread.join()
        leases.release_all()
