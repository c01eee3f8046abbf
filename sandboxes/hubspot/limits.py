"""Everything between a request and the portal: tokens and scopes, rate limits, HubSpot's 5xx.

- **Auth**: ``Authorization: Bearer <token>``; unknown → 401 ``INVALID_AUTHENTICATION``, expired →
  401 ``EXPIRED_AUTHENTICATION``, a scope the token lacks → 403 ``MISSING_SCOPES``.
- **Rate limits** (https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines):
  a rolling 10-second window per token (``TEN_SECONDLY_ROLLING``), CRM search per portal per second
  (``SECONDLY``), a daily budget per portal (``DAILY``); 429 bodies as HubSpot sends them, and
  ``X-HubSpot-RateLimit-*`` headers on every non-search response.
- **Faults** (injected by ``leadsync.sandboxes.kit``): a storm answers the limiter's
  ``storm_error`` (a ``TEN_SECONDLY_ROLLING`` 429), a 5xx ``server_error``, with HubSpot's body.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from leadsync.sandboxes.hubspot.common import JSON, ApiError, new_correlation_id
from leadsync.sandboxes.kit.windows import prune

__all__ = ["RateLimiter", "RateLimits", "TokenInfo", "Tokens", "server_error"]

_AUTH_HELP = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can "
    "find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)
_SCOPES_HELP = (
    "This app hasn't been granted all required scopes to make this call. Read more about required "
    "scopes here: https://developers.hubspot.com/scopes."
)


@dataclass
class TokenInfo:
    """A private-app token: its scopes (None: every scope) and the app id its writes are stamped with."""

    token: str
    scopes: frozenset[str] | None = None
    app_id: str = "3100001"
    expired: bool = False


class Tokens:
    def __init__(self) -> None:
        self._tokens: dict[str, TokenInfo] = {}

    def add(self, token: str, scopes: Any = None, app_id: str | None = None) -> TokenInfo:
        info = TokenInfo(token, None if scopes is None else frozenset(scopes))
        info.app_id = app_id or str(3_100_001 + len(self._tokens))
        self._tokens[token] = info
        return info

    def get(self, token: str) -> TokenInfo | None:
        return self._tokens.get(token)

    def authenticate(self, header: str | None) -> TokenInfo:
        token = header[7:].strip() if header and header.lower().startswith("bearer ") else ""
        info = self._tokens.get(token) if token else None
        if info is None:
            raise ApiError(401, "INVALID_AUTHENTICATION", _AUTH_HELP)
        if info.expired:
            raise ApiError(401, "EXPIRED_AUTHENTICATION", "The OAuth token used to make this call expired.")
        return info

    @staticmethod
    def require(info: TokenInfo, any_of: list[str]) -> None:
        if info.scopes is None or not any_of or info.scopes & set(any_of):
            return
        detail = {"message": "One or more of the following scopes are required.", "context": {}}
        detail["context"] = {"requiredGranularScopes": list(any_of)}
        extra = {"errors": [detail], "links": {"scopes": "https://developers.hubspot.com/scopes"}}
        raise ApiError(403, "MISSING_SCOPES", _SCOPES_HELP, extra)


@dataclass
class RateLimits:
    """Limits per HubSpot's usage guidelines (Professional private app); every number configurable."""

    ten_second_max: int = 190
    ten_second_window_ms: int = 10_000
    search_per_second: int = 5
    search_window_ms: int = 1_000
    daily_max: int = 1_000_000
    search_counts_toward_burst: bool = True


def _rate_body(policy: str, message: str, group: str) -> JSON:
    return {
        "status": "error",
        "message": message,
        "errorType": "RATE_LIMIT",
        "correlationId": new_correlation_id(),
        "policyName": policy,
        "groupName": group,
        "requestId": str(uuid.uuid4()),
    }


class RateLimiter:
    """Sliding windows on a monotonic clock; a refused request does not use up any budget."""

    def __init__(
        self, limits: RateLimits, portal_id: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limits = limits
        self.portal_id = portal_id
        self.clock = clock
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self._burst: dict[str, deque[float]] = {}
        self._search: deque[float] = deque()
        self._daily = 0

    def check(self, info: TokenInfo, is_search: bool) -> dict[str, str]:
        """The rate-limit headers for an allowed request; raise a 429 ApiError otherwise."""
        lim = self.limits
        with self._lock:
            now = self.clock()
            burst = self._burst.setdefault(info.token, deque())
            prune(burst, now - lim.ten_second_window_ms / 1000)
            prune(self._search, now - lim.search_window_ms / 1000)
            counts_burst = not is_search or lim.search_counts_toward_burst
            headers = {} if is_search else self._headers(len(burst))
            if is_search and len(self._search) >= lim.search_per_second:
                body = _rate_body(
                    "SECONDLY", "You have reached your secondly limit.", f"publicapi:search:{self.portal_id}"
                )
                raise ApiError(429, "RATE_LIMIT", body["message"], {}, headers, body)
            if counts_burst and len(burst) >= lim.ten_second_max:
                body = _rate_body(
                    "TEN_SECONDLY_ROLLING",
                    "You have reached your ten_secondly_rolling limit.",
                    f"publicapi:private-app:{info.app_id}:{self.portal_id}",
                )
                raise ApiError(429, "RATE_LIMIT", body["message"], {}, headers, body)
            if self._daily >= lim.daily_max:
                body = _rate_body(
                    "DAILY", "You have reached your daily limit.", f"publicapi:portal:{self.portal_id}"
                )
                raise ApiError(429, "RATE_LIMIT", body["message"], {}, headers, body)
            if counts_burst:
                burst.append(now)
            if is_search:
                self._search.append(now)
            self._daily += 1
            return {} if is_search else self._headers(len(burst))

    def storm_error(self, info_app: str = "3100001") -> ApiError:
        """The 429 a storm answers with (a TEN_SECONDLY_ROLLING refusal)."""
        body = _rate_body(
            "TEN_SECONDLY_ROLLING",
            "You have reached your ten_secondly_rolling limit.",
            f"publicapi:private-app:{info_app}:{self.portal_id}",
        )
        return ApiError(
            429, "RATE_LIMIT", body["message"], {}, self._headers(self.limits.ten_second_max), body
        )

    def _headers(self, used: int) -> dict[str, str]:
        lim = self.limits
        return {
            "X-HubSpot-RateLimit-Max": str(lim.ten_second_max),
            "X-HubSpot-RateLimit-Remaining": str(max(lim.ten_second_max - used, 0)),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(lim.ten_second_window_ms),
            "X-HubSpot-RateLimit-Daily": str(lim.daily_max),
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(lim.daily_max - self._daily, 0)),
        }


_5XX = {
    500: ("INTERNAL_ERROR", "internal error"),
    502: (
        "BAD_GATEWAY",
        "The server received an invalid response from an upstream server. Please try again.",
    ),
    503: ("SERVICE_UNAVAILABLE", "The service is temporarily unavailable. Please try again later."),
    504: ("GATEWAY_TIMEOUT", "The request timed out before it could complete. Please try again."),
}


def server_error(status: int) -> ApiError:
    category, message = _5XX.get(status, ("INTERNAL_ERROR", "internal error"))
    return ApiError(status, category, message)
