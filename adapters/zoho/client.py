"""Every Zoho CRM call leadsync makes: ``requests``, signed in, capped, budgeted, retried, translated.

    status / code                          becomes
    200 201 202 207                        the parsed body
    204 304                                no body (None; never ``.json()``-ed)
    400 with ``data[]`` (every record      the parsed body: the caller reads each record's code
      of a write refused)
    401 INVALID_TOKEN                      mint a token once and repeat the call
    OAUTH_SCOPE_MISMATCH                   ZohoSetupError naming the scopes to grant
    401, 403 (other codes)                 AuthError
    429 TOO_MANY_REQUESTS (either shape)   RateLimited (the one retry policy backs off); still
                                           refused after the policy gives up, or "24 hours" in
                                           the text: QuotaExhausted, the job resumes an hour later
    5xx, a dropped connection, a timeout   TransientError (retried)
    other                                  CrmError with Zoho's code, message and body

**Zoho's clock.** Every answer's ``Date`` header is Zoho's time; the client keeps how far this
machine's clock is from it (``skew``) and ``zoho_now()`` is the local clock corrected by it, so
that watermarks compared with Zoho's ``Modified_Time`` are on Zoho's clock (a daemon whose clock
runs ahead would otherwise ask for edits "since" a time Zoho has not reached, and never read
them). A skew over ``SKEW_WARNING`` is logged (``zoho_clock_skew``) once per change of a minute.

``X-API-CREDITS-REMAINING`` (sent once half the org's daily credits are used) is remembered;
at or below ``credit_floor`` every call raises ``QuotaExhausted`` before it is sent, so the
credits other integrations need are left alone. At most ``concurrency`` calls are in flight
(Zoho caps concurrent calls per app and org: 5 on Free, 10 Standard, 15 Professional, 20
Enterprise). https://www.zoho.com/crm/developer/docs/api/v8/api-limits.html
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import requests
import structlog

from leadsync.api import (
    JSON,
    SYSTEM_CLOCK,
    AuthError,
    Clock,
    CrmError,
    QuotaExhausted,
    RateLimited,
    RetryPolicy,
    TransientError,
    network_error,
    trust_ca,
    with_retries,
)

from .auth import AccessToken, TokenKeeper, ZohoSetupError

__all__ = ["API_PATH", "Answer", "ZohoClient", "error_code"]

API_PATH = "/crm/v8"
RETRY_LATER = timedelta(hours=1)
CREDITS_HEADER = "X-API-CREDITS-REMAINING"
SKEW_WARNING = timedelta(minutes=1)  # a clock further from Zoho's than this is logged
log = structlog.get_logger("leadsync.zoho.client")


@dataclass(frozen=True)
class Answer:
    status: int
    body: JSON | None
    headers: Mapping[str, str] = field(default_factory=dict)


class _TokenRejected(AuthError):
    """401 INVALID_TOKEN: mint a new token and repeat the call once."""


def error_code(body: Any) -> tuple[str, str]:
    """(code, message) of a Zoho error body, in either shape Zoho uses.

    v8: ``{"code": "TOO_MANY_REQUESTS", "message": …}``; older: ``{"code": 429, "error":
    "TOO_MANY_REQUESTS", "error_info": …}``.
    """
    if not isinstance(body, dict):
        return "", ""
    code = body.get("code")
    if not isinstance(code, str) or code.isdigit():
        code = body.get("error") or (str(code) if code is not None else "")
    message = body.get("message") or body.get("error_info") or body.get("error_description") or ""
    return str(code), str(message)


class ZohoClient:
    """One Zoho CRM org, as the user the refresh token belongs to."""

    def __init__(
        self,
        keeper: TokenKeeper,
        *,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        ca_file: str | None = None,
        concurrency: int = 4,
        credit_floor: int = 1000,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.keeper = keeper
        self.clock = clock
        self.retry = retry or RetryPolicy(clock=clock)
        self.timeout = timeout
        # (connect, read): an unreachable org fails at connect within the policy's budget.
        self.timeouts = (self.retry.connect_timeout, timeout)
        keeper.connect_timeout = self.retry.connect_timeout
        self.http = keeper.http
        if ca_file:
            trust_ca(self.http, ca_file)
        self.concurrency = concurrency
        self.credit_floor = credit_floor
        self.calls = 0
        self.credits_remaining: int | None = None
        self._slots = threading.BoundedSemaphore(concurrency)
        self._count = threading.Lock()
        self.skew: timedelta | None = None  # Zoho's clock less this machine's, from the last Date
        self._warned: int | None = None  # the skew (whole minutes) last warned about

    def __repr__(self) -> str:
        return f"ZohoClient({self.keeper!r}, concurrency={self.concurrency})"

    def base_url(self, token: AccessToken) -> str:
        """The API base: an explicit ``api_url`` (a local sandbox), else the token's api_domain."""
        return (self.keeper.where.api_url or token.api_domain) + API_PATH

    # -- calls ----------------------------------------------------------------------------------

    def get(self, path: str, params: Mapping[str, Any] | None = None, **kw: Any) -> JSON | None:
        return self.request("GET", path, params=params, **kw).body

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        """``method {api}/crm/v8{path}``: signed in, retried, and translated (module docstring)."""
        what = f"{method} {path}"

        def attempt() -> Answer:
            try:
                return self._once(method, path, params, body, headers)
            except _TokenRejected:
                log.info("zoho_token_rejected", call=what)
                return self._once(method, path, params, body, headers, retried=True)

        try:
            return with_retries(attempt, self.retry)
        except RateLimited as exc:  # the policy gave up: the day's credits, not the concurrency cap
            raise QuotaExhausted(
                f"Zoho kept answering TOO_MANY_REQUESTS to {what}: the org's API credits for the "
                "rolling 24 hours are likely used up",
                resume_at=self.clock.now() + RETRY_LATER,
                status=exc.status,
                url=exc.url,
                body=exc.body,
            ) from None

    def _once(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        body: Any,
        headers: Mapping[str, str] | None,
        *,
        retried: bool = False,
    ) -> Answer:
        self._check_credits()
        token = self.keeper.token()
        url = self.base_url(token) + path
        sent = {"Authorization": f"Zoho-oauthtoken {token.value.get_secret_value()}", **(headers or {})}
        with self._slots:
            with self._count:
                self.calls += 1
            try:
                response = self.http.request(
                    method, url, params=params, json=body, headers=sent, timeout=self.timeouts
                )
            except requests.RequestException as exc:
                raise network_error(f"{method} {path}: {type(exc).__name__}", exc, url=url) from None
        self._note_credits(response)
        self._note_date(response)
        status = response.status_code
        if status in (204, 304) or not response.content:
            return Answer(status, None, response.headers)
        parsed = _parse(response)
        if status < 300:
            return Answer(status, parsed, response.headers)
        if status == 400 and isinstance(parsed, dict) and isinstance(parsed.get("data"), list):
            return Answer(status, parsed, response.headers)  # every record of a write refused
        raise self._error(method, path, url, status, parsed, response.text, token, retried)

    def _error(
        self,
        method: str,
        path: str,
        url: str,
        status: int,
        parsed: Any,
        text: str,
        token: AccessToken,
        retried: bool,
    ) -> CrmError:
        code, message = error_code(parsed)
        what = f"{method} {path}: HTTP {status} {code}: {message}".rstrip(": ")
        kw: dict[str, Any] = {"status": status, "url": url, "body": text[:2000]}
        if code == "OAUTH_SCOPE_MISMATCH":
            return ZohoSetupError(
                f"{what}; the refresh token lacks a scope this call needs: mint a new one with "
                f"{' '.join(SCOPES)} (adapters/zoho/README.md §2)",
                **kw,
            )
        if status == 401 and code == "INVALID_TOKEN" and not retried:
            self.keeper.invalidate(token)
            return _TokenRejected(what, **kw)
        if status == 429 or code == "TOO_MANY_REQUESTS":
            if "24 hour" in message.lower():
                return QuotaExhausted(
                    f"Zoho's API credits for the rolling 24 hours are used up ({what})",
                    resume_at=self.clock.now() + RETRY_LATER,
                    **kw,
                )
            return RateLimited(what, **kw)
        if status in (401, 403):
            hint = " (the access token was refused again after minting a new one)" if retried else ""
            return AuthError(f"{what}{hint}; check the Zoho credentials and the user's profile", **kw)
        if status >= 500:
            return TransientError(what, **kw)
        return CrmError(what, **kw)

    # -- Zoho's clock ---------------------------------------------------------------------------

    def zoho_now(self) -> datetime:
        """Zoho's time now: this machine's clock corrected by the skew the last answer showed;
        before any answer, one call (``/org``) to learn it."""
        if self.skew is None:
            self.request("GET", "/org")
            if self.skew is None:  # an answer without a Date (a test double): the clocks agree
                self.skew = timedelta()
        return self.clock.now() + self.skew

    def _note_date(self, response: requests.Response) -> None:
        raw = response.headers.get("Date")
        if not raw:
            return
        try:
            zoho = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return
        if zoho.tzinfo is None:
            return
        local = self.clock.now()
        # The header has whole seconds: a skew under a second is none.
        skew = zoho - local.replace(microsecond=0)
        self.skew = skew if abs(skew) >= timedelta(seconds=2) else timedelta()
        minutes = int(self.skew.total_seconds() // 60)
        if abs(self.skew) > SKEW_WARNING and minutes != self._warned:
            self._warned = minutes
            log.warning(
                "zoho_clock_skew",
                skew_seconds=round(self.skew.total_seconds()),
                detail="this machine's clock is off Zoho's; watermarks follow Zoho's (its Date header)."
                " Fix the clock (NTP): token expiry and schedules still use it",
            )

    # -- credits --------------------------------------------------------------------------------

    def _note_credits(self, response: requests.Response) -> None:
        raw = response.headers.get(CREDITS_HEADER)
        if raw is not None and raw.strip().lstrip("-").isdigit():
            self.credits_remaining = int(raw.strip())

    def _check_credits(self) -> None:
        left = self.credits_remaining
        if left is not None and left <= self.credit_floor:
            raise QuotaExhausted(
                f"Zoho API credits: {left:,} left for the rolling 24 hours, and leadsync leaves "
                f"{self.credit_floor:,} to other integrations (option `credit_floor`)",
                resume_at=self.clock.now() + RETRY_LATER,
            )


# The scopes leadsync needs (adapters/zoho/README.md lists what each is for).
SCOPES = (
    "ZohoCRM.modules.leads.ALL",
    "ZohoCRM.modules.contacts.ALL",
    "ZohoCRM.modules.tasks.ALL",
    "ZohoCRM.modules.calls.READ",
    "ZohoCRM.modules.events.READ",
    "ZohoCRM.modules.notes.READ",
    "ZohoCRM.users.READ",
    "ZohoCRM.org.READ",
    "ZohoCRM.settings.fields.ALL",
)


def _parse(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return {"code": "NOT_JSON", "message": response.text[:300]}
