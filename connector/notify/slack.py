"""Slack senders on the official ``slack-sdk``: an incoming webhook (``WebhookClient``), a channel
through a bot token (``WebClient.chat_postMessage``) and a direct message to a person found by
e-mail (``users.lookupByEmail``, then ``chat.postMessage`` to the user's id).

Slack allows about one message per second per channel and answers more with HTTP 429 and
``Retry-After`` (https://docs.slack.dev/apis/web-api/rate-limits). A short wait (at most
``max_wait`` seconds) is taken in place by the SDK's ``RateLimitErrorRetryHandler``, once; a longer
one comes back as ``RetryAfter`` for the outbox to honour without blocking anyone. Error names in
Slack's bodies (``invalid_auth``, ``channel_not_found``, ``users_not_found``...) decide between
trying again and a dead letter carrying that name.

The SDK logs request URLs (a webhook URL is its secret) at debug level: its clients get a logger
of their own that never logs.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Mapping
from typing import Any
from urllib.error import URLError

from pydantic import SecretStr
from slack_sdk import WebClient, WebhookClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from leadsync.notify.blocks import slack_digest, slack_notice
from leadsync.notify.notice import Digest, Notice
from leadsync.notify.outcome import Delivered, FailedPermanently, Outcome, RetryAfter, http_outcome, short
from leadsync.notify.outcome import retry_after_seconds as parse_retry_after

__all__ = ["SlackBot", "SlackChannelSender", "SlackDirectSender", "SlackWebhookSender", "slack_body"]

# Slack's error names worth another try later; any other `ok: false` is for good.
_TRANSIENT = frozenset(
    {
        "ratelimited",
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "team_added_to_org",
    }
)
_SILENT = logging.getLogger("leadsync.notify.slack_sdk")
_SILENT.disabled = True  # never logs: its records would carry URLs and bodies


class _ShortRateLimitRetry(RateLimitErrorRetryHandler):
    """The SDK's 429 handler, for waits of at most ``max_wait`` seconds."""

    def __init__(self, max_wait: float) -> None:
        super().__init__(max_retry_count=1)
        self.max_wait = max_wait

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        values = {k.lower(): v for k, v in response.headers.items()}.get("retry-after") or ["1"]
        wait = parse_retry_after(values[0])
        return wait is not None and wait <= self.max_wait


def _handlers(max_wait: float) -> list[RetryHandler]:
    return [_ShortRateLimitRetry(max_wait)] if max_wait > 0 else []


def slack_body(message: Notice | Digest) -> dict[str, Any]:
    return slack_digest(message) if isinstance(message, Digest) else slack_notice(message)


def _header(headers: Mapping[str, Any], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return str(value[0] if isinstance(value, list) else value)
    return None


def _unreachable(service: str, exc: Exception) -> RetryAfter:
    reason = getattr(exc, "reason", None) or exc
    return RetryAfter(f"{service} not reached: {type(exc).__name__}: {reason}")


class SlackWebhookSender:
    """A Slack incoming webhook; Slack answers ``ok`` or an error name such as ``no_service``."""

    def __init__(
        self, url: SecretStr, timeout: float = 10, tls: ssl.SSLContext | None = None, max_wait: float = 2
    ):
        self._client = WebhookClient(
            url.get_secret_value(),
            timeout=int(max(1, timeout)),
            ssl=tls,
            logger=_SILENT,
            retry_handlers=_handlers(max_wait),
        )

    def send(self, message: Notice | Digest) -> Outcome:
        body = slack_body(message)
        try:
            response = self._client.send(text=body["text"], blocks=body["blocks"])
        except (URLError, OSError, SlackRequestError) as exc:
            return _unreachable("Slack webhook", exc)
        flat = {k: str(v[0] if isinstance(v, list) else v) for k, v in (response.headers or {}).items()}
        return http_outcome(response.status_code, flat, response.body or "", "Slack webhook")


class SlackBot:
    """A bot token's ``WebClient``, shared by the channels and direct messages it sends; it
    remembers which user id an e-mail address belongs to (``users.lookupByEmail``)."""

    def __init__(
        self,
        token: SecretStr,
        api_url: str = "https://slack.com/api/",
        timeout: float = 10,
        tls: ssl.SSLContext | None = None,
        max_wait: float = 2,
    ) -> None:
        self.client = WebClient(
            token=token.get_secret_value(),
            base_url=api_url if api_url.endswith("/") else api_url + "/",
            timeout=int(max(1, timeout)),
            ssl=tls,
            logger=_SILENT,
            retry_handlers=_handlers(max_wait),
        )
        self._users: dict[str, str] = {}
        self._lock = threading.Lock()

    def post(self, channel: str, message: Notice | Digest) -> Outcome:
        """``chat.postMessage`` to a channel (name or id) or a user id (a direct message)."""
        body = slack_body(message)
        try:
            answer = self.client.chat_postMessage(channel=channel, text=body["text"], blocks=body["blocks"])
        except SlackApiError as exc:
            return self._refused(exc)
        except (URLError, OSError, SlackRequestError) as exc:
            return _unreachable("Slack", exc)
        return Delivered(str(answer.get("ts") or ""))

    def user_id(self, email: str) -> str | Outcome:
        """The Slack user id of ``email``, or the outcome that stops the send (not found: for good)."""
        with self._lock:
            if email in self._users:
                return self._users[email]
        try:
            answer = self.client.users_lookupByEmail(email=email)
        except SlackApiError as exc:
            return self._refused(exc)
        except (URLError, OSError, SlackRequestError) as exc:
            return _unreachable("Slack", exc)
        user = answer.get("user") or {}
        found = str(user.get("id") or "")
        if not found:
            return FailedPermanently("Slack users.lookupByEmail answered no user id")
        with self._lock:
            self._users[email] = found
        return found

    @staticmethod
    def _refused(exc: SlackApiError) -> Outcome:
        response = exc.response
        data = response.data if isinstance(response.data, dict) else {}
        name = short(str(data.get("error") or f"HTTP {response.status_code}"))  # a proxy's HTML, cut
        error = f"Slack answered {name}"
        if response.status_code == 429 or name in _TRANSIENT or response.status_code >= 500:
            return RetryAfter(error, parse_retry_after(_header(response.headers, "retry-after")))
        return FailedPermanently(error)


class SlackChannelSender:
    """A Slack channel through a bot."""

    def __init__(self, bot: SlackBot, channel: str) -> None:
        self.bot, self.channel = bot, channel

    def send(self, message: Notice | Digest) -> Outcome:
        return self.bot.post(self.channel, message)


class SlackDirectSender:
    """A direct message to the Slack user whose e-mail address is ``email``."""

    def __init__(self, bot: SlackBot, email: str) -> None:
        self.bot, self.email = bot, email

    def send(self, message: Notice | Digest) -> Outcome:
        user = self.bot.user_id(self.email)
        if not isinstance(user, str):
            return user
        return self.bot.post(user, message)
