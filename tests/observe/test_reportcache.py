"""The dashboard's reports kept a little while: fresh, stale while revalidating, expired, one
computation at a time, refreshed after a run, dropped when the rules change. On a fake clock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from leadsync.observe.reportcache import Key, ReportCache
from leadsync.rules.compiled import Rules
from tests.support import rules as make_rules

RULES_TEXT = (
    "version: 1\nname: r\ntimezone: UTC\nscoring: {engagement: []}\nstages: {mql: {score_at_least: 1}}\n"
)


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "the background refresh never ended"
        time.sleep(0.01)


class Setup:
    def __init__(self) -> None:
        self.rules = make_rules(RULES_TEXT)
        self.clock = Clock()
        self.version = 0
        self.gate: threading.Event | None = None
        self.cache = ReportCache(
            self.compute, lambda _c: self.rules, fresh_s=60, stale_s=900, clock=self.clock
        )

    def compute(self, key: Key) -> tuple[Rules, dict[str, Any]]:
        if self.gate is not None:
            assert self.gate.wait(10)
        if key[1] == "boom":
            raise RuntimeError("boom")
        return self.rules, {"key": list(key), "version": self.version}


@pytest.fixture
def s() -> Setup:
    return Setup()


def test_fresh_is_kept(s: Setup) -> None:
    first = s.cache.get(("crm", "month"))
    s.version = 1
    s.clock.t += 60
    assert s.cache.get(("crm", "month")) is first and s.cache.computed == 1
    assert s.cache.get(("crm", "week")).report["version"] == 1  # other parameters: their own


def test_stale_is_answered_while_a_new_one_is_computed(s: Setup) -> None:
    first = s.cache.get(("crm", "month"))
    s.version = 1
    s.clock.t += 61
    assert s.cache.get(("crm", "month")) is first  # at once
    _until(lambda: s.cache.computed == 2)
    assert s.cache.get(("crm", "month")).report["version"] == 1


def test_expired_is_computed_while_the_request_waits(s: Setup) -> None:
    s.cache.get(("crm", "month"))
    s.version = 1
    s.clock.t += 901
    assert s.cache.get(("crm", "month")).report["version"] == 1 and s.cache.computed == 2


def test_new_rules_make_a_kept_report_unusable(s: Setup) -> None:
    s.cache.get(("crm", "month"))
    s.rules = make_rules(RULES_TEXT)
    assert s.cache.get(("crm", "month")).rules is s.rules and s.cache.computed == 2


def test_one_computation_for_requests_at_once(s: Setup) -> None:
    s.gate = threading.Event()
    got: list[dict[str, Any]] = []
    threads = [
        threading.Thread(target=lambda: got.append(s.cache.get(("crm", "month")).report)) for _ in range(5)
    ]
    for t in threads:
        t.start()
    time.sleep(0.2)
    s.gate.set()
    for t in threads:
        t.join(10)
    assert len(got) == 5 and s.cache.computed == 1


def test_a_run_refreshes_what_was_asked_lately_for_its_connection(s: Setup) -> None:
    s.cache.get(("crm", "month"))
    s.cache.get(("other", "month"))
    s.version = 1
    s.cache.invalidate("crm")
    _until(lambda: s.cache.computed == 3)
    assert s.cache.get(("crm", "month")).report["version"] == 1
    assert s.cache.get(("other", "month")).report["version"] == 0
    s.clock.t += 901
    s.cache.invalidate("crm")  # asked too long ago: forgotten, not refreshed
    time.sleep(0.1)
    assert s.cache.computed == 3


def test_a_failure_is_not_kept(s: Setup) -> None:
    with pytest.raises(RuntimeError):
        s.cache.get(("crm", "boom"))
    with pytest.raises(RuntimeError):
        s.cache.get(("crm", "boom"))
    assert s.cache.computed == 0
