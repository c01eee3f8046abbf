"""The org's API allowances in the Salesforce sandbox: the daily request limit and ``/limits``.

Salesforce counts every authenticated REST call against a rolling 24-hour org-wide allowance
(100,000 here by default), reports it on every response as ``Sforce-Limit-Info: api-usage=N/M``
and refuses calls past it with 403 ``REQUEST_LIMIT_EXCEEDED`` "TotalRequests Limit exceeded."
(https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_api_usage.htm).
It has no per-second rate limit; ``per_second`` (off by default) adds one for experiments, answered
like the concurrent-request limit. Bulk API 2.0 ingest uses one batch per 10,000 records out of
15,000 per rolling day. The window runs on the sandbox clock, so ``advance()`` frees it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from leadsync.sandboxes.kit.windows import RollingTotal, prune
from leadsync.sandboxes.salesforce.common import JSON, SfError

__all__ = ["ApiLimits", "Limits"]


@dataclass
class Limits:
    """The allowances; every number can be changed while running (``set_limits``)."""

    daily_api_requests: int = 100_000
    per_second: int = 0  # 0: no per-second limit (Salesforce has none)
    daily_bulk_batches: int = 15_000
    daily_bulk_query_jobs: int = 10_000


class ApiLimits:
    def __init__(self, limits: Limits, clock: Callable[[], datetime]) -> None:
        self.limits = limits
        self.clock = clock
        self._lock = threading.Lock()
        self.api = RollingTotal()
        self.batches = RollingTotal()
        self._second: deque[float] = deque()

    def take(self) -> str:
        """Count one API call; the ``Sforce-Limit-Info`` value, or 403 past the daily allowance."""
        with self._lock:
            now = self.clock()
            used = self.api.used(now)
            if used >= self.limits.daily_api_requests:
                raise SfError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            if self.limits.per_second:
                tick = time.monotonic()
                prune(self._second, tick - 1)
                if len(self._second) >= self.limits.per_second:
                    raise SfError(403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded.")
                self._second.append(tick)
            self.api.add(now)
            return f"api-usage={used + 1}/{self.limits.daily_api_requests}"

    def header(self) -> str:
        with self._lock:
            return f"api-usage={self.api.used(self.clock())}/{self.limits.daily_api_requests}"

    def usage(self) -> JSON:
        with self._lock:
            return {"used": self.api.used(self.clock()), "max": self.limits.daily_api_requests}

    def set_usage(self, used: int | None = None, maximum: int | None = None) -> JSON:
        """Pretend ``used`` calls were made just now; change the daily allowance."""
        with self._lock:
            if maximum is not None:
                self.limits.daily_api_requests = int(maximum)
            if used is not None:
                self.api.reset(self.clock(), int(used))
        return self.usage()

    def take_batches(self, records: int) -> None:
        with self._lock:
            self.batches.add(self.clock(), max(1, -(-records // 10_000)))

    def reset(self) -> None:
        with self._lock:
            now = self.clock()
            self.api.reset(now)
            self.batches.reset(now)
            self._second.clear()

    def body(self) -> JSON:
        """``GET /limits``: each allowance as ``{"Max", "Remaining"}``."""
        with self._lock:
            now = self.clock()
            lim = self.limits

            def pair(maximum: int, used: int = 0) -> JSON:
                return {"Max": maximum, "Remaining": max(maximum - used, 0)}

            return {
                "ConcurrentAsyncGetReportInstances": pair(200),
                "ConcurrentSyncReportRuns": pair(20),
                "DailyApiRequests": pair(lim.daily_api_requests, self.api.used(now)),
                "DailyAsyncApexExecutions": pair(250_000),
                "DailyBulkApiBatches": pair(lim.daily_bulk_batches, self.batches.used(now)),
                "DailyBulkV2QueryFileStorageMB": pair(976_562),
                "DailyBulkV2QueryJobs": pair(lim.daily_bulk_query_jobs),
                "DailyDurableStreamingApiEvents": pair(10_000),
                "DailyGenericStreamingApiEvents": pair(10_000),
                "DataStorageMB": pair(1024, 37),
                "FileStorageMB": pair(10_240, 4),
                "HourlyTimeBasedWorkflow": pair(1000),
                "MassEmail": pair(5000),
                "SingleEmail": pair(5000),
            }
