"""HubSpot's limits, end to end: the daily quota stops a run cleanly, a 429 storm is waited out.

- `leadsync sync` on a portal whose daily budget runs out mid-run exits non-zero, says the daily
  quota is used up, and loses nothing: once the budget is raised, the next sync leaves HubSpot
  exactly as a sync that never hit the limit (the session's reference outcome).
- In the daemon, a QuotaExhausted reschedules the connection's job at the exception's
  ``resume_at``, the next midnight in the account's time zone.
- A storm of TEN_SECONDLY_ROLLING 429s is waited out and every write still lands.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from apscheduler.events import EVENT_JOB_MODIFIED

from leadsync.errors import QuotaExhausted
from leadsync.sandboxes.hubspot.sandbox import HubSpotSandbox, RateLimits
from leadsync.settings import load_settings
from leadsync.sync.daemon import Daemon
from leadsync.sync.state import open_store
from tests.e2e.conftest import REFERENCE_CONTACTS, Outcome
from tests.e2e.helpers import (
    NOW_TEXT,
    TOKEN,
    TOKEN_ENV,
    leadsync,
    leadsync_tasks,
    no_secret,
    setup_portal,
    start_sandbox,
    write_config,
    written,
)

MADRID = ZoneInfo("Europe/Madrid")


@pytest.fixture
def portal(tmp_path: Path) -> Iterator[tuple[HubSpotSandbox, Path]]:
    """The reference portal (seed 7, 150 contacts at NOW), set up, with fresh rate windows."""
    sb = start_sandbox(contacts=REFERENCE_CONTACTS)
    try:
        config = write_config(tmp_path, sb)
        setup_portal(sb, tmp_path / "rules.yaml")
        sb.app.limiter.reset()  # the daily budget counts from here
        sb.reset_stats()
        yield sb, config
    finally:
        sb.stop()


@pytest.fixture
def keep_signal_handlers() -> Iterator[None]:
    """Daemon.serve() installs SIGTERM/SIGINT handlers; give pytest its own back."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    yield
    for s, handler in saved.items():
        signal.signal(s, handler)


def _serve(daemon: Daemon) -> tuple[int, list[datetime | None]]:
    """Run the daemon until its cycles are done; the job's next run time each time it was moved.

    The scheduler forgets its jobs when it shuts down, so ``get_job`` is asked when the daemon
    modifies the job (APScheduler's EVENT_JOB_MODIFIED), from the job's own thread.
    """
    seen: list[datetime | None] = []

    def on_modified(event: Any) -> None:
        job = daemon.scheduler.get_job(event.job_id)
        seen.append(job.next_run_time if job else None)

    daemon.scheduler.add_listener(on_modified, EVENT_JOB_MODIFIED)
    code = daemon.serve()
    return code, seen


def _next_midnight(zone: ZoneInfo) -> datetime:
    today = datetime.now(zone).date()
    return datetime.combine(today + timedelta(days=1), time(0), tzinfo=zone)


class TestDailyQuotaOnTheCommandLine:
    # 6 requests: the quota runs out while reading activities (nothing committed yet);
    # 13: after the page was committed and its first batch of 50 written (the rest in the outbox).
    @pytest.mark.parametrize("budget", [6, 13], ids=["while-reading", "mid-write"])
    def test_sync_stops_with_a_clear_message_and_loses_nothing(
        self, portal: tuple[HubSpotSandbox, Path], reference: Outcome, budget: int
    ) -> None:
        sb, config = portal
        sb.set_limits(daily_max=budget)
        stopped = leadsync("sync", "--config", str(config), "--now", NOW_TEXT)
        assert stopped.code != 0
        assert "daily API quota is used up" in stopped.err, stopped.err[-2000:]
        assert "Traceback" not in stopped.err
        assert sb.stats()["rate_limited"] == {"DAILY": 1}
        status = leadsync("status", "--config", str(config))
        assert re.search(
            r"^  \S+ failed .*error: QuotaExhausted: HubSpot's daily API quota", status.out, re.M
        )
        backlog = re.search(r"^== hs: (\d+) contacts known$.*^backlog: (\d+) writes", status.out, re.M | re.S)
        assert backlog, status.out
        known, pending = int(backlog.group(1)), int(backlog.group(2))
        if budget == 6:  # the page was never committed: nothing known, nothing queued
            assert (known, pending) == (0, 0)
        else:  # the page was committed and partly written: the rest waits in the outbox
            assert known == REFERENCE_CONTACTS and 0 < pending < REFERENCE_CONTACTS

        sb.set_limits(daily_max=1_000_000)  # the next day
        resumed = leadsync("sync", "--config", str(config), "--now", NOW_TEXT)
        assert resumed.code == 0, resumed.err[-3000:]
        assert "hs: ok;" in resumed.out and "0 dead letters" in resumed.out
        store = open_store(load_settings(config).state)
        try:
            after = store.status("hs")
        finally:
            store.close()
        assert after["contacts"] == REFERENCE_CONTACTS
        assert (after["pending_writes"], after["pending_actions"], after["dead_letters"]) == (0, 0, 0)
        assert [r["status"] for r in after["runs"]] == ["ok", "failed"]
        # Nothing lost, nothing doubled: HubSpot holds what an uninterrupted sync leaves there.
        assert written(sb) == reference.contacts
        assert leadsync_tasks(sb) == reference.tasks
        assert no_secret(stopped.text + resumed.text + status.text)


