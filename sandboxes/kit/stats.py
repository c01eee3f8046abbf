"""Request counts for tests and benchmarks that count API calls: named buckets of counters."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from typing import Any

__all__ = ["Stats"]

BUCKETS = ("by_endpoint", "by_method", "by_status", "faults", "rate_limited")


class Stats:
    """Counters by bucket; ``snapshot()`` adds ``requests`` (the sum of ``by_method``)."""

    def __init__(self, buckets: Sequence[str] = BUCKETS) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[str, Counter[str]] = {name: Counter() for name in buckets}

    def count(self, bucket: str, key: str, n: int = 1) -> None:
        with self._lock:
            self._buckets[bucket][key] += n

    def get(self, bucket: str) -> dict[str, int]:
        with self._lock:
            return dict(self._buckets[bucket])

    def reset(self) -> None:
        with self._lock:
            for counter in self._buckets.values():
                counter.clear()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            out: dict[str, Any] = {"requests": sum(self._buckets.get("by_method", Counter()).values())}
            out.update({name: dict(sorted(c.items())) for name, c in self._buckets.items()})
            return out
