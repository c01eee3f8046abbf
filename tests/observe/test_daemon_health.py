"""The daemon feeds its monitor: each run's outcome and result, stopped connections, heartbeats.

In process, against the in-memory CRM, one cycle each (the scheduler runs on the real clock; a
run of seven contacts takes milliseconds).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import generate_latest

from leadsync.api import AuthError, FakeClock, TransientError
from leadsync.observe.health import Heartbeat
from leadsync.sync.daemon import Daemon
from tests.observe.support import samples, value
from tests.sync import fake_crm
from tests.sync.fake_daemon import TOKEN_ENV, fake_daemon


@pytest.fixture
def daemon(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Daemon]:
    monkeypatch.setenv(TOKEN_ENV, "pat-na1-SECRET-123")
    with fake_daemon(tmp_path, "daemon") as d:
        yield d


def scrape(d: Daemon) -> dict[Any, float]:
    return samples(generate_latest(d.monitor.metrics.registry).decode())


def test_a_runs_result_becomes_its_metrics(daemon: Daemon) -> None:
    assert daemon.serve() == 0
    [result] = daemon.results  # type: ignore[attr-defined]
    s = scrape(daemon)
    assert value(s, "leadsync_runs_total", connection="fake", outcome="ok") == 1
    assert value(s, "leadsync_records_read_total", connection="fake", kind="contacts") == 7
    assert (
        value(s, "leadsync_writes_total", connection="fake", result="ok") == result.counts["contacts_written"]
    )
    assert (
        value(s, "leadsync_tasks_total", connection="fake", result="created")
        == result.counts["tasks_created"]
    )
    assert value(s, "leadsync_decisions_total", connection="fake", from_stage="lead", to_stage="mql") == 4
    assert value(s, "leadsync_last_success_timestamp_seconds", connection="fake") is not None
    assert value(s, "leadsync_run_duration_seconds_count", connection="fake") == 1
    assert value(s, "leadsync_outbox_pending", connection="fake", kind="write") == 0


def test_the_scheduler_beats_the_heartbeat(daemon: Daemon) -> None:
    """A job of the scheduler's own beats it: a heartbeat gone stale before the daemon started
    is fresh again once its scheduler has ticked."""
    clock = FakeClock()
    daemon.monitor.heartbeat = Heartbeat(clock, within=60)
    clock.advance(600)
    assert not daemon.monitor.heartbeat.liveness()[0]
    daemon.serve()
    assert daemon.monitor.heartbeat.liveness()[0]
    assert "leadsync:heartbeat" not in daemon.runs  # not a connection: --cycles does not wait for it


def test_a_crm_failure_counts_as_failed_and_what_it_did_counts_too(daemon: Daemon) -> None:
    fake = fake_crm.REGISTRY["daemon"]

    def unavailable(contact_ids: Any) -> Any:
        raise TransientError("503 from the CRM")

    fake.read_activities = unavailable  # type: ignore[method-assign]
    assert daemon.serve() == 0
    s = scrape(daemon)
    assert value(s, "leadsync_runs_total", connection="fake", outcome="failed") == 1
    assert value(s, "leadsync_records_read_total", connection="fake", kind="contacts") == 7
    assert value(s, "leadsync_last_success_timestamp_seconds", connection="fake") is None


def test_bad_credentials_stop_the_connection_and_readiness_says_so(daemon: Daemon) -> None:
    fake = fake_crm.REGISTRY["daemon"]

    def refused() -> Any:
        raise AuthError("401: the token was revoked")

    fake.read_owners = refused  # type: ignore[method-assign]
    assert daemon.serve() == 1  # every connection failed to authenticate
    s = scrape(daemon)
    assert value(s, "leadsync_runs_total", connection="fake", outcome="auth_failed") == 1
    assert value(s, "leadsync_connection_stopped", connection="fake") == 1
    status, _, body = daemon.monitor._readyz({})
    assert status == 503
    assert b"connection fake: stopped: authentication failed; fix the credentials and restart" in body
