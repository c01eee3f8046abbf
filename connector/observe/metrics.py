"""The daemon's Prometheus metrics, in a registry of leadsync's own (never the process's global).

Counted as each run ends, from its ``RunResult`` (the sync loop knows nothing of Prometheus):

    leadsync_runs_total{connection, outcome}            ok, stopped, failed, quota_exhausted,
                                                        auth_failed, lease_lost, crashed
    leadsync_run_duration_seconds{connection}           histogram, every outcome
    leadsync_last_success_timestamp_seconds{connection} when a run last ended ok (Unix time)
    leadsync_records_read_total{connection, kind}       contacts, activities
    leadsync_decisions_total{connection, from_stage, to_stage}
    leadsync_writes_total{connection, result}           ok, refused (a dead letter), retried
    leadsync_tasks_total{connection, result}            created, found (made by an earlier
                                                        attempt), refused (a dead letter)
    leadsync_dead_letters_total{connection}             writes and tasks the CRM refused
    leadsync_conflicts_seen_total{connection}           fields a person changed after leadsync
                                                        wrote them, counted by every run that sees one

Read at each scrape (``LiveCollector``): from the state store, ``leadsync_state_up`` and per
connection ``leadsync_outbox_pending{kind=write|task}``, ``leadsync_dead_letters_stored`` and
``leadsync_conflicts_stored`` (left out while the store does not answer); from each adapter that
reports it, ``leadsync_api_budget_{used,limit,remaining}{connection, unit}``; and
``leadsync_connection_stopped`` and ``leadsync_heartbeat_age_seconds``.

Cardinality stays bounded: the connection label takes the config file's names, and every other
label a handful of fixed words (stages outside the contract's seven count as ``other``); no
contact id and no free text ever becomes a label.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from leadsync.api import ApiBudget
from leadsync.model import STAGES
from leadsync.observe.health import Heartbeat, StateReport
from leadsync.sync.run import RunResult

__all__ = ["OUTCOMES", "LiveCollector", "SyncMetrics"]

OUTCOMES = ("ok", "stopped", "failed", "quota_exhausted", "auth_failed", "lease_lost", "crashed")
# From a quiet incremental run (a second) to a large backfill (an hour or two).
DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200)
# RunResult counts → (metric, label value).
_READ = {"contacts_read": "contacts", "activities_read": "activities"}
_WRITES = {"contacts_written": "ok", "writes_refused": "refused", "writes_retry_later": "retried"}
_TASKS = {"tasks_created": "created", "tasks_found": "found", "tasks_refused": "refused"}


class SyncMetrics:
    """The counters, histogram and gauges a daemon updates as its runs end."""

    def __init__(self, connections: Sequence[str], version: str) -> None:
        # No `_created` series beside every counter: they double a scrape and say only when the
        # daemon started. prometheus-client keeps this switch per process, not per registry.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry()
        reg, conn = self.registry, ["connection"]
        self.runs = Counter(
            "leadsync_runs", "Sync runs that ended, by outcome.", [*conn, "outcome"], registry=reg
        )
        self.duration = Histogram(
            "leadsync_run_duration_seconds",
            "How long sync runs took, whatever their outcome.",
            conn,
            buckets=DURATION_BUCKETS,
            registry=reg,
        )
        self.last_success = Gauge(
            "leadsync_last_success_timestamp_seconds",
            "When a run last ended ok (Unix time).",
            conn,
            registry=reg,
        )
        self.read = Counter(
            "leadsync_records_read", "Records read from the CRM.", [*conn, "kind"], registry=reg
        )
        self.decisions = Counter(
            "leadsync_decisions",
            "Contacts decided, by previous and decided stage.",
            [*conn, "from_stage", "to_stage"],
            registry=reg,
        )
        self.writes = Counter(
            "leadsync_writes", "Contact writes, by result.", [*conn, "result"], registry=reg
        )
        self.tasks = Counter("leadsync_tasks", "Tasks for reps, by result.", [*conn, "result"], registry=reg)
        self.dead_letters = Counter(
            "leadsync_dead_letters", "Writes and tasks the CRM refused (dead letters).", conn, registry=reg
        )
        self.conflicts = Counter(
            "leadsync_conflicts_seen",
            "Fields a person changed after leadsync wrote them, counted by every run that sees one.",
            conn,
            registry=reg,
        )
        Info("leadsync_build", "The running leadsync.", registry=reg).info({"version": version})
        for name in connections:  # every series from the start, at 0: no gap before a first run
            self._zero(name)

    def _zero(self, name: str) -> None:
        for outcome in OUTCOMES:
            self.runs.labels(name, outcome)
        self.duration.labels(name)
        for kind in _READ.values():
            self.read.labels(name, kind)
        for result in _WRITES.values():
            self.writes.labels(name, result)
        for result in _TASKS.values():
            self.tasks.labels(name, result)
        self.dead_letters.labels(name)
        self.conflicts.labels(name)

    def run_ended(
        self, connection: str, result: RunResult | None, outcome: str, seconds: float, at: float
    ) -> None:
        """Count one run of ``connection``: its outcome, duration and, when it got that far, what
        it did (``result``, also of a run that raised). ``at``: when it ended, Unix time."""
        self.runs.labels(connection, outcome if outcome in OUTCOMES else "crashed").inc()
        self.duration.labels(connection).observe(max(seconds, 0.0))
        if outcome == "ok":
            self.last_success.labels(connection).set(at)
        if result is None:
            return
        counts = result.counts
        for key, kind in _READ.items():
            self.read.labels(connection, kind).inc(counts.get(key, 0))
        for key, value in _WRITES.items():
            self.writes.labels(connection, value).inc(counts.get(key, 0))
        for key, value in _TASKS.items():
            self.tasks.labels(connection, value).inc(counts.get(key, 0))
        self.dead_letters.labels(connection).inc(counts.get("dead_letters", 0))
        self.conflicts.labels(connection).inc(counts.get("conflicts", 0))
        for (before, after), n in result.stages.items():
            self.decisions.labels(connection, _stage(before), _stage(after)).inc(n)


def _stage(value: str) -> str:
    return value if value in STAGES else "other"


class LiveCollector(Collector):
    """What is read afresh at each scrape: the state store's backlog, API budgets, stopped
    connections and the heartbeat's age."""

    def __init__(
        self,
        connections: Sequence[str],
        state: Callable[[], StateReport],
        budgets: Callable[[], Mapping[str, ApiBudget]],
        stopped: Callable[[], Collection[str]],
        heartbeat: Heartbeat,
    ) -> None:
        self.connections = list(connections)
        self.state = state
        self.budgets = budgets
        self.stopped = stopped
        self.heartbeat = heartbeat

    def describe(self) -> Iterator[Metric]:
        """The families, without samples (the registry checks their names against the others')."""
        return iter(self._families())

    def collect(self) -> Iterator[Metric]:
        report = self.state()
        families = self._families()
        up, pending, dead, conflicts, used, limit, remaining, stopped, age = families
        up.add_metric([], 1.0 if report.problem is None else 0.0)
        for name, counts in sorted(report.backlog.items()):
            pending.add_metric([name, "write"], counts.get("pending_writes", 0))
            pending.add_metric([name, "task"], counts.get("pending_actions", 0))
            dead.add_metric([name], counts.get("dead_letters", 0))
            conflicts.add_metric([name], counts.get("conflicts", 0))
        for name, budget in sorted(self.budgets().items()):
            for family, value in ((used, budget.used), (limit, budget.limit), (remaining, budget.remaining)):
                if value is not None:
                    family.add_metric([name, budget.unit], value)
        down = set(self.stopped())
        for name in self.connections:
            stopped.add_metric([name], 1.0 if name in down else 0.0)
        age.add_metric([], self.heartbeat.age())
        return iter(families)

    @staticmethod
    def _families() -> list[GaugeMetricFamily]:
        conn, budget = ["connection"], ["connection", "unit"]
        return [
            GaugeMetricFamily(
                "leadsync_state_up", "1 when the state store answers and is migrated.", labels=[]
            ),
            GaugeMetricFamily(
                "leadsync_outbox_pending",
                "Writes and tasks waiting to go to the CRM.",
                labels=[*conn, "kind"],
            ),
            GaugeMetricFamily(
                "leadsync_dead_letters_stored", "Dead letters held in the state store.", labels=conn
            ),
            GaugeMetricFamily(
                "leadsync_conflicts_stored", "Conflicts on record in the state store.", labels=conn
            ),
            GaugeMetricFamily(
                "leadsync_api_budget_used", "API allowance spent, as the CRM says.", labels=budget
            ),
            GaugeMetricFamily("leadsync_api_budget_limit", "API allowance, as the CRM says.", labels=budget),
            GaugeMetricFamily(
                "leadsync_api_budget_remaining", "API allowance left, as the CRM says.", labels=budget
            ),
            GaugeMetricFamily(
                "leadsync_connection_stopped",
                "1 when a connection's job was stopped (credentials).",
                labels=conn,
            ),
            GaugeMetricFamily(
                "leadsync_heartbeat_age_seconds", "Seconds since the scheduler last ticked.", labels=[]
            ),
        ]
