"""The terminal's progress bars: one per running connection, with rich, on standard error.

Shown only on a terminal with the console log format (``wanted``): a JSON log is never mixed
with a bar. While a bar shows, log lines go through its console, printed above the bar. The bar's
ETA comes from the total the CRM reported for the read (HubSpot's search ``total``); without
one it shows how many were read and none.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import IO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as Bars

from leadsync.logging import log_stream
from leadsync.sync.progress import Progress

__all__ = ["FORCE_ENV", "TerminalProgress", "wanted"]

FORCE_ENV = "LEADSYNC_PROGRESS"  # 1: show the bars without a terminal (console log only); 0: never


def wanted(log_format: str, stream: IO[str] | None = None) -> bool:
    """Whether to show progress bars: console log format, and standard error a terminal.

    ``LEADSYNC_PROGRESS=1`` forces them (a JSON log never has them), ``=0`` turns them off; under
    pytest they are off unless forced.
    """
    if log_format != "console":
        return False
    forced = os.environ.get(FORCE_ENV)
    if forced in ("0", "1"):
        return forced == "1"
    if "PYTEST_CURRENT_TEST" in os.environ:
        return False
    return (stream or sys.stderr).isatty()


class TerminalProgress:
    """A ``ProgressView``: a bar per connection while it runs (read of total, decided, written, ETA)."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self._lock = threading.Lock()
        self._bars: Bars | None = None
        self._tasks: dict[str, TaskID] = {}
        self._log_was: IO[str] | None = None

    def _make(self) -> Bars:
        return Bars(
            TextColumn("[bold]{task.description}[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("read · {task.fields[decided]:,} decided · {task.fields[written]:,} written"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self.console,
            redirect_stderr=True,
            redirect_stdout=False,
        )

    def start(self, connection: str) -> None:
        with self._lock:
            if self._bars is None:
                self._bars = self._make()
                self._bars.start()  # standard error now prints above the bars (on a terminal)...
                self._log_was = log_stream(None)  # ...and so does the log, whatever its stream
            self._tasks[connection] = self._bars.add_task(connection, total=None, decided=0, written=0)

    def update(self, connection: str, progress: Progress) -> None:
        with self._lock:
            task = self._tasks.get(connection)
            if self._bars is None or task is None:
                return
            total = None if progress.total is None else max(progress.total, progress.read)
            self._bars.update(
                task,
                completed=progress.read,
                total=total,
                decided=progress.decided,
                written=progress.written,
            )

    def stop(self, connection: str) -> None:
        with self._lock:
            task = self._tasks.pop(connection, None)
            if self._bars is None:
                return
            if task is not None and self._tasks:  # others still run: this one's bar goes
                self._bars.remove_task(task)
            if not self._tasks:
                self._bars.stop()
                log_stream(self._log_was)
                self._log_was = None
                self._bars = None