class TestDailyQuotaInTheDaemon:
    """The job's next run is moved to the quota's reset, not the next interval."""

    def test_real_quota_moves_the_job_to_the_accounts_next_midnight(
        self,
        portal: tuple[HubSpotSandbox, Path],
        monkeypatch: pytest.MonkeyPatch,
        keep_signal_handlers: None,
    ) -> None:
        sb, config = portal
        monkeypatch.setenv(TOKEN_ENV, TOKEN)
        sb.set_limits(daily_max=6)
        sb.reset_stats()
        settings = load_settings(config)
        store = open_store(settings.state)
        raised: list[QuotaExhausted] = []
        job = None
        try:
            daemon = Daemon(settings, store, cycles=1)
            job = daemon.jobs["hs"]
            real_run = job.run

            def run(**kw: Any) -> Any:
                try:
                    return real_run(**kw)
                except QuotaExhausted as exc:
                    raised.append(exc)
                    raise

            monkeypatch.setattr(job, "run", run)
            before = _next_midnight(MADRID)
            code, next_runs = _serve(daemon)
            after = _next_midnight(MADRID)
        finally:
            store.close()
        assert code == 0  # a paused connection is not a failed one
        assert len(raised) == 1 and raised[0].resume_at in (before, after)
        # The job waits for the account's midnight (Madrid), not for the next 1 h interval.
        assert next_runs == [raised[0].resume_at]
        assert daemon.failed == set()
        assert sb.stats()["rate_limited"] == {"DAILY": 1}

    def test_fake_quota_resume_at_is_the_next_run_time(
        self,
        portal: tuple[HubSpotSandbox, Path],
        monkeypatch: pytest.MonkeyPatch,
        keep_signal_handlers: None,
    ) -> None:
        _, config = portal
        monkeypatch.setenv(TOKEN_ENV, TOKEN)
        settings = load_settings(config)
        store = open_store(settings.state)
        resume = datetime(2031, 7, 1, 0, 0, tzinfo=MADRID)  # far from now and from any interval (CEST)

        def quota(**_: Any) -> Any:
            raise QuotaExhausted("HubSpot's daily API quota is used up (test)", resume_at=resume)

        try:
            daemon = Daemon(settings, store, cycles=1)
            monkeypatch.setattr(daemon.jobs["hs"], "run", quota)
            code, next_runs = _serve(daemon)
        finally:
            store.close()
        assert code == 0
        assert next_runs == [resume]
        assert next_runs[0] is not None
        assert next_runs[0].astimezone(UTC) == datetime(2031, 6, 30, 22, 0, tzinfo=UTC)


class TestRateLimitStorm:
    def test_a_429_storm_is_waited_out_and_every_write_lands(
        self, tmp_path: Path, reference: Outcome
    ) -> None:
        # A one-second rolling window (HubSpot reports it in X-HubSpot-RateLimit-Interval-Milliseconds)
        # keeps the waits short; the storm hits the first six contact batch updates in a row.
        sb = start_sandbox(
            contacts=REFERENCE_CONTACTS,
            limits=RateLimits(ten_second_max=100_000, ten_second_window_ms=1_000, search_per_second=10_000),
        )
        try:
            config = write_config(tmp_path, sb)
            setup_portal(sb, tmp_path / "rules.yaml")
            sb.reset_stats()
            sb.set_faults(storm=6, match=r"contacts/batch/update")
            run = leadsync("sync", "--config", str(config), "--now", NOW_TEXT)
            stats = sb.stats()
            assert run.code == 0, run.err[-3000:]
            assert "hs: ok;" in run.out and f"{REFERENCE_CONTACTS} written" in run.out
            assert "0 dead letters" in run.out
            assert stats["faults"].get("storm") == 6
            assert stats["by_status"].get("429") == 6
            retries = [e for e in run.events() if e.get("event") == "http_retry"]
            assert len(retries) == 6 and all(e["status"] == 429 for e in retries)
            assert written(sb) == reference.contacts
            assert leadsync_tasks(sb) == reference.tasks
            assert no_secret(run.text)
        finally:
            sb.stop()
