"""The dashboard's reports, kept a little while: a report decides every stored contact, seconds of
CPU at 100,000 contacts, and the page may be open on several screens and reloaded.

- A report asked again within ``fresh_s`` (60 s) is answered from memory, and so is one asked
  again within ``stale_s`` (15 min), while a new one is computed in the background for the next
  request (stale while revalidating): the page says when it was computed (``window.now``).
- Older than that, or asked for the first time, it is computed while the request waits.
- One report is computed at a time, whatever the number of requests: a second request for the same
  parameters waits for the first's result instead of computing it again; the daemon's runs are
  not starved by a dashboard reloaded in a loop.
- The end of a run that read or wrote something (``invalidate``) refreshes, in the background,
  the reports of that connection asked within ``stale_s``, and a change of the rules (the daemon
  re-reads the file) makes a kept report unusable.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog

from leadsync.rules.compiled import Rules

__all__ = ["FRESH_S", "STALE_S", "Computed", "Key", "ReportCache"]

log = structlog.get_logger("leadsync.http")

Key = tuple[str, ...]  # a report's parameters, the connection first
FRESH_S = 60.0
STALE_S = 900.0


@dataclass(frozen=True)
class Computed:
    """A report, the rules it was computed with, when (the cache's clock), and its number."""

    rules: Rules
    report: dict[str, Any]
    at: float
    seq: int


class ReportCache:
    """Reports by their parameters (``key``: the connection first). ``compute(key)`` makes one."""

    def __init__(
        self,
        compute: Callable[[Key], tuple[Rules, dict[str, Any]]],
        rules_of: Callable[[str], Rules],
        *,
        fresh_s: float = FRESH_S,
        stale_s: float = STALE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._compute = compute
        self._rules_of = rules_of
        self.fresh_s = fresh_s
        self.stale_s = stale_s
        self.clock = clock
        self._kept: dict[Key, Computed] = {}
        self._asked: dict[Key, float] = {}
        self._lock = threading.Lock()  # guards _kept, _asked, _refreshing
        self._one_at_a_time = threading.Lock()
        self._refreshing: set[Key] = set()
        self._seq = 0  # the number of the last report computed
        self.computed = 0  # how many reports were computed (for tests and the bench)

    def get(self, key: Key) -> Computed:
        """The report for ``key``: kept, or computed now (exceptions of ``compute`` propagate)."""
        now = self.clock()
        with self._lock:
            self._asked[key] = now
            kept = self._usable(key)
            seq = self._seq
        if kept is not None and now - kept.at <= self.fresh_s:
            return kept
        if kept is not None and now - kept.at <= self.stale_s:
            self._refresh_later(key)
            return kept
        return self._computed(key, seq)

    def clear(self) -> None:
        """Forget every kept report (the next request computes)."""
        with self._lock:
            self._kept.clear()

    def invalidate(self, connection: str) -> None:
        """A run of ``connection`` changed the store: refresh its reports asked lately."""
        now = self.clock()
        with self._lock:
            keys = [k for k, at in self._asked.items() if k[0] == connection and now - at <= self.stale_s]
            for k in [k for k, at in self._asked.items() if now - at > self.stale_s]:
                self._asked.pop(k, None)
                self._kept.pop(k, None)
        for key in keys:
            self._refresh_later(key)

    def _usable(self, key: Key) -> Computed | None:
        kept = self._kept.get(key)
        if kept is not None and kept.rules is not self._rules_of(key[0]):
            return None
        return kept

    def _computed(self, key: Key, newer_than: int) -> Computed:
        """A report computed after the one numbered ``newer_than``: one computed while this
        request waited for its turn, or a new one."""
        with self._one_at_a_time:
            with self._lock:
                kept = self._usable(key)
            if kept is not None and kept.seq > newer_than:
                return kept
            at = self.clock()
            rules, report = self._compute(key)
            with self._lock:
                self._seq += 1
                done = Computed(rules, report, at, self._seq)
                self._kept[key] = done
                self.computed += 1
            return done

    def _refresh_later(self, key: Key) -> None:
        with self._lock:
            if key in self._refreshing:
                return
            self._refreshing.add(key)
            newer_than = self._seq

        def refresh() -> None:
            try:
                self._computed(key, newer_than)
            except Exception:
                log.exception("report_refresh_failed")
            finally:
                with self._lock:
                    self._refreshing.discard(key)

        threading.Thread(target=refresh, name="leadsync-report", daemon=True).start()
