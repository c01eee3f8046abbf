"""The daemon's log: a run longer than its interval is one ``run_overlap`` debug line, not a
warning a skipped tick, and every line of a run names its connection and run.

In process, against the in-memory CRM; the run is held on an event while the test makes the
scheduler tick again (the real APScheduler, its real warning path; no waiting on the clock).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from leadsync.model import Owner
from leadsync.sync.daemon import Daemon
from tests.logs.support import Captured
from tests.sync import fake_crm
from tests.sync.fake_daemon import TOKEN_ENV, fake_daemon


@pytest.fixture
def daemon(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, json_log: Captured) -> Iterator[Daemon]:
    monkeypatch.setenv(TOKEN_ENV, "pat-na1-SECRET-123")
    with fake_daemon(tmp_path, "overlap") as d:
        yield d


def _within(seconds: float, check: object) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(check) and check():
            return True
        time.sleep(0.005)
    return False


def test_an_overlapping_run_is_one_debug_line_with_the_ticks_it_skipped(
    daemon: Daemon, json_log: Captured
) -> None:
    fake = fake_crm.REGISTRY["overlap"]
    entered, release = threading.Event(), threading.Event()

    def slow_owners() -> list[Owner]:
        entered.set()
        release.wait(5)
        return [Owner("u1"), Owner("u2")]

    fake.read_owners = slow_owners  # type: ignore[method-assign]

    def tick_while_the_run_goes() -> None:
        try:
            assert entered.wait(5)
            for n in (1, 2, 3):  # the interval comes round three times during the run
                daemon.scheduler.modify_job("fake", next_run_time=datetime.now(UTC))
                assert _within(2, lambda n=n: daemon.overlaps.get("fake", ("", 0))[1] == n)
        finally:
            release.set()

    ticker = threading.Thread(target=tick_while_the_run_goes)
    ticker.start()
    assert daemon.serve() == 0
    ticker.join()
    [result] = daemon.results  # type: ignore[attr-defined]
    assert "maximum number of running instances" not in json_log.text
    [overlap] = json_log.events("run_overlap")
    assert overlap["level"] == "debug" and overlap["skipped_ticks"] == 3
    assert overlap["connection"] == "fake" and overlap["run_id"] == result.run_id
    assert overlap["every_s"] == 3600


def test_every_line_of_a_daemons_run_names_its_connection_and_run(daemon: Daemon, json_log: Captured) -> None:
    assert daemon.serve() == 0
    [result] = daemon.results  # type: ignore[attr-defined]
    lines = json_log.lines()  # every line is JSON (APScheduler's too)
    assert any(str(e.get("logger", "")).startswith("apscheduler") for e in lines)
    names = [e["event"] for e in lines]
    start, end = names.index("run_started"), names.index("run_finished")
    # (APScheduler's scheduler thread looks for due jobs of every connection: not the run's lines.)
    during = [e for e in lines[start : end + 1] if e.get("logger") != "apscheduler.scheduler"]
    assert [e["event"] for e in during] == ["run_started", "run_progress", "run_finished"]
    assert all(e.get("connection") == "fake" and e.get("run_id") == result.run_id for e in during), [
        e for e in during if e.get("run_id") != result.run_id
    ]
    # APScheduler's lines about the connection's job ("Running job", "executed successfully") are
    # JSON with its logger and name the connection, not the run (before it and after it).
    jobs = [e for e in lines if str(e.get("logger", "")).startswith("apscheduler.executors")]
    assert len(jobs) == 2 and all(e["connection"] == "fake" and "run_id" not in e for e in jobs)
