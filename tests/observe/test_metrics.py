"""The daemon's metrics: what a run's result becomes, what each scrape reads afresh, bounded labels."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY, generate_latest

from leadsync.api import ApiBudget, FakeClock
from leadsync.observe.health import Heartbeat, StateReport
from leadsync.observe.metrics import OUTCOMES, LiveCollector, SyncMetrics
from leadsync.observe.monitor import Monitor
from leadsync.sync.run import RunResult
from leadsync.sync.state import StateStore, open_store
from tests.observe.support import samples, value

COUNTS = {
    "contacts_read": 300,
    "activities_read": 1_200,
    "contacts_decided": 120,
    "contacts_written": 97,
    "writes_refused": 3,
    "writes_retry_later": 2,
    "tasks_created": 40,
    "tasks_found": 1,
    "tasks_refused": 1,
    "dead_letters": 4,
    "conflicts": 5,
}
STAGES = {("lead", "mql"): 30, ("lead", "lead"): 80, ("mql", "sql"): 10}


def scrape(metrics: SyncMetrics) -> dict[Any, float]:
    return samples(generate_latest(metrics.registry).decode())


class TestRunEnded:
    """A run's result becomes counters; the run itself its outcome, duration and last success."""

    def test_the_counts_of_a_run_become_its_series(self) -> None:
        metrics = SyncMetrics(["hs"], "1.2.3")
        metrics.run_ended("hs", RunResult("r1", counts=COUNTS, stages=STAGES), "ok", 12.5, 1_800_000_000.0)
        s = scrape(metrics)
        assert value(s, "leadsync_runs_total", connection="hs", outcome="ok") == 1
        assert value(s, "leadsync_run_duration_seconds_count", connection="hs") == 1
        assert value(s, "leadsync_run_duration_seconds_sum", connection="hs") == 12.5
        assert value(s, "leadsync_run_duration_seconds_bucket", connection="hs", le="15.0") == 1
        assert value(s, "leadsync_run_duration_seconds_bucket", connection="hs", le="5.0") == 0
        assert value(s, "leadsync_last_success_timestamp_seconds", connection="hs") == 1_800_000_000.0
        assert value(s, "leadsync_records_read_total", connection="hs", kind="contacts") == 300
        assert value(s, "leadsync_records_read_total", connection="hs", kind="activities") == 1_200
        for (before, after), n in STAGES.items():
            assert (
                value(s, "leadsync_decisions_total", connection="hs", from_stage=before, to_stage=after) == n
            )
        assert value(s, "leadsync_writes_total", connection="hs", result="ok") == 97
        assert value(s, "leadsync_writes_total", connection="hs", result="refused") == 3
        assert value(s, "leadsync_writes_total", connection="hs", result="retried") == 2
        assert value(s, "leadsync_tasks_total", connection="hs", result="created") == 40
        assert value(s, "leadsync_tasks_total", connection="hs", result="found") == 1
        assert value(s, "leadsync_tasks_total", connection="hs", result="refused") == 1
        assert value(s, "leadsync_dead_letters_total", connection="hs") == 4
        assert value(s, "leadsync_conflicts_seen_total", connection="hs") == 5
        assert value(s, "leadsync_build_info", version="1.2.3") == 1

    def test_runs_add_up(self) -> None:
        metrics = SyncMetrics(["hs"], "1")
        for _ in range(3):
            metrics.run_ended("hs", RunResult("r", counts={"contacts_read": 10}), "ok", 1.0, 1.0)
        s = scrape(metrics)
        assert value(s, "leadsync_runs_total", connection="hs", outcome="ok") == 3
        assert value(s, "leadsync_records_read_total", connection="hs", kind="contacts") == 30

    def test_every_series_is_there_at_zero_before_a_first_run(self) -> None:
        """A rate over a series that appears only at its first increment misses that increment."""
        s = scrape(SyncMetrics(["hs", "sf"], "1"))
        for name in ("hs", "sf"):
            for outcome in OUTCOMES:
                assert value(s, "leadsync_runs_total", connection=name, outcome=outcome) == 0
            assert value(s, "leadsync_writes_total", connection=name, result="refused") == 0
            assert value(s, "leadsync_tasks_total", connection=name, result="created") == 0
            assert value(s, "leadsync_dead_letters_total", connection=name) == 0
            assert value(s, "leadsync_run_duration_seconds_count", connection=name) == 0
        # No success yet: no timestamp (a 0 would read as "last success in 1970").
        assert value(s, "leadsync_last_success_timestamp_seconds", connection="hs") is None
        assert not [k for k in s if k[0].endswith("_created")], "no _created series"

    def test_a_failed_run_counts_what_it_did_and_is_no_success(self) -> None:
        metrics = SyncMetrics(["hs"], "1")
        metrics.run_ended("hs", RunResult("r", counts={"contacts_written": 50}), "ok", 1.0, 100.0)
        failed = RunResult("r2", status="failed", counts={"contacts_written": 20})
        metrics.run_ended("hs", failed, "failed", 3.0, 200.0)
        metrics.run_ended("hs", None, "quota_exhausted", 0.1, 300.0)  # raised before a result
        s = scrape(metrics)
        assert value(s, "leadsync_writes_total", connection="hs", result="ok") == 70
        assert value(s, "leadsync_runs_total", connection="hs", outcome="failed") == 1
        assert value(s, "leadsync_runs_total", connection="hs", outcome="quota_exhausted") == 1
        assert value(s, "leadsync_last_success_timestamp_seconds", connection="hs") == 100.0
        assert value(s, "leadsync_run_duration_seconds_count", connection="hs") == 3

    def test_labels_take_fixed_words_only(self) -> None:
        """A stage outside the contract's seven, or an outcome leadsync does not name, cannot
        grow a new series per value."""
        metrics = SyncMetrics(["hs"], "1")
        odd = RunResult("r", stages={("Lead Status: Working", "mql"): 1, ("lead", "x" * 40): 2})
        metrics.run_ended("hs", odd, "something new", 1.0, 1.0)
        s = scrape(metrics)
        assert value(s, "leadsync_decisions_total", connection="hs", from_stage="other", to_stage="mql") == 1
        assert value(s, "leadsync_decisions_total", connection="hs", from_stage="lead", to_stage="other") == 2
        assert value(s, "leadsync_runs_total", connection="hs", outcome="crashed") == 1
        labels = {v for key in s for _, v in key[1]}
        assert not [v for v in labels if "Working" in v or "something" in v]

    def test_two_daemons_in_one_process_keep_their_own_registries(self) -> None:
        first, second = SyncMetrics(["hs"], "1"), SyncMetrics(["hs"], "1")  # no "duplicated timeseries"
        first.run_ended("hs", RunResult("r", counts={"contacts_read": 7}), "ok", 1.0, 1.0)
        assert value(scrape(first), "leadsync_records_read_total", connection="hs", kind="contacts") == 7
        assert value(scrape(second), "leadsync_records_read_total", connection="hs", kind="contacts") == 0
        assert not [m for m in REGISTRY.collect() if m.name.startswith("leadsync")]


