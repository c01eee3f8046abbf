"""Signing in to Zoho CRM: the OAuth 2.0 refresh-token flow, for every data centre.

A Zoho client (a Self Client or a server-based client from https://api-console.zoho.com) and a
refresh token minted once by an admin give access tokens that live an hour:
``POST {accounts}/oauth/v2/token`` with ``grant_type=refresh_token``
(https://www.zoho.com/accounts/protocol/oauth/web-apps/access-token-expiry.html). Zoho lets a
refresh token mint only **10 access tokens in 10 minutes**, so the token is cached — in memory
and, with the ``token_cache`` option, in a file (mode 0600) so that ``leadsync check``, ``run
--once`` from cron and restarts reuse it — and minted again only about five minutes before it
expires, or once when Zoho says ``INVALID_TOKEN``; never per request.

Zoho answers a refused refresh with HTTP 200 and ``{"error": "invalid_code"}``: any answer
without ``access_token`` is a refusal. The secrets (client secret, refresh token, access token)
are only held as ``SecretStr`` and never logged.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import requests
import structlog
from pydantic import SecretStr

from leadsync.api import (
    SYSTEM_CLOCK,
    AuthError,
    Clock,
    QuotaExhausted,
    TransientError,
    network_error,
    response_object,
)

__all__ = [
    "DATA_CENTERS",
    "ENVIRONMENTS",
    "AccessToken",
    "Endpoints",
    "OAuthClient",
    "TokenKeeper",
    "ZohoSetupError",
    "endpoints",
]

log = structlog.get_logger("leadsync.zoho.auth")

# data centre → (accounts server, API domain without the host prefix). Zoho's multi-DC page
# (https://www.zoho.com/crm/developer/docs/api/v8/multi-dc.html) and the official SDK's dc/*.py.
DATA_CENTERS: dict[str, tuple[str, str]] = {
    "com": ("https://accounts.zoho.com", "zohoapis.com"),
    "eu": ("https://accounts.zoho.eu", "zohoapis.eu"),
    "in": ("https://accounts.zoho.in", "zohoapis.in"),
    "com.au": ("https://accounts.zoho.com.au", "zohoapis.com.au"),
    "jp": ("https://accounts.zoho.jp", "zohoapis.jp"),
    "ca": ("https://accounts.zohocloud.ca", "zohoapis.ca"),
    "com.cn": ("https://accounts.zoho.com.cn", "zohoapis.com.cn"),
    "sa": ("https://accounts.zoho.sa", "zohoapis.sa"),
    "uk": ("https://accounts.zoho.uk", "zohoapis.uk"),
}
ALIASES = {"us": "com", "au": "com.au", "cn": "com.cn"}
# environment → the API host's first label (the accounts server is the same for all three)
ENVIRONMENTS = {"production": "www", "sandbox": "sandbox", "developer": "developer"}
REFRESH_BEFORE = timedelta(minutes=5)
MINT_WINDOW = timedelta(minutes=10)

_HINTS = {
    "invalid_code": "the refresh token is wrong, revoked, or from another data centre: mint a new one "
    "(adapters/zoho/README.md §2) and check `data_center`",
    "invalid_client": "`client_id` or the client secret is wrong, or the client belongs to another data "
    "centre (api-console.zoho.com of the right region)",
    "invalid_client_secret": "the client secret does not match `client_id`",
    "access denied": "Zoho refuses more tokens for now (10 per 10 minutes per refresh token)",
}


class ZohoSetupError(AuthError):
    """A refusal only an admin can fix (a bad refresh token, a missing scope): an ``AuthError``,
    as HubSpot's and Salesforce's refused credentials are. The daemon stops this connection's job
    instead of retrying it; a one-off command says "authentication failed" and exits 3 (README,
    exit status). The message names the fix."""


@dataclass(frozen=True)
class Endpoints:
    """Where to mint tokens and where to call the API (``api_url`` None: the token's api_domain)."""

    accounts_url: str
    api_url: str | None
    default_api_url: str


def endpoints(
    data_center: str = "com",
    environment: str = "production",
    accounts_url: str | None = None,
    api_url: str | None = None,
) -> Endpoints:
    """The URLs for a data centre and environment; explicit URLs (a local sandbox) win."""
    dc = ALIASES.get(data_center, data_center)
    if dc not in DATA_CENTERS:
        raise ValueError(f"unknown data centre {data_center!r} (one of {', '.join(DATA_CENTERS)})")
    if environment not in ENVIRONMENTS:
        raise ValueError(f"unknown environment {environment!r} (one of {', '.join(ENVIRONMENTS)})")
    accounts, domain = DATA_CENTERS[dc]
    default_api = f"https://{ENVIRONMENTS[environment]}.{domain}"
    return Endpoints(
        (accounts_url or accounts).rstrip("/"),
        api_url.rstrip("/") if api_url else None,
        default_api,
    )


@dataclass(frozen=True)
class OAuthClient:
    client_id: str
    client_secret: SecretStr
    refresh_token: SecretStr

    def __repr__(self) -> str:
        return f"OAuthClient(client_id={self.client_id!r})"


@dataclass(frozen=True)
class AccessToken:
    value: SecretStr
    api_domain: str
    expires_at: datetime
    scopes: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"AccessToken(api_domain={self.api_domain!r}, expires_at={self.expires_at.isoformat()})"


class TokenKeeper:
    """The current access token: cached, refreshed ahead of expiry, minted under a lock."""

    def __init__(
        self,
        client: OAuthClient,
        where: Endpoints,
        http: requests.Session,
        *,
        timeout: float = 30.0,
        cache_file: str | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.client = client
        self.where = where
        self.http = http
        self.timeout = timeout
        self.connect_timeout: float | None = None  # the client's retry policy's, when it has one
        self.cache_file = Path(cache_file) if cache_file else None
        self.clock = clock
        self.mints = 0
        self._token: AccessToken | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"TokenKeeper({self.client!r}, accounts={self.where.accounts_url!r})"

    def token(self) -> AccessToken:
        """A token with more than five minutes left (minted only when there is none)."""
        with self._lock:
            if self._token is None:
                self._token = self._load()
            if self._token is None or self.clock.now() >= self._token.expires_at - REFRESH_BEFORE:
                self._token = self._mint()
            return self._token

    def invalidate(self, rejected: AccessToken) -> None:
        """Zoho rejected this token (INVALID_TOKEN): the next ``token()`` mints one, once."""
        with self._lock:
            if self._token is not None and self._token.value == rejected.value:
                self._token = None
                self._forget()

    # -- minting --------------------------------------------------------------------------------

    def _mint(self) -> AccessToken:
        url = f"{self.where.accounts_url}/oauth/v2/token"
        form = {
            "grant_type": "refresh_token",
            "client_id": self.client.client_id,
            "client_secret": self.client.client_secret.get_secret_value(),
            "refresh_token": self.client.refresh_token.get_secret_value(),
        }
        try:
            # The form body, as RFC 6749 §6 says and Zoho accepts; secrets stay out of URLs and logs.
            timeout = (self.connect_timeout, self.timeout) if self.connect_timeout else self.timeout
            response = self.http.post(url, data=form, timeout=timeout)
        except requests.RequestException as exc:
            raise network_error(f"POST {url}: {type(exc).__name__}", exc, url=url) from None
        self.mints += 1
        if response.status_code >= 500:
            raise TransientError(
                f"POST {url}: HTTP {response.status_code}", status=response.status_code, url=url
            )
        body = response_object(response)
        if not body.get("access_token"):
            raise self._refused(response.status_code, body, url)
        expires_in = float(body.get("expires_in") or 3600)
        token = AccessToken(
            SecretStr(str(body["access_token"])),
            str(body.get("api_domain") or self.where.default_api_url).rstrip("/"),
            self.clock.now() + timedelta(seconds=expires_in),
            tuple(str(body.get("scope") or "").replace(",", " ").split()),
        )
        log.info("zoho_token_minted", api_domain=token.api_domain, expires_in=int(expires_in))
        self._store(token)
        return token

    def _refused(self, status: int, body: dict[str, Any], url: str) -> Exception:
        error = str(body.get("error") or f"HTTP {status}")
        text = str(body.get("error_description") or "")
        if error.lower() == "access denied" or "too many requests" in text.lower():
            return QuotaExhausted(
                f"Zoho refuses to mint more access tokens for now ({error}: {text}); it allows 10 per "
                "10 minutes per refresh token",
                resume_at=self.clock.now() + MINT_WINDOW,
                status=status,
                url=url,
            )
        hint = next((h for k, h in _HINTS.items() if k == error.lower()), "")
        message = f"Zoho refused the refresh token sign-in (token endpoint answered `{error}`)"
        message += f" ({text})" if text else ""
        message += f"; {hint}" if hint else "; check client_id, the client secret and the refresh token"
        # Zoho answers 200 with an error body; what the caller sees is a refused credential.
        return ZohoSetupError(
            message, status=status if status >= 400 else 401, url=url, body=json.dumps(body)
        )

    # -- the optional file cache ----------------------------------------------------------------

    def _key(self) -> str:
        raw = "|".join(
            (self.where.accounts_url, self.client.client_id, self.client.refresh_token.get_secret_value())
        )
        return hashlib.sha256(raw.encode()).hexdigest()[:24]

    def _load(self) -> AccessToken | None:
        if self.cache_file is None or not self.cache_file.is_file():
            return None
        try:
            entry = json.loads(self.cache_file.read_text(encoding="utf-8")).get(self._key())
            if not entry:
                return None
            token = AccessToken(
                SecretStr(entry["token"]),
                entry["api_domain"],
                datetime.fromisoformat(entry["expires_at"]),
                tuple(entry.get("scopes") or ()),
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        return token if self.clock.now() < token.expires_at - REFRESH_BEFORE else None

    def _store(self, token: AccessToken | None) -> None:
        if self.cache_file is None:
            return
        entry = None
        if token is not None:
            entry = {
                "token": token.value.get_secret_value(),
                "api_domain": token.api_domain,
                "expires_at": token.expires_at.isoformat(),
                "scopes": list(token.scopes),
            }
        data = {self._key(): entry} if entry else {}
        temp = self.cache_file.with_name(f".{self.cache_file.name}.{os.getpid()}.{time.monotonic_ns()}")
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out)
            os.replace(temp, self.cache_file)
        except OSError as exc:
            log.warning("zoho_token_cache_unwritable", file=str(self.cache_file), error=exc.strerror)

    def _forget(self) -> None:
        if self.cache_file is not None and self.cache_file.is_file():
            self._store(None)
