"""A CRM never reached is given up on within ~10 s; once a call worked, the same failure retries.

The bound is proven on an injected clock (``FakeClock``: each attempt takes the time it is made
to take, the waits move the clock) and with recorded waits (``SleepRecorder``), never in real time.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
import requests
import urllib3

from leadsync.api import (
    AuthError,
    FakeClock,
    RetryPolicy,
    TransientError,
    Unreachable,
    network_error,
)
from leadsync.api._retry import CONNECT_TIMEOUT_S, FIRST_CONTACT_S
from leadsync.testing.sleeps import SleepRecorder

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def failing(
    error: Exception, clock: FakeClock | None = None, takes: float = 0.0
) -> tuple[Callable[[], str], list[int]]:
    """A call that always raises ``error``, each attempt taking ``takes`` seconds of ``clock``."""
    attempts: list[int] = []

    def call() -> str:
        attempts.append(1)
        if clock is not None:
            clock.advance(takes)
        raise error

    return call, attempts


class TestNeverReached:
    def test_a_host_dropping_packets_is_given_up_on_within_10s(self) -> None:
        clock = FakeClock(T0)
        call, attempts = failing(Unreachable("connect timeout"), clock, takes=CONNECT_TIMEOUT_S)
        with pytest.raises(Unreachable):
            RetryPolicy(clock=clock).call(call)
        assert clock.monotonic() <= FIRST_CONTACT_S
        assert len(attempts) == 2  # 3.05 s, a wait, 3.05 s; a third could end past 10 s

    def test_a_refused_connection_is_given_up_on_within_10s(self) -> None:
        clock = FakeClock(T0)
        call, attempts = failing(Unreachable("refused"), clock)
        with pytest.raises(Unreachable):
            RetryPolicy(clock=clock).call(call)
        assert clock.monotonic() <= FIRST_CONTACT_S
        assert len(attempts) == 4 and len(clock.slept) == 3

    def test_with_recorded_waits(self) -> None:
        recorder = SleepRecorder()
        call, attempts = failing(Unreachable("refused"))
        with pytest.raises(Unreachable):
            RetryPolicy(sleep=recorder).call(call)
        assert len(attempts) == 4
        assert sum(recorder.waits) + CONNECT_TIMEOUT_S <= FIRST_CONTACT_S

    def test_before_the_change_it_took_a_minute(self) -> None:
        """The same failure, as any transient one, is retried for the policy's 8 attempts."""
        recorder = SleepRecorder()
        call, attempts = failing(TransientError("reset by peer"))
        with pytest.raises(TransientError):
            RetryPolicy(sleep=recorder).call(call)
        assert len(attempts) == 8 and sum(recorder.waits) > 60


class TestOnceReached:
    def test_a_policy_that_worked_retries_as_usual(self) -> None:
        recorder = SleepRecorder()
        policy = RetryPolicy(sleep=recorder)
        assert policy.call(lambda: "ok") == "ok"
        calls: list[int] = []

        def blinking() -> str:
            calls.append(1)
            if len(calls) < 6:
                raise Unreachable("refused: the network blinked")
            return "back"

        assert policy.call(blinking) == "back"
        assert len(calls) == 6 and len(recorder.waits) == 5

    def test_an_answer_counts_as_reached(self) -> None:
        recorder = SleepRecorder()
        policy = RetryPolicy(sleep=recorder)
        with pytest.raises(AuthError):
            policy.call(failing(AuthError("401", status=401))[0])
        call, attempts = failing(Unreachable("refused"))
        with pytest.raises(Unreachable):
            policy.call(call)
        assert len(attempts) == 8

    def test_no_connection_is_not_an_answer(self) -> None:
        policy = RetryPolicy(sleep=SleepRecorder())
        with pytest.raises(Unreachable):
            policy.call(failing(Unreachable("refused"))[0])
        assert not policy.reached


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield int(server.getsockname()[1])


class TestNetworkError:
    """Which real failures are ``Unreachable``: no connection made, not a call that dropped."""

    def test_requests_to_a_closed_port(self) -> None:
        with pytest.raises(requests.RequestException) as caught:
            requests.get(f"http://127.0.0.1:{closed_port()}/", timeout=1)
        assert isinstance(network_error("GET", caught.value), Unreachable)

    def test_urllib3_to_a_closed_port(self) -> None:
        pool = urllib3.PoolManager(retries=False)
        with pytest.raises(urllib3.exceptions.HTTPError) as caught:
            pool.request("GET", f"http://127.0.0.1:{closed_port()}/", timeout=1)
        assert isinstance(network_error("GET", caught.value), Unreachable)

    def test_a_name_that_does_not_resolve(self) -> None:
        with pytest.raises(requests.RequestException) as caught:
            requests.get("http://leadsync-no-such-host.invalid/", timeout=1)
        assert isinstance(network_error("GET", caught.value), Unreachable)

    def test_a_read_timeout_is_only_transient(self, silent_port: int) -> None:
        with pytest.raises(requests.RequestException) as caught:
            requests.get(f"http://127.0.0.1:{silent_port}/", timeout=(1, 0.2))
        error = network_error("GET", caught.value, url="http://x")
        assert type(error) is TransientError and error.url == "http://x"