def live(report: StateReport, budgets: dict[str, ApiBudget], stopped: set[str], clock: FakeClock) -> Any:
    metrics = SyncMetrics(["hs", "sf"], "1")
    heartbeat = Heartbeat(clock)
    collector = LiveCollector(["hs", "sf"], lambda: report, lambda: budgets, lambda: stopped, heartbeat)
    metrics.registry.register(collector)
    return scrape(metrics)


class TestReadAtScrapeTime:
    """Backlog, API budgets, stopped connections and the heartbeat's age, read at each scrape."""

    def test_the_backlog_from_the_state_store(self) -> None:
        backlog = {
            "hs": {"pending_writes": 12, "pending_actions": 3, "dead_letters": 2, "conflicts": 1},
            "sf": {"pending_writes": 0, "pending_actions": 0, "dead_letters": 0, "conflicts": 0},
        }
        s = live(StateReport(None, backlog), {}, set(), FakeClock())
        assert value(s, "leadsync_state_up") == 1
        assert value(s, "leadsync_outbox_pending", connection="hs", kind="write") == 12
        assert value(s, "leadsync_outbox_pending", connection="hs", kind="task") == 3
        assert value(s, "leadsync_dead_letters_stored", connection="hs") == 2
        assert value(s, "leadsync_conflicts_stored", connection="hs") == 1
        assert value(s, "leadsync_outbox_pending", connection="sf", kind="write") == 0

    def test_no_backlog_while_the_state_store_does_not_answer(self) -> None:
        """Absent, not a stale or made-up 0: an alert on the backlog must not read "all clear"."""
        s = live(StateReport("the state store is unreachable: refused"), {}, set(), FakeClock())
        assert value(s, "leadsync_state_up") == 0
        assert not [k for k in s if k[0] in ("leadsync_outbox_pending", "leadsync_dead_letters_stored")]

    def test_api_budgets_show_the_figures_the_crm_gave(self) -> None:
        budgets = {
            "hs": ApiBudget("requests", limit=500_000, remaining=499_000),
            "sf": ApiBudget("credits", remaining=4_200),  # as Zoho says it: no total, nothing used
        }
        s = live(StateReport(None), budgets, set(), FakeClock())
        assert value(s, "leadsync_api_budget_used", connection="hs", unit="requests") == 1_000
        assert value(s, "leadsync_api_budget_limit", connection="hs", unit="requests") == 500_000
        assert value(s, "leadsync_api_budget_remaining", connection="hs", unit="requests") == 499_000
        assert value(s, "leadsync_api_budget_remaining", connection="sf", unit="credits") == 4_200
        assert value(s, "leadsync_api_budget_used", connection="sf", unit="credits") is None
        assert value(s, "leadsync_api_budget_limit", connection="sf", unit="credits") is None

    def test_stopped_connections_and_the_heartbeat(self) -> None:
        clock = FakeClock()
        metrics = SyncMetrics(["hs", "sf"], "1")
        heartbeat = Heartbeat(clock)
        stopped = {"sf"}
        metrics.registry.register(
            LiveCollector(["hs", "sf"], lambda: StateReport(None), dict, lambda: stopped, heartbeat)
        )
        clock.advance(7)
        s = scrape(metrics)
        assert value(s, "leadsync_connection_stopped", connection="sf") == 1
        assert value(s, "leadsync_connection_stopped", connection="hs") == 0
        assert value(s, "leadsync_heartbeat_age_seconds") == 7
        heartbeat.beat()
        assert value(scrape(metrics), "leadsync_heartbeat_age_seconds") == 0


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    s = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    yield s
    s.close()


class _Reports:
    def __init__(self, budget: Any) -> None:
        self.budget = budget

    def api_budget(self) -> Any:
        if isinstance(self.budget, Exception):
            raise self.budget
        return self.budget


class TestMonitorBudgets:
    """Each adapter's optional ``api_budget()``, asked at scrape time; a bad one is left out."""

    def test_only_adapters_that_report_one(self, store: StateStore) -> None:
        adapters = {
            "hs": _Reports(ApiBudget("requests", used=3, limit=10)),
            "plain": object(),  # a third-party adapter without the method
            "none_yet": _Reports(None),
            "broken": _Reports(RuntimeError("bug")),
            "odd": _Reports({"used": 3}),
        }
        assert Monitor(store, adapters).budgets() == {"hs": ApiBudget("requests", used=3, limit=10)}
