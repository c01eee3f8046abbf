"""A run's progress: ``run_progress`` log events every few seconds of the run's clock, and a view.

The loop calls ``RunProgress.tick`` where its tally moves (a page read, a batch committed and
written, a sweep chunk); the numbers are the run's own counts (``RunResult.counts``:
``contacts_read``, ``contacts_decided``, ``contacts_written``), the ones the metrics count too.
Time is the run's injected clock, so a test moves it by hand. A ``ProgressView`` (the terminal's
progress bar, ``leadsync.sync.progressbar``) sees every tick; the log sees one event every
``every_s`` seconds and one at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from leadsync.sync.run import RunResult

__all__ = ["PROGRESS_EVERY_S", "Progress", "ProgressView", "RunProgress"]

PROGRESS_EVERY_S = 30.0  # seconds of a run between two ``run_progress`` events


@dataclass(frozen=True)
class Progress:
    """Where a run stands: contacts read, decided and written; how many the read holds (None:
    the CRM does not say), and the seconds since the run started by its clock."""

    read: int
    decided: int
    written: int
    total: int | None
    elapsed_s: float

    @property
    def rate(self) -> float | None:
        """Contacts read a second (None before any time has passed)."""
        return self.read / self.elapsed_s if self.elapsed_s > 0 else None

    @property
    def eta_s(self) -> float | None:
        """Seconds until the read ends at the rate so far; None without a total or a rate."""
        rate = self.rate
        if self.total is None or not rate:
            return None
        return max(self.total - self.read, 0) / rate

    def fields(self) -> dict[str, Any]:
        """The ``run_progress`` event's keys."""
        out: dict[str, Any] = {
            "read": self.read,
            "decided": self.decided,
            "written": self.written,
            "rate": None if self.rate is None else round(self.rate, 2),
            "elapsed_s": round(self.elapsed_s, 1),
        }
        if self.total is not None:
            eta = self.eta_s
            out.update(total=self.total, eta_s=None if eta is None else round(eta))
        return out


class ProgressView(Protocol):
    """Something that shows runs' progress as they go (the terminal's bars), one per connection."""

    def start(self, connection: str) -> None: ...

    def update(self, connection: str, progress: Progress) -> None: ...

    def stop(self, connection: str) -> None: ...


class RunProgress:
    """One run's progress: to the view at every tick, to the log every ``every_s`` and at the end."""

    def __init__(
        self,
        connection: str,
        result: RunResult,
        clock: Callable[[], datetime],
        log: Any,
        every_s: float = PROGRESS_EVERY_S,
        view: ProgressView | None = None,
    ) -> None:
        self.connection = connection
        self.result = result
        self.clock = clock
        self.log = log
        self.every_s = every_s
        self.view = view
        self.total: int | None = None
        self.started = self.last_logged = clock()
        if view is not None:
            view.start(connection)

    def expect(self, total: int | None) -> None:
        """The read holds ``total`` contacts in all, as the CRM last said (None: no news)."""
        if total is not None:
            self.total = total

    def now(self) -> Progress:
        c = self.result.counts
        elapsed = (self.clock() - self.started).total_seconds()
        return Progress(
            c.get("contacts_read", 0),
            c.get("contacts_decided", 0),
            c.get("contacts_written", 0),
            self.total,
            max(elapsed, 0.0),
        )

    def tick(self) -> None:
        """The tally moved: update the view; log ``run_progress`` when ``every_s`` have passed."""
        progress = self.now()
        if self.view is not None:
            self.view.update(self.connection, progress)
        now = self.clock()
        if (now - self.last_logged).total_seconds() >= self.every_s:
            self.last_logged = now
            self.log.info("run_progress", **progress.fields())

    def end(self) -> None:
        """The run is over: one last ``run_progress`` event, and the view goes."""
        progress = self.now()
        self.log.info("run_progress", final=True, **progress.fields())
        if self.view is not None:
            self.view.update(self.connection, progress)
            self.view.stop(self.connection)
