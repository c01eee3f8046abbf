"""Every Salesforce call leadsync makes, through ``simple_salesforce``: signed in, budgeted, retried.

- **Sign-in** (``auth``) happens on the first call; when Salesforce answers ``INVALID_SESSION_ID``
  the client signs in again and repeats that call once, with the same headers
  (simple-salesforce's own refresh drops extra headers such as ``Sforce-Auto-Assign`` and never
  works for a session it did not create).
- **API budget**: every REST response carries ``Sforce-Limit-Info: api-usage=used/max``, the
  org's rolling 24-hour count, shared by every integration. Before each call the client checks the
  last figure against ``budget`` (a share of the org's limit, default 0.8): at or above it — or
  when Salesforce answers ``REQUEST_LIMIT_EXCEEDED`` — the call raises ``QuotaExhausted``, the
  job stops cleanly and the daemon tries again an hour later, as requests age out of the window.
- **Errors** become the connector's: 401 ``AuthError``; 5xx, dropped connections and
  ``UNABLE_TO_LOCK_ROW`` ``TransientError`` (the one tenacity policy retries them); everything
  else ``CrmError`` with Salesforce's own body (``error_code`` reads its ``errorCode``).
- **Lost locators**: a batch the org served but whose answer was lost (a 502 from a proxy, a
  dropped connection) is retried, and the org may answer ``INVALID_QUERY_LOCATOR`` (it closed the
  locator once the last batch was read; locators also expire). ``query_pages`` then runs the query
  again from the start and skips the records (by ``Id``) it already gave, at most
  ``LOCATOR_RESTARTS`` times; ``LocatorLost`` escapes only a reader of child lists
  (``more_pages``), which re-runs its own query.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any, TypeVar

import requests
import structlog
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceError

from leadsync.api import (
    JSON,
    SYSTEM_CLOCK,
    AuthError,
    Clock,
    CrmError,
    QuotaExhausted,
    RetryPolicy,
    TransientError,
    network_error,
    trust_ca,
    with_retries,
)

from .auth import Credentials, Session, sign_in

__all__ = ["DEFAULT_API_VERSION", "LOCATOR_RESTARTS", "LocatorLost", "SalesforceClient", "error_code"]

DEFAULT_API_VERSION = "66.0"  # Spring '26; simple-salesforce's own default is 59.0
RETRY_LATER = timedelta(hours=1)
LOCATOR_RESTARTS = 3  # a query whose locator is lost runs again from the start, this many times
T = TypeVar("T")
log = structlog.get_logger("leadsync.salesforce.client")

_RETRYABLE_CODES = {"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "REQUEST_RUNNING_TOO_LONG"}
_QUOTA_CODES = {"REQUEST_LIMIT_EXCEEDED", "TXN_SECURITY_METERING_ERROR"}


class LocatorLost(CrmError):
    """400 INVALID_QUERY_LOCATOR: the query's next batch is gone; run the query again."""


def error_code(exc: CrmError) -> str:
    """Salesforce's ``errorCode`` in an error's body (``[{"errorCode", "message"}]``), or ''."""
    try:
        body = json.loads(exc.body or "")
    except ValueError:
        return ""
    first = body[0] if isinstance(body, list) and body else body
    return str(first.get("errorCode") or "") if isinstance(first, dict) else ""


class _SessionExpired(AuthError):
    """401 INVALID_SESSION_ID: sign in again and repeat the call."""


