"""``Monitor``: a daemon's metrics and health, and the HTTP listener that serves them.

The daemon tells it what happens (a run ended, a connection was stopped, a stop was asked, the
scheduler ticked); the listener, when ``leadsync run --http`` or the config's ``http.listen``
gives an address, answers:

- ``/metrics``: Prometheus's text format (OpenMetrics when the scraper asks for it);
- ``/livez``: 200 while the scheduler ticks, else 503;
- ``/readyz``: 200 when the state store answers and is migrated, no connection is stopped, the
  daemon is not stopping and every lease is held or waited for; else 503. Both answer JSON that
  says what is wrong;
- ``/report`` and ``/report.json``, given a ``Dashboard``: the weekly review, live.

Beyond loopback it refuses to listen without a token; with one, ``/metrics`` and the report need
it (``leadsync.observe.access``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import orjson
import structlog
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from pydantic import SecretStr

from leadsync import __version__
from leadsync.api import SYSTEM_CLOCK, ApiBudget, Clock
from leadsync.errors import ConfigError, Problem
from leadsync.observe.access import PROTECTED, Guard, beyond_loopback
from leadsync.observe.address import ListenAddress
from leadsync.observe.health import Heartbeat, LeaseStatus, StateProbe, readiness
from leadsync.observe.metrics import LiveCollector, SyncMetrics
from leadsync.observe.server import NO_QUERY, HttpListener, Query, Response, Route
from leadsync.sync.run import RunResult
from leadsync.sync.state import StateStore

if TYPE_CHECKING:
    from leadsync.observe.dashboard import Dashboard

__all__ = ["Monitor"]

log = structlog.get_logger("leadsync.observe")
_JSON = "application/json"


class Monitor:
    """Metrics and health of one daemon; served over HTTP when given an address.

    ``adapters``: each connection's adapter, by name (asked for its ``api_budget()`` at each
    scrape, when it has one). ``listen_from``: where the address was given, for an error
    (``FILE``, ``LINE``; ``--http`` when on the command line). ``lease_status``: see
    ``leadsync.observe.health``; it may be set after construction. ``dashboard``: its routes
    are served too (``/report``, ``/report.json``). ``token``: what clients must send for
    ``/metrics`` and the report; required beyond loopback.
    """

    def __init__(
        self,
        store: StateStore,
        adapters: Mapping[str, Any],
        *,
        listen: ListenAddress | None = None,
        listen_from: tuple[str, int] = ("--http", 0),
        clock: Clock = SYSTEM_CLOCK,
        lease_status: LeaseStatus | None = None,
        probe: StateProbe | None = None,
        dashboard: Dashboard | None = None,
        token: SecretStr | None = None,
    ) -> None:
        self.adapters = dict(adapters)
        self.dashboard = dashboard
        self._guard = Guard(token) if token is not None else None
        self.listen = listen
        self.listen_from = listen_from
        self.clock = clock
        self.lease_status = lease_status
        self.heartbeat = Heartbeat(clock)
        self.probe = probe or StateProbe(store, list(self.adapters))
        self.metrics = SyncMetrics(list(self.adapters), __version__)
        self.stopped: dict[str, str] = {}  # connection → why its job was stopped
        self.stopping = False
        live = LiveCollector(
            list(self.adapters), self.probe.report, self.budgets, self.stopped.keys, self.heartbeat
        )
        self.metrics.registry.register(live)
        self.metrics.registry.register(_LeaseCollector(self))
        self._listener: HttpListener | None = None
        self.bound: ListenAddress | None = None

    # -- what the daemon tells it ---------------------------------------------------------------

    def beat(self) -> None:
        """The scheduler ticked."""
        self.heartbeat.beat()

    def run_ended(self, connection: str, result: RunResult | None, outcome: str, seconds: float) -> None:
        self.metrics.run_ended(connection, result, outcome, seconds, self.clock.now().timestamp())
        if self.dashboard is not None and result is not None and any(result.counts.values()):
            self.dashboard.cache.invalidate(connection)  # the reports asked lately, refreshed

    def connection_stopped(self, connection: str, why: str) -> None:
        self.stopped[connection] = why

    def stop_requested(self) -> None:
        self.stopping = True

    # -- serving --------------------------------------------------------------------------------

    def start(self) -> None:
        """Listen, when an address was given; a ``ConfigError`` at its origin when that fails."""
        if self.listen is None:
            return
        if not self.listen.loopback and self._guard is None:
            file, line = self.listen_from
            raise ConfigError([Problem(file, line, beyond_loopback(self.listen))])
        routes: dict[str, Route] = {"/metrics": self._metrics, "/livez": self._livez, "/readyz": self._readyz}
        if self.dashboard is not None:
            routes.update(self.dashboard.routes())
        listener = HttpListener(self.listen, routes, self._guard)
        try:
            self.bound = listener.start()
        except OSError as exc:
            file, line = self.listen_from
            reason = exc.strerror or str(exc)
            text = f"cannot listen on {self.listen}: {reason}; pick another address or port"
            raise ConfigError([Problem(file, line, text)]) from None
        self._listener = listener
        guarded = sorted(PROTECTED & set(routes)) if self._guard is not None else []
        log.info(
            "http_listening",
            address=str(self.bound),
            endpoints=sorted(routes),
            loopback=self.listen.loopback,
            token_required_for=guarded,
        )

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.stop()
            self._listener = None

    def budgets(self) -> dict[str, ApiBudget]:
        """Each connection's API budget, from adapters that report one (a failing one is skipped)."""
        out = {}
        for name, adapter in self.adapters.items():
            report = getattr(adapter, "api_budget", None)
            if not callable(report):
                continue
            try:
                budget = report()
            except Exception as exc:
                log.debug("api_budget_failed", connection=name, error=f"{type(exc).__name__}: {exc}")
                continue
            if isinstance(budget, ApiBudget):
                out[name] = budget
        return out

    def _metrics(self, headers: Mapping[str, str], _query: Query = NO_QUERY) -> Response:
        encode, kind = choose_encoder(headers.get("accept") or "")
        return 200, kind, encode(self.metrics.registry)

    def _livez(self, _headers: Mapping[str, str], _query: Query = NO_QUERY) -> Response:
        alive, body = self.heartbeat.liveness()
        return (200 if alive else 503), _JSON, orjson.dumps(body)

    def _readyz(self, _headers: Mapping[str, str], _query: Query = NO_QUERY) -> Response:
        ready, body = readiness(
            self.probe.report(),
            stopped=dict(self.stopped),
            stopping=self.stopping,
            connections=self.adapters,
            lease_status=self.lease_status,
        )
        return (200 if ready else 503), _JSON, orjson.dumps(body)


class _LeaseCollector:
    """``leadsync_lease_held{connection}``: 1 while this replica holds the connection's lease,
    0 while another does; absent without leases (SQLite state: one daemon holds everything)."""

    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor

    def describe(self) -> Iterator[Metric]:
        return iter(())

    def collect(self) -> Iterator[Metric]:
        status = self.monitor.lease_status
        if status is None:
            return
        try:
            leases = status()
        except Exception:  # /readyz says why
            return
        family = GaugeMetricFamily(
            "leadsync_lease_held",
            "1 while this replica holds the connection's lease (PostgreSQL state).",
            labels=["connection"],
        )
        for name in sorted(leases):
            family.add_metric([name], 1.0 if leases[name] == "held" else 0.0)
        yield family
