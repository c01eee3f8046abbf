"""Senders over plain HTTP(S) with ``requests``: a Microsoft Teams Workflows webhook (answers 202
Accepted) and a generic webhook signed with HMAC-SHA256 and a timestamp (``signing``).

A Teams Workflows URL carries its signature (``sig=``) and is a secret: errors name the service
and the failure, never the URL.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import requests
from pydantic import SecretStr

from leadsync.notify.cards import teams_digest, teams_notice
from leadsync.notify.notice import Digest, Notice
from leadsync.notify.outcome import FailedPermanently, Outcome, RetryAfter, http_outcome
from leadsync.notify.payload import webhook_digest, webhook_notice
from leadsync.notify.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from leadsync.tls import trust_ca

__all__ = ["TeamsSender", "WebhookSender", "http_session"]

_USER_AGENT = "leadsync-notify/1"


def http_session(ca_file: Path | None, url: str) -> requests.Session:
    """A session for one endpoint, trusting ``ca_file`` (a private CA, a local receiver) when given."""
    session = requests.Session()
    session.headers["User-Agent"] = _USER_AGENT
    if ca_file is not None:
        parts = urlsplit(url)
        trust_ca(session, str(ca_file), f"{parts.scheme}://{parts.netloc}/")
    return session


def _post(
    session: requests.Session, url: str, body: bytes, headers: dict[str, str], timeout: float, service: str
) -> Outcome:
    try:
        answer = session.post(url, data=body, headers=headers, timeout=timeout)
    except requests.exceptions.SSLError:
        return FailedPermanently(f"{service}: the TLS certificate was not trusted (set `ca_file`?)")
    except requests.exceptions.Timeout:
        return RetryAfter(f"{service} did not answer within {timeout:g} s")
    except requests.exceptions.RequestException as exc:
        # The exception's text holds the URL (and so its secret): only its kind is kept.
        return RetryAfter(f"{service} not reached: {type(exc).__name__}")
    return http_outcome(answer.status_code, dict(answer.headers), answer.text, service)


class TeamsSender:
    """A Teams Workflows webhook: an Adaptive Card message; 202 when taken."""

    def __init__(self, url: SecretStr, timeout: float = 10, ca_file: Path | None = None) -> None:
        self._url = url
        self.timeout = timeout
        self._session = http_session(ca_file, url.get_secret_value())

    def send(self, message: Notice | Digest) -> Outcome:
        card = teams_digest(message) if isinstance(message, Digest) else teams_notice(message)
        body = json.dumps(card, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json; charset=utf-8"}
        return _post(self._session, self._url.get_secret_value(), body, headers, self.timeout, "Teams")


class WebhookSender:
    """A generic webhook: the JSON of ``payload``, signed (``X-Leadsync-Signature``) with the
    channel's secret over the timestamp and the raw body, so the receiver can trust and date it."""

    def __init__(
        self,
        url: str,
        secret: SecretStr,
        timeout: float = 10,
        ca_file: Path | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url, self.timeout, self._clock = url, timeout, clock
        self._secret = secret
        self._session = http_session(ca_file, url)

    def send(self, message: Notice | Digest) -> Outcome:
        data = webhook_digest(message) if isinstance(message, Digest) else webhook_notice(message)
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
        stamp = int(self._clock())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            TIMESTAMP_HEADER: str(stamp),
            SIGNATURE_HEADER: sign(self._secret.get_secret_value().encode(), stamp, body),
            "Idempotency-Key": message.key,
        }
        return _post(self._session, self.url, body, headers, self.timeout, "webhook")
