"""Zoho Accounts in the sandbox: the refresh-token grant, access tokens and their scopes.

``POST /oauth/v2/token?grant_type=refresh_token&refresh_token=…&client_id=…&client_secret=…``
(query string or form) mints a one-hour access token
(https://www.zoho.com/accounts/protocol/oauth/web-apps/access-token-expiry.html). As Zoho does:
a refused grant is HTTP 200 ``{"error": "invalid_code"}``; a refresh token mints at most 10
access tokens in 10 minutes (then HTTP 400 "Access Denied") and keeps at most 30 alive (the 31st
evicts the oldest). API calls carry ``Authorization: Zoho-oauthtoken <token>``; an unknown or
expired token is 401 ``INVALID_TOKEN``; a token without the URL's scope is 401
``OAUTH_SCOPE_MISMATCH``. Scopes are recorded per refresh token.
"""

from __future__ import annotations

import secrets
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from leadsync.sandboxes.zoho.common import JSON, ZohoError

__all__ = ["ALL_SCOPES", "Auth", "Grant", "scope_ok"]

ALL_SCOPES = [
    "ZohoCRM.modules.ALL",
    "ZohoCRM.users.READ",
    "ZohoCRM.org.READ",
    "ZohoCRM.settings.fields.ALL",
    "ZohoCRM.settings.modules.READ",
    "ZohoCRM.coql.READ",
]
MINT_WINDOW = timedelta(minutes=10)
LIVE_TOKENS = 30


@dataclass
class Grant:
    """A refresh token: whose, for which client, with which scopes; the access tokens it minted."""

    token: str
    client_id: str
    user_id: str
    scopes: list[str]
    mints: deque[datetime] = field(default_factory=deque)
    live: deque[str] = field(default_factory=deque)


@dataclass
class Access:
    grant: Grant
    expires: datetime


def _hex(n: int) -> str:
    return secrets.token_hex(n // 2)


def scope_ok(scopes: list[str], needed: str) -> bool:
    """Does a token with ``scopes`` reach ``needed`` (``ZohoCRM.modules.leads.READ``)? ``X.ALL``
    covers every operation under X, and ``ZohoCRM.modules.ALL`` / ``ZohoCRM.settings.ALL`` every
    module or setting."""
    have = {s.lower() for s in scopes}
    needed = needed.lower()
    parts = needed.split(".")
    for cut in range(2, len(parts)):
        if ".".join(parts[:cut]) + ".all" in have:
            return True
    return needed in have


class Auth:
    def __init__(self, clock: Callable[[], datetime], client_id: str, client_secret: str) -> None:
        self.clock = clock
        self.client_id, self.client_secret = client_id, client_secret
        self.ttl = 3600
        self.mint_limit = 10
        self._lock = threading.Lock()
        self.grants: dict[str, Grant] = {}
        self.tokens: dict[str, Access] = {}

    def issue(self, user_id: str, scopes: list[str] | None = None, client_id: str | None = None) -> str:
        """A new refresh token (as the consent screen or a self client gives one)."""
        token = f"1000.{_hex(32)}.{_hex(32)}"
        with self._lock:
            self.grants[token] = Grant(
                token, client_id or self.client_id, user_id, list(ALL_SCOPES if scopes is None else scopes)
            )
        return token

    def revoke(self, refresh_token: str) -> None:
        with self._lock:
            grant = self.grants.pop(refresh_token, None)
            for access in list(grant.live if grant else []):
                self.tokens.pop(access, None)

    def expire_all(self) -> None:
        with self._lock:
            for access in self.tokens.values():
                access.expires = self.clock()

    def token(self, params: dict[str, str], api_domain: str) -> tuple[int, JSON]:
        """``POST /oauth/v2/token``: (HTTP status, body) as Zoho Accounts answers."""
        grant_type = params.get("grant_type", "")
        if grant_type != "refresh_token":
            return 200, {"error": "unsupported_grant_type" if grant_type else "invalid_code"}
        if params.get("client_id") != self.client_id:
            return 200, {"error": "invalid_client"}
        if params.get("client_secret") != self.client_secret:
            return 200, {"error": "invalid_client_secret"}
        now = self.clock()
        with self._lock:
            grant = self.grants.get(params.get("refresh_token", ""))
            if grant is None or grant.client_id != params["client_id"]:
                return 200, {"error": "invalid_code"}
            while grant.mints and grant.mints[0] <= now - MINT_WINDOW:
                grant.mints.popleft()
            if len(grant.mints) >= self.mint_limit:
                return 400, {
                    "error_description": "You have made too many requests continuously. "
                    "Please try again after some time.",
                    "error": "Access Denied",
                    "status": "failure",
                }
            grant.mints.append(now)
            access = f"1000.{_hex(32)}.{_hex(32)}"
            self.tokens[access] = Access(grant, now + timedelta(seconds=self.ttl))
            grant.live.append(access)
            if len(grant.live) > LIVE_TOKENS:
                self.tokens.pop(grant.live.popleft(), None)
        return 200, {
            "access_token": access,
            "scope": " ".join(grant.scopes),
            "api_domain": api_domain,
            "token_type": "Bearer",
            "expires_in": self.ttl,
        }

    def authenticate(self, header: str | None) -> Grant:
        """The grant behind ``Authorization: Zoho-oauthtoken <token>``, or Zoho's 401."""
        if not header:
            raise ZohoError(401, "AUTHENTICATION_FAILURE", "Authentication failed")
        scheme, _, value = header.strip().partition(" ")
        with self._lock:
            access = self.tokens.get(value.strip()) if scheme == "Zoho-oauthtoken" else None
            if access is None or access.expires <= self.clock():
                raise ZohoError(401, "INVALID_TOKEN", "invalid oauth token")
            return access.grant

    @staticmethod
    def require(grant: Grant, *needed: str) -> None:
        """401 ``OAUTH_SCOPE_MISMATCH`` unless the token reaches one of ``needed``."""
        if not any(scope_ok(grant.scopes, n) for n in needed):
            raise ZohoError(401, "OAUTH_SCOPE_MISMATCH", "invalid oauth scope to access this URL")
