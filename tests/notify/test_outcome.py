"""Outcomes from HTTP answers, Retry-After in both of its forms, and the webhook signature."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from leadsync.notify.outcome import (
    Delivered,
    FailedPermanently,
    RetryAfter,
    http_outcome,
    retry_after_seconds,
)
from leadsync.notify.signing import sign, verify

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("30", 30.0),
        (" 1.5 ", 1.5),
        ("-4", 0.0),
        ("Mon, 07 Dec 2026 10:02:00 GMT", 120.0),
        ("soon", None),
        (None, None),
    ],
)
def test_retry_after_in_seconds_or_as_a_date(value: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(value, NOW) == seconds


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (200, Delivered("body")),
        (202, Delivered("body")),
        (429, RetryAfter("svc answered HTTP 429: body", 5.0)),
        (503, RetryAfter("svc answered HTTP 503: body", 5.0)),
        (408, RetryAfter("svc answered HTTP 408: body", 5.0)),
        (400, FailedPermanently("svc answered HTTP 400: body")),
        (401, FailedPermanently("svc answered HTTP 401: body")),
        (404, FailedPermanently("svc answered HTTP 404: body")),
    ],
)
def test_http_statuses(status: int, expected: object) -> None:
    assert http_outcome(status, {"Retry-After": "5"}, "body", "svc") == expected


def test_a_long_error_body_is_cut() -> None:
    outcome = http_outcome(500, {}, "x" * 5000, "svc")
    assert isinstance(outcome, RetryAfter) and len(outcome.error) < 600 and outcome.seconds is None


def test_the_signature_holds_only_for_its_body_secret_and_time() -> None:
    secret, body = b"s3cret", b'{"a":1}'
    good = sign(secret, 1000, body)
    assert verify(secret, "1000", good, body, now=1100) is None
    assert verify(secret, "1000", good, body + b" ", now=1100) == "signature mismatch"
    assert verify(b"other", "1000", good, body, now=1100) == "signature mismatch"
    assert verify(secret, "1000", good, body, now=1000 + 301) == "timestamp too far from now"
    assert verify(secret, "soon", good, body, now=1100) == "timestamp is not Unix seconds"
    assert verify(secret, None, good, body, now=1100) == "missing signature or timestamp header"
