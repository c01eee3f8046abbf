"""``leadsync run``: one APScheduler job per connection, one instance at a time, coalesced.

SIGTERM or SIGINT asks every running job to finish its current batch, then the daemon exits 0.
An auth failure stops that connection's job loudly (the others go on); a used-up daily quota
pauses it until the CRM's quota resets; writes refused for a cause in the CRM's setup
(``SetupRefused``: a missing property, scope or owner) are logged with the fix and kept due, and
the run is tried again at the next interval; any other CRM failure is retried at the next
interval too. Each job re-reads its rules file at the start of a run when it changed (an edit
takes effect at the next run; one that does not validate is logged and the last rules stay).

Each run's outcome and result go to the daemon's ``Monitor`` (``leadsync.observe``), which serves
them as metrics with ``--http``; a job of the scheduler's own beats its heartbeat (``/livez``).

A run longer than its interval makes APScheduler skip the ticks it overlaps, with a warning a
tick ("maximum number of running instances reached"): the daemon drops those and logs one debug
event instead, ``run_overlap``, when the run ends, with how many ticks it skipped.

Two or more replicas: on PostgreSQL state, each connection is synced by the replica holding its
lease (``leases.py``); a job of the scheduler's own ticks the leases, and a connection's run
happens only while its lease is held, each of its transactions fenced by it. On SQLite state, the
daemon holds ``state.db.lock`` (``exclusive.py``): a second daemon on the same file is refused.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog
from apscheduler.events import EVENT_JOB_MAX_INSTANCES, JobSubmissionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from pydantic import SecretStr

from leadsync.errors import AuthError, CrmError, LeaseLost, QuotaExhausted, SetupRefused
from leadsync.observe import ListenAddress
from leadsync.observe.health import HEARTBEAT_S
from leadsync.observe.monitor import Monitor
from leadsync.settings import Connection, Settings
from leadsync.sync.exclusive import StateLock, lock_path
from leadsync.sync.history import HISTORY_DAYS
from leadsync.sync.leases import Leases
from leadsync.sync.loop import RunResult, SyncJob
from leadsync.sync.progress import PROGRESS_EVERY_S, ProgressView
from leadsync.sync.rulesource import RulesFile
from leadsync.sync.state import StateStore

if TYPE_CHECKING:
    from leadsync.observe.dashboard import Dashboard

__all__ = ["Daemon", "build_job"]

log = structlog.get_logger("leadsync.daemon")
_SIGNAL_POLL_S = 0.2  # how soon the main thread sees a SIGTERM flag


def build_job(
    connection: Connection,
    store: StateStore,
    stop: threading.Event | None = None,
    clock: Callable[[], datetime] | None = None,
    progress: Callable[[int], None] | None = None,
    view: ProgressView | None = None,
    progress_every: float = PROGRESS_EVERY_S,
    history_days: int = HISTORY_DAYS,
) -> SyncJob:
    """A ready ``SyncJob``: rules loaded and validated (and re-read at a run when the file
    changed), adapter made from its entry point.

    ``view``: where to show the run's progress as it goes (the terminal's bars), besides the log.
    ``history_days``: how long the decision history keeps a change (``state.history_days``).
    """
    rules = RulesFile(connection.rules)
    adapter = connection.make_adapter()
    kwargs: dict[str, Any] = {
        "batch_size": connection.batch_size,
        "decide_batch": connection.decide_batch,
        "stop": stop,
        "progress": progress,
        "rules_file": rules,
        "view": view,
        "progress_every": progress_every,
        "history_days": history_days,
    }
    if clock is not None:
        kwargs["clock"] = clock
    return SyncJob(connection.name, adapter, rules.rules, store, **kwargs)


class Daemon:
    """Runs every connection on its interval until told to stop (or after ``cycles`` runs).

    ``listen``: where to serve metrics, health and the live report (``Monitor``); ``listen_from``:
    where that address was given (file and line, or ``--http``), for the error when it cannot be
    used; ``token``: what clients must send (required beyond loopback).
    """

    def __init__(
        self,
        settings: Settings,
        store: StateStore,
        cycles: int | None = None,
        on_result: Callable[[str, RunResult], None] | None = None,
        listen: ListenAddress | None = None,
        listen_from: tuple[str, int] = ("--http", 0),
        view: ProgressView | None = None,
        token: SecretStr | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.cycles = cycles
        self.on_result = on_result
        self.stop = threading.Event()
        every = settings.log.progress_seconds
        self.jobs = {
            c.name: build_job(
                c, store, self.stop, view=view, progress_every=every, history_days=settings.history_days
            )
            for c in settings.connections
        }
        self.intervals = {c.name: c.interval_seconds for c in settings.connections}
        # Ticks skipped because the connection's run was still going: (that run's id, how many).
        self.overlaps: dict[str, tuple[str, int]] = {}
        self._overlaps_lock = threading.Lock()
        self.runs: dict[str, int] = {name: 0 for name in self.jobs}
        self.failed: set[str] = set()
        self.scheduler = BackgroundScheduler(timezone=UTC)
        adapters = {name: job.adapter for name, job in self.jobs.items()}
        self.leases: Leases | None = None
        if store.engine.dialect.name == "postgresql":
            self.leases = Leases(store, list(self.jobs), ttl=settings.lease_ttl_seconds)
        self.monitor = Monitor(
            store,
            adapters,
            listen=listen,
            listen_from=listen_from,
            lease_status=self.leases.status if self.leases else None,
            dashboard=self._dashboard() if listen is not None else None,
            token=token,
        )

    def _dashboard(self) -> Dashboard:
        """``/report`` over the state store, with each connection's rules as its job holds them."""
        from leadsync.observe.dashboard import Dashboard

        return Dashboard(self.store, list(self.jobs), lambda name: self.jobs[name].rules)

    signalled = False  # a SIGTERM or SIGINT asked to stop (not the cycles' end)

    def request_stop(self, *_: Any) -> None:
        """SIGTERM or SIGINT: a flag, and nothing else. A signal handler runs in the main thread
        between two of its steps, wherever it was; logging, or even setting the stop event (whose
        lock the interrupted ``wait`` may hold), could wait forever on a lock the interrupted code
        holds. The main thread sees the flag within ``_SIGNAL_POLL_S``, sets the stop event and
        says so (``_serve``)."""
        self.signalled = True

    def serve(self) -> int:
        """Block until stopped; the exit status. A ``ConfigError`` when ``listen`` cannot be used,
        ``StateInUse`` when another daemon writes to the same SQLite state."""
        path = lock_path(self.store.engine)
        lock = StateLock(path).acquire() if path is not None else None
        try:
            return self._serve()
        finally:
            if lock is not None:
                lock.release()

    def _serve(self) -> int:
        self.monitor.start()
        self._add_heartbeat()
        if self.leases is not None:
            self._add_leases(self.leases)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self.request_stop)
        for c in self.settings.connections:
            self.scheduler.add_job(
                self._run,
                IntervalTrigger(seconds=c.interval_seconds),
                args=[c.name],
                id=c.name,
                max_instances=1,
                coalesce=True,
                next_run_time=datetime.now(UTC),
            )
        self.scheduler.add_listener(self._overlapped, EVENT_JOB_MAX_INSTANCES)
        apscheduler = [
            logging.getLogger(f"apscheduler.{name}") for name in ("scheduler", "executors.default")
        ]
        for logger in apscheduler:
            logger.addFilter(self._job_lines)
        self.scheduler.start()
        log.info("daemon_started", connections=list(self.jobs), state=_safe_url(self.settings.state))
        try:
            while not self.signalled and not self.stop.wait(_SIGNAL_POLL_S):
                pass
            self.stop.set()  # for the runs under way: they end at the batch in hand
            if self.signalled:
                log.info("stop_requested", detail="finishing the current batch")
                self.monitor.stop_requested()
            self.scheduler.shutdown(wait=True)
        finally:
            for logger in apscheduler:
                logger.removeFilter(self._job_lines)
        if self.leases is not None:
            try:
                self.leases.release_all()
            except Exception as exc:  # they expire after ttl instead
                log.warning("leases_not_released", error=f"{type(exc).__name__}: {exc}")
        self.monitor.stop()
        log.info("daemon_stopped")
        return 1 if self.failed and len(self.failed) == len(self.jobs) else 0

    def _add_heartbeat(self) -> None:
        """A job that proves the scheduler ticks (``/livez``), on an executor of its own so that
        busy runs cannot starve it; its executor's log lines (one a beat) only when they warn."""
        logging.getLogger("apscheduler.executors.heartbeat").setLevel(logging.WARNING)
        self.scheduler.add_executor(ThreadPoolExecutor(1), "heartbeat")
        self.scheduler.add_job(
            self.monitor.beat,
            IntervalTrigger(seconds=HEARTBEAT_S),
            id="leadsync:heartbeat",  # no connection is named so (names have no colon)
            executor="heartbeat",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,  # late is still a beat
            next_run_time=datetime.now(UTC),
        )

    def _job_lines(self, record: logging.LogRecord) -> bool:
        """APScheduler's lines: its warning a skipped tick dropped (``run_overlap`` says it once);
        a line about a connection's job ("Running job ...") names the connection."""
        if "maximum number of running instances reached" in str(record.msg):
            return False
        args = record.args if isinstance(record.args, tuple) else ()
        job_id = getattr(args[0], "id", None) if args else None
        if isinstance(job_id, str) and job_id in self.jobs:
            record.connection = job_id
        return True

    def _overlapped(self, event: JobSubmissionEvent) -> None:
        """A tick skipped: the connection's run is still going (counted for its ``run_overlap``)."""
        job = self.jobs.get(event.job_id)
        if job is None or job.last_result is None:
            return
        run_id = job.last_result.run_id
        with self._overlaps_lock:
            seen_id, count = self.overlaps.get(event.job_id, (run_id, 0))
            self.overlaps[event.job_id] = (run_id, count + 1 if seen_id == run_id else 1)

    def _log_overlap(self, name: str) -> None:
        with self._overlaps_lock:
            run_id, count = self.overlaps.pop(name, ("", 0))
        if count:
            log.debug(
                "run_overlap",
                run_id=run_id,
                skipped_ticks=count,
                every_s=self.intervals[name],
                detail="the run took longer than its interval; the ticks it overlapped were skipped",
            )

    def _add_leases(self, leases: Leases) -> None:
        """A first tick now, to register (``Leases.join_seconds``), then a job of its own that
        claims and renews every ``ttl / 3``, on an executor of its own: busy runs cannot delay a
        renewal. A connection's job runs only while its lease is held."""
        leases.tick(claim=False)
        self.scheduler.add_executor(ThreadPoolExecutor(1), "leases")
        self.scheduler.add_job(
            self._tick_leases,
            IntervalTrigger(seconds=leases.tick_seconds),
            args=[leases],
            id="leadsync:leases",  # no connection is named so (names have no colon)
            executor="leases",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            next_run_time=datetime.now(UTC) + timedelta(seconds=leases.join_seconds),
        )

    def _tick_leases(self, leases: Leases) -> None:
        """Tick the leases; a connection just claimed runs now, not at its next interval."""
        try:
            tick = leases.tick()
        except Exception as exc:  # the state store is away: the leases lapse, fencing holds
            log.warning("lease_tick_failed", error=f"{type(exc).__name__}: {exc}")
            return
        for name in sorted(tick.claimed - self.failed):
            self.scheduler.modify_job(name, next_run_time=datetime.now(UTC))

    def _run(self, name: str) -> None:
        if self.stop.is_set():
            return
        if self.leases is not None and not self.leases.holds(name):
            return  # another replica syncs it (its lease is "waiting" here)
        # The daemon's own lines about this run name its connection (the run binds its id too).
        with structlog.contextvars.bound_contextvars(connection=name):
            self._run_bound(name)

    def _run_id(self, name: str) -> str | None:
        result = self.jobs[name].last_result
        return result.run_id if result is not None else None

    def _run_bound(self, name: str) -> None:
        started, outcome = time.monotonic(), "crashed"
        try:
            result = self._run_job(name)
            outcome = result.status
            if self.on_result:
                self.on_result(name, result)
        except LeaseLost as exc:
            outcome = "lease_lost"
            log.warning("lease_lost", connection=name, error=str(exc), action="another replica syncs it")
        except QuotaExhausted as exc:
            outcome = "quota_exhausted"
            resume = exc.resume_at or datetime.now(UTC)
            log.warning("daily_quota_exhausted", run_id=self._run_id(name), resume_at=resume.isoformat())
            self.scheduler.modify_job(name, next_run_time=resume)
        except AuthError as exc:
            outcome = "auth_failed"
            self.monitor.connection_stopped(name, "authentication failed; fix the credentials and restart")
            log.error(
                "auth_failed",
                run_id=self._run_id(name),
                error=str(exc),
                action="this connection's job is stopped; "
                "fix the credentials and restart (leadsync check says what is missing)",
            )
            self.failed.add(name)
            self.scheduler.pause_job(name)
            if len(self.failed) == len(self.jobs):
                self.stop.set()
        except SetupRefused as exc:
            outcome = "failed"
            log.error(
                "run_refused",
                connection=name,
                error=str(exc),
                fixes=exc.fixes,
                action="the refused records stay due; retried at the next interval, after the fix",
            )
        except CrmError as exc:
            outcome = "failed"
            log.error(
                "run_failed", run_id=self._run_id(name), error=str(exc), action="retried at the next interval"
            )
        except Exception:
            log.exception("run_crashed", run_id=self._run_id(name))
        finally:
            self._log_overlap(name)
            self.monitor.run_ended(name, self.jobs[name].last_result, outcome, time.monotonic() - started)
            self.runs[name] += 1
            if self.cycles is not None and all(n >= self.cycles for n in self.runs.values()):
                self.stop.set()

    def _run_job(self, name: str) -> RunResult:
        """One run; with leases, marked busy (never released meanwhile) and fenced by its lease."""
        if self.leases is None:
            return self.jobs[name].run()
        self.leases.busy(name, True)
        try:
            with self.store.fenced(self.leases.fence(name)):
                return self.jobs[name].run()
        finally:
            self.leases.busy(name, False)


def _safe_url(url: str) -> str:
    """A database URL without its password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}" if ":" in creds else url
    return url
