"""Every HubSpot API call leadsync makes, through hubspot-api-client, paced, retried, translated.

Errors are mapped by status in ``errors.py``. The client's own urllib3 retries are off (they skip
POSTs and raise MaxRetryError, see HubSpot/hubspot-api-python#117): ``leadsync.api.with_retries``
is the one retry policy, and ``ratelimit.RateLimiter`` paces every call before it is made. Each
property access on the client (``client.crm.objects.batch_api``) builds a new ApiClient and
connection pool, so the API objects are built once here. Responses are read as raw JSON
(``_preload_content=False``): it keeps HubSpot's rate-limit headers, tolerates fields the generated
models would reject, and skips model building for thousands of records.

One client serves several threads (the adapter's fan-out, the sync loop's reader): the API objects
and their urllib3 pools are shared (urllib3 pools are thread-safe; the generated ApiClient keeps
no per-call state that matters), the limiter takes a lock. Near the end of the daily quota calls
go one at a time (``careful``), and once HubSpot has said the quota is used up, no thread sends
another call before it resets: each would only be refused again.
"""

from __future__ import annotations

import contextlib
import email.utils
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, time, timedelta
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

import structlog
import urllib3
from hubspot import HubSpot
from hubspot.crm import objects as hs_objects
from hubspot.crm import properties as hs_properties
from hubspot.crm.associations import v4 as hs_assoc
from pydantic import SecretStr

from leadsync.api import (
    JSON,
    SYSTEM_CLOCK,
    AuthError,
    Clock,
    CrmError,
    QuotaExhausted,
    RetryPolicy,
    TransientError,
    json_object,
    network_error,
    with_retries,
)

from .errors import MaybeSent, error_for, maybe_carried_out, parse_float
from .paging import SearchRequest
from .ratelimit import RateLimiter

__all__ = ["JSON", "HubSpotClient"]

log = structlog.get_logger("leadsync.hubspot")