class SalesforceClient:
    """One org, as one signed-in user."""

    def __init__(
        self,
        creds: Credentials,
        *,
        api_version: str = DEFAULT_API_VERSION,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        ca_file: str | None = None,
        budget: float = 0.8,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.creds = creds
        self.api_version = api_version
        self.clock = clock
        self.retry = retry or RetryPolicy(clock=clock)
        self.timeout = timeout
        # (connect, read): an unreachable org fails at connect within the policy's budget.
        self.timeouts = (self.retry.connect_timeout, timeout)
        self.budget = budget
        self.http = requests.Session()
        if ca_file:
            trust_ca(self.http, ca_file)
        self._session: Session | None = None
        self._sf: Salesforce | None = None
        self.calls = 0
        self.usage: tuple[int, int] | None = None  # (used, max) as Salesforce last reported it

    def __repr__(self) -> str:
        return f"SalesforceClient({self.creds!r}, api_version={self.api_version!r})"

    # -- session --------------------------------------------------------------------------------

    @property
    def session(self) -> Session:
        if self._session is None:
            self._session = with_retries(lambda: sign_in(self.creds, self.http, self.timeouts), self.retry)
            self._sf = None
        return self._session

    def sf(self) -> Salesforce:
        session = self.session
        if self._sf is None:
            self._sf = Salesforce(
                instance_url=session.instance_url,
                session_id=session.access_token.get_secret_value(),
                version=self.api_version,
                session=self.http,
            )
        return self._sf

    def base_url(self) -> str:
        return f"{self.session.instance_url.rstrip('/')}/services/data/v{self.api_version}/"

    # -- calls ----------------------------------------------------------------------------------

    def call(self, what: str, fn: Callable[[Salesforce], T]) -> T:
        """``fn(sf)`` within the budget, signed in, retried and translated."""

        def attempt() -> T:
            try:
                return self._once(what, fn)
            except _SessionExpired:
                log.info("salesforce_session_expired", call=what)
                self._session = None
                return self._once(what, fn)

        return with_retries(attempt, self.retry)

    def _once(self, what: str, fn: Callable[[Salesforce], T]) -> T:
        self._check_budget()
        if self._session is None:
            # Signed in under this call's retries, not a second policy nested inside them (which
            # multiplied the attempts, and the time to give up on an org that cannot be reached).
            self._session = sign_in(self.creds, self.http, self.timeouts)
            self._sf = None
        sf = self.sf()
        self.calls += 1
        try:
            return fn(sf)
        except SalesforceError as exc:
            raise _translate(exc, what, self.clock.now()) from None
        except requests.RequestException as exc:
            raise network_error(f"{what}: {type(exc).__name__}: {exc}", exc) from None
        finally:
            self._note_usage(sf)

    def _note_usage(self, sf: Salesforce) -> None:
        usage = sf.api_usage.get("api-usage")
        if usage is not None:
            self.usage = (int(usage.used), int(usage.total))

    def _check_budget(self) -> None:
        if self.usage is None:
            return
        used, limit = self.usage
        if limit > 0 and used >= self.budget * limit:
            raise QuotaExhausted(
                f"Salesforce API budget reached: the org has used {used:,} of its {limit:,} daily API "
                f"requests and leadsync stops at {self.budget:.0%} (option `api_budget`)",
                resume_at=self.clock.now() + RETRY_LATER,
            )

    # -- REST -----------------------------------------------------------------------------------

    def rest(self, method: str, path: str, body: Any = None, headers: Mapping[str, str] | None = None) -> Any:
        """``method path`` under ``/services/data/vXX.X/``; the parsed JSON (None for 204)."""
        return self.call(
            f"{method} {path}",
            lambda sf: sf.restful(
                path, method=method, json=body, headers=dict(headers or {}), timeout=self.timeouts
            ),
        )

    def query_pages(
        self, soql: str, *, all_rows: bool = False, batch_size: int | None = None
    ) -> Iterator[list[JSON]]:
        """The records of a SOQL query, one ``nextRecordsUrl`` batch at a time; a lost locator
        runs the query again, skipping what was already given (module docstring)."""
        headers = {"Sforce-Query-Options": f"batchSize={batch_size}"} if batch_size else {}
        given: set[str] = set()
        count = 0  # records given, for rows without an Id (aggregates)
        for restart in range(LOCATOR_RESTARTS + 1):
            body: JSON = self.call(
                "query",
                lambda sf: sf.query(soql, include_deleted=all_rows, headers=headers, timeout=self.timeouts),
            )
            position = 0
            try:
                while True:
                    fresh = []
                    for record in body.get("records") or []:
                        rid = record.get("Id") if isinstance(record, dict) else None
                        position += 1
                        if (rid in given) if rid else position <= count:
                            continue
                        if rid:
                            given.add(str(rid))
                        count = max(count, position)
                        fresh.append(record)
                    if fresh or position == 0:
                        yield fresh
                    if body.get("done", True) or not body.get("nextRecordsUrl"):
                        return
                    body = self._more(str(body["nextRecordsUrl"]), headers)
            except LocatorLost:
                if restart == LOCATOR_RESTARTS:
                    raise
                log.warning("salesforce_query_restarted", reason="INVALID_QUERY_LOCATOR", given=len(given))

    def more_pages(self, result: JSON) -> Iterator[list[JSON]]:
        """The batches after ``result``'s own records, by its ``nextRecordsUrl``: also a parent's
        child list in a relationship query (read it before the parent query's next batch, which
        ends the child locators of the batch before)."""
        while not result.get("done", True) and result.get("nextRecordsUrl"):
            result = self._more(str(result["nextRecordsUrl"]), {})
            yield list(result.get("records") or [])

    def _more(self, url: str, headers: Mapping[str, str]) -> JSON:
        return dict(
            self.call(
                "query_more",
                lambda sf: sf.query_more(
                    url, identifier_is_url=True, headers=dict(headers), timeout=self.timeouts
                ),
            )
        )

    def query(self, soql: str, *, all_rows: bool = False) -> list[JSON]:
        return [r for page in self.query_pages(soql, all_rows=all_rows) for r in page]

    def describe(self, sobject: str) -> JSON | None:
        """``sobjects/X/describe``, or None when the object does not exist for this user."""
        try:
            return dict(self.rest("GET", f"sobjects/{sobject}/describe"))
        except CrmError as exc:
            if exc.status == 404:
                return None
            raise


def _translate(exc: SalesforceError, what: str, now: datetime) -> CrmError:
    status = int(getattr(exc, "status", 0) or 0)
    content = getattr(exc, "content", None)
    errors = content if isinstance(content, list) else [content] if isinstance(content, dict) else []
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    code = str(first.get("errorCode") or "")
    text = str(first.get("message") or "")
    body = json.dumps(content) if isinstance(content, list | dict) else str(content or "")
    url = str(getattr(exc, "url", "") or "")
    message = f"{what}: HTTP {status} {code}: {text}".rstrip(": ")
    if status == 401 and code == "INVALID_SESSION_ID":
        return _SessionExpired(message, status=status, url=url, body=body)
    if code == "INVALID_QUERY_LOCATOR":
        return LocatorLost(message, status=status, url=url, body=body)
    if code in _QUOTA_CODES:
        return QuotaExhausted(
            f"Salesforce's daily API request limit is used up ({code})",
            resume_at=now + RETRY_LATER,
            status=status,
            url=url,
            body=body,
        )
    if status == 401:
        return AuthError(message, status=status, url=url, body=body)
    if status >= 500 or code in _RETRYABLE_CODES:
        return TransientError(message, status=status, url=url, body=body)
    return CrmError(message, status=status, url=url, body=body)
