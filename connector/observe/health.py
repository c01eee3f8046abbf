"""Whether the daemon is alive (``/livez``) and ready (``/readyz``), and what waits in its state.

**Alive** means the scheduler ticks: a job of its own beats a ``Heartbeat`` every few seconds on
an executor of its own (so busy sync runs cannot starve it); when no beat came within the bound,
the process is stuck and a supervisor should restart it.

**Ready** means the state store answers and is migrated, no connection was stopped (bad
credentials), the daemon is not shutting down, and, once the state store holds leases, every
connection's lease is held by this replica or waited for: ``lease_status`` is a callable giving
each connection's status (``held``, ``waiting``, or anything else, which is a problem).

The state store is asked by ``StateProbe`` on a thread of its own, one question at a time, and
waited for a few seconds at most: a probe never hangs on a database that stopped answering, and
probes that come while one is under way share its answer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from leadsync.api import SYSTEM_CLOCK, Clock
from leadsync.logging import scrub
from leadsync.sync import database
from leadsync.sync.state import StateStore
from leadsync.sync.status import backlog

__all__ = [
    "HEARTBEAT_S",
    "LIVE_WITHIN_S",
    "READY_LEASES",
    "Heartbeat",
    "LeaseStatus",
    "StateProbe",
    "StateReport",
    "readiness",
]

HEARTBEAT_S = 5.0  # how often the scheduler's own job beats
LIVE_WITHIN_S = 60.0  # no beat for this long: not alive (twelve beats missed, not a slow second)
PROBE_TIMEOUT_S = 5.0  # how long a probe waits for the state store
READY_LEASES = ("held", "waiting")  # lease statuses of a ready replica

# Per connection, its lease's status: held (this replica syncs it), waiting (another does, this
# one takes over when that lease expires), or anything else (a problem, shown as it is).
LeaseStatus = Callable[[], Mapping[str, str]]


class Heartbeat:
    """When the scheduler last ticked, on a monotonic clock; alive while that is recent."""

    def __init__(self, clock: Clock = SYSTEM_CLOCK, within: float = LIVE_WITHIN_S) -> None:
        self.clock = clock
        self.within = within
        self._last = clock.monotonic()

    def beat(self) -> None:
        self._last = self.clock.monotonic()

    def age(self) -> float:
        """Seconds since the last beat."""
        return max(self.clock.monotonic() - self._last, 0.0)

    def liveness(self) -> tuple[bool, dict[str, Any]]:
        """Alive or not, and the JSON ``/livez`` answers with."""
        age = round(self.age(), 1)
        if age <= self.within:
            return True, {"alive": True, "heartbeat_age_s": age}
        problem = f"the scheduler has not ticked for {age:g} s (the bound is {self.within:g} s)"
        return False, {"alive": False, "heartbeat_age_s": age, "problems": [problem]}


@dataclass(frozen=True)
class StateReport:
    """The state store's answer: a problem (None: reachable and migrated) and, when it answered,
    each connection's backlog (``leadsync.sync.status.backlog``)."""

    problem: str | None
    backlog: Mapping[str, Mapping[str, int]] = field(default_factory=dict)


class StateProbe:
    """Asks the state store whether it answers and is migrated, and for each connection's backlog."""

    def __init__(
        self,
        store: StateStore,
        connections: Collection[str],
        *,
        timeout: float = PROBE_TIMEOUT_S,
        heads: frozenset[str] | None = None,
    ) -> None:
        self.store = store
        self.connections = sorted(connections)
        self.timeout = timeout
        self.heads = database.head_revisions() if heads is None else heads
        self._lock = threading.Lock()
        self._asking: Future[StateReport] | None = None

    def report(self) -> StateReport:
        """The answer, or a problem saying the store did not answer within ``timeout``."""
        with self._lock:
            if self._asking is None or self._asking.done():
                self._asking = Future()
                # A daemon thread, not an executor's: one stuck in a dead database's TCP timeout
                # must not hold the process at exit.
                threading.Thread(target=self._ask, args=(self._asking,), daemon=True).start()
            asking = self._asking
        try:
            return asking.result(timeout=self.timeout)
        except FutureTimeout:
            return StateReport(f"the state store did not answer within {self.timeout:g} s")

    def _ask(self, answer: Future[StateReport]) -> None:
        try:
            answer.set_result(self._question())
        except Exception as exc:  # the probe's thread always answers
            answer.set_result(StateReport(f"the state store could not be asked: {_brief(exc)}"))

    def _question(self) -> StateReport:
        try:
            with self.store.transaction() as s:
                current = database.current_revisions(s.connection())
                if current != self.heads:
                    return StateReport(_not_migrated(current, self.heads))
                return StateReport(None, {name: backlog(s, name) for name in self.connections})
        except SQLAlchemyError as exc:
            return StateReport(f"the state store is unreachable: {_brief(exc)}")


def readiness(
    state: StateReport,
    *,
    stopped: Mapping[str, str],
    stopping: bool,
    connections: Collection[str],
    lease_status: LeaseStatus | None = None,
) -> tuple[bool, dict[str, Any]]:
    """Ready or not, and the JSON ``/readyz`` answers with: every problem, in words."""
    problems = []
    if stopping:
        problems.append("the daemon is stopping (finishing its current batches)")
    if state.problem:
        problems.append(state.problem)
    for name in sorted(stopped):
        problems.append(f"connection {name}: stopped: {stopped[name]}")
    body: dict[str, Any] = {"state": "ok" if state.problem is None else "failing"}
    if lease_status is not None:
        leases, problem = _leases(lease_status)
        body["leases"] = leases
        if problem:
            problems.append(problem)
        for name in sorted(connections):
            status = leases.get(name)
            if problem is None and status not in READY_LEASES:
                problems.append(f"connection {name}: lease {status or 'unknown'}")
    return not problems, {"ready": not problems, "problems": problems, **body}


def _leases(lease_status: LeaseStatus) -> tuple[dict[str, str], str | None]:
    try:
        return {str(k): str(v) for k, v in lease_status().items()}, None
    except Exception as exc:
        return {}, f"the leases' status is unavailable: {_brief(exc)}"


def _not_migrated(current: frozenset[str], heads: frozenset[str]) -> str:
    at = ", ".join(sorted(current)) or "no revision (no leadsync tables)"
    want = ", ".join(sorted(heads))
    return f"the state store is not migrated: its schema is at {at}, this leadsync needs {want}"


def _brief(exc: BaseException) -> str:
    """The first line of the driver's own message (not SQLAlchemy's SQL and links), no secret."""
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return str(scrub(None, "", {"error": line})["error"])
