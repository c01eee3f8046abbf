"""The one clock and the retry policy that sleeps on it: a fake clock's waits take no time."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from leadsync.api import SYSTEM_CLOCK, Clock, FakeClock, RateLimited, RetryPolicy, TransientError, as_clock

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


class TestFakeClock:
    def test_moves_only_when_slept_on_or_advanced(self) -> None:
        clock = FakeClock(T0)
        assert clock.now() == T0 and clock.monotonic() == 0.0
        started = time.monotonic()
        clock.sleep(10.0)
        clock.advance(5.0)
        assert time.monotonic() - started < 0.5
        assert clock.now() == T0 + timedelta(seconds=15) and clock.monotonic() == 15.0
        assert clock.slept == [10.0], "an advance is not a wait"

    def test_threads_share_it(self) -> None:
        clock = FakeClock(T0)
        threads = [threading.Thread(target=lambda: [clock.sleep(0.5) for _ in range(100)]) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert clock.monotonic() == pytest.approx(200.0) and len(clock.slept) == 400

    def test_needs_an_aware_start(self) -> None:
        with pytest.raises(ValueError, match="aware"):
            FakeClock(datetime(2026, 11, 23))

    def test_defaults_to_the_present(self) -> None:
        assert abs((FakeClock().now() - datetime.now(UTC)).total_seconds()) < 60


class TestAsClock:
    def test_a_clock_none_or_a_callable(self) -> None:
        fake = FakeClock(T0)
        assert as_clock(fake) is fake
        assert as_clock(None) is SYSTEM_CLOCK
        wrapped = as_clock(lambda: T0)
        assert isinstance(wrapped, Clock) and wrapped.now() == T0

    def test_anything_else_is_an_error_naming_the_option(self) -> None:
        with pytest.raises(ValueError, match="`clock` must be"):
            as_clock("2026-11-23")

    def test_the_system_clock_is_aware_and_skips_empty_sleeps(self) -> None:
        assert SYSTEM_CLOCK.now().tzinfo is not None
        started = time.monotonic()
        SYSTEM_CLOCK.sleep(0)
        SYSTEM_CLOCK.sleep(-3)
        assert time.monotonic() - started < 0.5


class TestRetryPolicyOnTheClock:
    def test_waits_on_its_clock(self) -> None:
        clock = FakeClock(T0)
        calls: list[int] = []

        def flaky() -> str:
            calls.append(1)
            if len(calls) < 3:
                raise RateLimited("slow down", retry_after=7.0)
            return "ok"

        started = time.monotonic()
        assert RetryPolicy(attempts=5, clock=clock).call(flaky) == "ok"
        assert clock.slept == [7.0, 7.0] and time.monotonic() - started < 0.5

    def test_an_explicit_sleep_wins(self) -> None:
        clock = FakeClock(T0)
        waits: list[float] = []
        policy = RetryPolicy(attempts=2, initial=0.001, maximum=0.001, sleep=waits.append, clock=clock)
        with pytest.raises(TransientError):
            policy.call(lambda: (_ for _ in ()).throw(TransientError("down")))
        assert len(waits) == 1 and not clock.slept

    def test_the_default_is_the_system_clock(self) -> None:
        assert RetryPolicy().clock is SYSTEM_CLOCK