class HubSpotClient:
    """HubSpot's REST API as leadsync uses it: JSON in, JSON out, connector errors on failure."""

    def __init__(
        self,
        base_url: str,
        token: SecretStr,
        *,
        limiter: RateLimiter,
        retry: RetryPolicy | None = None,
        account_timezone: ZoneInfo | None = None,
        timeout: float = 30.0,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.limiter = limiter
        self.clock = clock
        self.retry = retry or RetryPolicy(clock=clock)
        self.tz = account_timezone or ZoneInfo("UTC")
        self.timeout = timeout
        # (connect, read): an unreachable HubSpot fails at connect within the policy's budget.
        self._timeouts = (self.retry.connect_timeout, timeout)
        self.calls = 0
        self._local = threading.local()  # per thread: the Date of its last answer (server_time_ms)
        self._lock = threading.Lock()
        self._serial = threading.Lock()  # held by each call while the daily quota runs low
        self._exhausted: QuotaExhausted | None = None
        # retry=False: urllib3 neither retries nor wraps errors in MaxRetryError.
        self._hs = HubSpot(access_token=token.get_secret_value(), host=self.base_url, retry=False)

    def __repr__(self) -> str:
        return f"HubSpotClient(base_url={self.base_url!r})"

    # -- API objects, built once ----------------------------------------------------------------

    @cached_property
    def _batch(self) -> Any:
        return self._hs.crm.objects.batch_api

    @cached_property
    def _search(self) -> Any:
        return self._hs.crm.objects.search_api

    @cached_property
    def _assoc(self) -> Any:
        return self._hs.crm.associations.v4.batch_api

    @cached_property
    def _owners(self) -> Any:
        return self._hs.crm.owners.owners_api

    @cached_property
    def _props(self) -> Any:
        return self._hs.crm.properties.core_api

    @cached_property
    def _groups(self) -> Any:
        return self._hs.crm.properties.groups_api

    # -- the one way a call is made ------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        fn: Callable[..., Any],
        *args: Any,
        search: bool = False,
        resend: bool = True,
        **kwargs: Any,
    ) -> tuple[int, JSON]:
        """``fn(*args, **kwargs)`` paced, retried and translated; (status, JSON body).

        ``resend=False`` for a call that must not be repeated blindly (a create): a failure HubSpot
        may have carried out is raised as ``MaybeSent``, not retried; 429s are still retried.
        """
        url = self.base_url + path

        def attempt() -> tuple[int, JSON]:
            self._refuse_when_exhausted(method, url)
            with self._serial if self.careful() else contextlib.nullcontext():
                self._refuse_when_exhausted(method, url)
                try:
                    return send()
                except TransientError as exc:
                    if resend or not maybe_carried_out(exc):
                        raise
                    raise MaybeSent(
                        f"{exc} (it may have been carried out, so it was not sent again)",
                        status=exc.status,
                        url=exc.url,
                        body=exc.body,
                    ) from None

        def send() -> tuple[int, JSON]:
            self.limiter.acquire(search=search)
            with self._lock:
                self.calls += 1
            try:
                raw = fn(*args, _preload_content=False, _request_timeout=self._timeouts, **kwargs)
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                raise network_error(f"{method} {url}: {type(exc).__name__}: {exc}", exc, url=url) from None
            except Exception as exc:
                status = getattr(exc, "status", None)
                if not isinstance(status, int):
                    raise
                headers = dict(getattr(exc, "headers", None) or {})
                body = getattr(exc, "body", None)
                text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
                if status != 429:  # a 429's headers say "0 remaining": the retry waits instead
                    self.limiter.update_from_headers(headers)
                error = self.error(status, text, headers, method, url, search=search)
                if isinstance(error, QuotaExhausted):
                    self._exhausted = error
                raise error from None
            try:
                data = raw.data
            finally:
                raw.release_conn()
            self.limiter.update_from_headers(dict(raw.headers))
            self._local.server_ms = _date_ms(raw.headers.get("Date"))
            log.debug("hubspot_call", method=method, path=path, status=raw.status)
            return int(raw.status), json_object(data.decode("utf-8", "replace") if data else "")

        return with_retries(attempt, self.retry)

    def server_time_ms(self) -> int | None:
        """HubSpot's time when it answered this thread's last call (its ``Date`` header, to the
        second, so never later than the answer), or None when it sent none."""
        return getattr(self._local, "server_ms", None)

    def careful(self) -> bool:
        """Whether calls should go one at a time: the daily quota is nearly or wholly used up."""
        return self._exhausted is not None or self.limiter.daily_low()

    def _refuse_when_exhausted(self, method: str, url: str) -> None:
        """Raise, without calling, while the daily quota HubSpot said was used up has not reset."""
        exhausted = self._exhausted
        if exhausted is None:
            return
        if exhausted.resume_at is not None and self.clock.now() >= exhausted.resume_at:
            self._exhausted = None
            return
        raise QuotaExhausted(
            f"HubSpot's daily API quota is used up (not sent: {method} {url}); leadsync resumes at "
            f"{exhausted.resume_at}",
            resume_at=exhausted.resume_at,
            status=429,
            url=url,
            body=exhausted.body,
        )

    def call_or_404(
        self, method: str, path: str, fn: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> JSON | None:
        """Like ``call``, but None when HubSpot answers 404."""
        try:
            return self.call(method, path, fn, *args, **kwargs)[1]
        except CrmError as exc:
            if exc.status == 404 and not isinstance(exc, AuthError):
                return None
            raise

    def error(
        self,
        status: int,
        body: str,
        headers: Mapping[str, str],
        method: str,
        url: str,
        *,
        search: bool = False,
    ) -> CrmError:
        """The connector error for one HubSpot error response."""
        retry_after = parse_float(headers.get("Retry-After") or headers.get("retry-after"))
        policy = str(json_object(body).get("policyName") or "") if status == 429 else ""
        if status == 429 and policy != "DAILY":
            if policy == "TEN_SECONDLY_ROLLING":
                retry_after = self.limiter.window_frees_in()
            elif policy == "SECONDLY" or "secondly limit" in body or (search and not policy):
                retry_after = self.limiter.window_frees_in(search=True)
        return error_for(status, body, method, url, retry_after=retry_after, resume_at=self.next_midnight())

    def next_midnight(self) -> datetime:
        """When HubSpot's daily quota resets: midnight in the account's time zone."""
        now = self.clock.now().astimezone(self.tz)
        return datetime.combine(now.date() + timedelta(days=1), time(0), tzinfo=self.tz)

    # -- CRM objects ---------------------------------------------------------------------------

    def search(self, object_type: str, request: SearchRequest) -> JSON:
        """One page of ``POST /crm/v3/objects/{type}/search``."""
        body = hs_objects.PublicObjectSearchRequest(
            filter_groups=[
                hs_objects.FilterGroup(
                    filters=[
                        hs_objects.Filter(
                            property_name=f.property,
                            operator=f.operator,
                            **({"values": list(f.values)} if f.values else {"value": f.value}),
                        )
                        for f in group
                    ]
                )
                for group in request.groups
            ],
            # The model types sorts as list[str]; HubSpot takes sort objects, serialised as given.
            sorts=[{"propertyName": request.sort, "direction": request.direction}],
            properties=list(request.properties),
            limit=request.limit,
            after=request.after,
        )
        path = f"/crm/v3/objects/{object_type}/search"
        return self.call("POST", path, self._search.do_search, object_type, body, search=True)[1]

    def batch_read(
        self, object_type: str, ids: Sequence[str], properties: Sequence[str], history: Sequence[str] = ()
    ) -> list[JSON]:
        """``POST /crm/v3/objects/{type}/batch/read`` (≤100 ids, ≤50 with history); found records."""
        body = hs_objects.BatchReadInputSimplePublicObjectId(
            inputs=[hs_objects.SimplePublicObjectId(id=i) for i in ids],
            properties=list(properties),
            properties_with_history=list(history),
        )
        path = f"/crm/v3/objects/{object_type}/batch/read"
        data = self.call("POST", path, self._batch.read, object_type, body)[1]
        return list(data.get("results") or [])

    def batch_update(
        self, object_type: str, inputs: Sequence[tuple[str, Mapping[str, str]]]
    ) -> tuple[int, JSON]:
        """``POST /crm/v3/objects/{type}/batch/update`` (≤100); 200, or 207 with per-record errors."""
        body = hs_objects.BatchInputSimplePublicObjectBatchInput(
            inputs=[hs_objects.SimplePublicObjectBatchInput(id=i, properties=dict(p)) for i, p in inputs]
        )
        path = f"/crm/v3/objects/{object_type}/batch/update"
        return self.call("POST", path, self._batch.update, object_type, body)

    def batch_create(
        self, object_type: str, inputs: Sequence[tuple[str, Mapping[str, str], tuple[str, int]]]
    ) -> tuple[int, JSON]:
        """``POST /crm/v3/objects/{type}/batch/create`` (≤100) of ``(trace id, properties, (contact
        id, association type))``: each record associated to one contact with a HUBSPOT_DEFINED
        type, tagged ``objectWriteTraceId`` so results and errors name their input. 201, or 207
        with per-record errors. Never sent twice blindly (``MaybeSent``)."""
        body = hs_objects.BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[
                hs_objects.SimplePublicObjectBatchInputForCreate(
                    object_write_trace_id=trace,
                    properties=dict(properties),
                    associations=[
                        hs_objects.PublicAssociationsForObject(
                            to=hs_objects.PublicObjectId(id=contact_id),
                            types=[
                                hs_objects.AssociationSpec(
                                    association_category="HUBSPOT_DEFINED", association_type_id=type_id
                                )
                            ],
                        )
                    ],
                )
                for trace, properties, (contact_id, type_id) in inputs
            ]
        )
        path = f"/crm/v3/objects/{object_type}/batch/create"
        return self.call("POST", path, self._batch.create, object_type, body, resend=False)

    def associations(self, from_type: str, to_type: str, inputs: Sequence[tuple[str, str | None]]) -> JSON:
        """``POST /crm/v4/associations/{from}/{to}/batch/read`` (≤1000 ids, each with its `after`)."""
        body = hs_assoc.BatchInputPublicFetchAssociationsBatchRequest(
            inputs=[hs_assoc.PublicFetchAssociationsBatchRequest(id=i, after=a) for i, a in inputs]
        )
        path = f"/crm/v4/associations/{from_type}/{to_type}/batch/read"
        return self.call("POST", path, self._assoc.get_page, from_type, to_type, body)[1]

    # -- owners, properties, account -----------------------------------------------------------

    def owners_page(self, after: str | None, archived: bool, limit: int = 100) -> JSON:
        """``GET /crm/v3/owners/``: one page of active (or archived) owners."""
        # The client would send Python's "False"; the API's schema says boolean (found by Prism).
        kwargs: JSON = {"limit": limit, "archived": "true" if archived else "false"}
        if after:
            kwargs["after"] = after
        return self.call("GET", "/crm/v3/owners/", self._owners.get_page, **kwargs)[1]

    def list_properties(self, object_type: str) -> list[JSON]:
        """``GET /crm/v3/properties/{type}``: every property definition of an object type."""
        path = f"/crm/v3/properties/{object_type}"
        return list(self.call("GET", path, self._props.get_all, object_type)[1].get("results") or [])

    def get_property(self, object_type: str, name: str) -> JSON | None:
        path = f"/crm/v3/properties/{object_type}/{name}"
        return self.call_or_404("GET", path, self._props.get_by_name, object_type, name)

    def create_property(self, object_type: str, spec: JSON) -> JSON:
        body = hs_properties.PropertyCreate(
            name=spec["name"],
            label=spec["label"],
            type=spec["type"],
            field_type=spec["fieldType"],
            group_name=spec["groupName"],
            description=spec.get("description"),
            form_field=spec.get("formField", False),
            has_unique_value=spec.get("hasUniqueValue"),
            options=[_option(o) for o in spec.get("options", [])] or None,
        )
        path = f"/crm/v3/properties/{object_type}"
        return self.call("POST", path, self._props.create, object_type, body)[1]

    def update_options(self, object_type: str, name: str, options: Sequence[JSON]) -> JSON:
        """PATCH a property's options (HubSpot replaces the whole list)."""
        body = hs_properties.PropertyUpdate(options=[_option(o) for o in options])
        path = f"/crm/v3/properties/{object_type}/{name}"
        return self.call("PATCH", path, self._props.update, object_type, name, body)[1]

    def get_group(self, object_type: str, name: str) -> JSON | None:
        path = f"/crm/v3/properties/{object_type}/groups/{name}"
        return self.call_or_404("GET", path, self._groups.get_by_name, object_type, name)

    def create_group(self, object_type: str, name: str, label: str) -> JSON:
        body = hs_properties.PropertyGroupCreate(name=name, label=label, display_order=-1)
        path = f"/crm/v3/properties/{object_type}/groups"
        return self.call("POST", path, self._groups.create, object_type, body)[1]

    def account_details(self) -> JSON | None:
        """``GET /account-info/v3/details`` (portal id, time zone), None when not available."""
        api_client = self._owners.api_client

        def fetch(**kwargs: Any) -> Any:
            return api_client.call_api(
                "/account-info/v3/details", "GET", auth_settings=["oauth2"], response_types_map={},
                header_params={"Accept": "application/json"}, _return_http_data_only=True, **kwargs,
            )  # fmt: skip

        try:
            return self.call_or_404("GET", "/account-info/v3/details", fetch)
        except CrmError as exc:  # a token without access to account info is still a good token
            if exc.status == 401 or isinstance(exc, QuotaExhausted) or exc.status is None:
                raise
            return None


def _option(o: Mapping[str, Any]) -> Any:
    return hs_properties.OptionInput(
        label=o["label"],
        value=o["value"],
        display_order=o.get("displayOrder", 0),
        hidden=o.get("hidden", False),
    )


def _date_ms(value: str | None) -> int | None:
    """An HTTP date (``Sun, 22 Nov 2026 08:30:00 GMT``) in epoch milliseconds; None if unreadable."""
    if not value:
        return None
    try:
        return int(email.utils.parsedate_to_datetime(value).timestamp() * 1000)
    except (TypeError, ValueError):
        return None
