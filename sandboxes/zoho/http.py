"""HTTP front of the Zoho sandbox: the app a request reaches, its pipeline, the ``Call`` a handler
gets, and Zoho Accounts' token endpoint (the API's endpoints and the route table are the other
modules').

Pipeline for an API call (around ``kit.pipeline``'s): route → count → injected drop → 404/405
(``INVALID_URL_PATTERN``) → ``Zoho-oauthtoken`` (401 ``INVALID_TOKEN`` / ``OAUTH_SCOPE_MISMATCH``)
→ concurrency cap (429) → injected latency, 429 storm or 5xx → daily credits (429,
``X-API-CREDITS-REMAINING`` from half used) → handler, under the org's lock. ``POST
/oauth/v2/token`` (Zoho Accounts, on the same port) is not an API call. ``/__sandbox/*`` is the
back door (``backdoor``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from leadsync.sandboxes.kit.pipeline import ApiApp, Found
from leadsync.sandboxes.kit.routing import Call as KitCall
from leadsync.sandboxes.kit.routing import Route, parse_json
from leadsync.sandboxes.kit.server import Request, Response
from leadsync.sandboxes.zoho.auth import Auth, Grant
from leadsync.sandboxes.zoho.common import ZohoError, invalid_data
from leadsync.sandboxes.zoho.limits import ApiLimits, credits_for, too_many
from leadsync.sandboxes.zoho.pages import PageTokens
from leadsync.sandboxes.zoho.routing import Reply, route
from leadsync.sandboxes.zoho.store import Org

__all__ = ["ACCOUNTS_ROUTES", "BUCKETS", "Call", "ZohoApp", "server_error"]

BUCKETS = ("by_endpoint", "by_method", "by_status", "faults", "rate_limited", "token")
JSON_TYPE = "application/json;charset=utf-8"


def server_error(status: int) -> ZohoError:
    if status == 500:
        return ZohoError(500, "INTERNAL_ERROR", "Internal Server Error")
    reason = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}.get(status, "Error")
    html = f"<html><head><title>{status} {reason}</title></head><body><h1>{reason}</h1></body></html>"
    return ZohoError(status, body=html, headers={"Content-Type": "text/html"})


def _bad_json(exc: ValueError) -> ZohoError:
    return ZohoError(400, "INVALID_DATA", "body", {"expected_data_type": "jsonobject"})


@dataclass(kw_only=True)
class ZohoApp(ApiApp["Call"]):
    """What one server answers from: the CRM's state, and what its handlers reach."""

    org: Org
    auth: Auth
    limits: ApiLimits
    tokens: PageTokens
    server_name = "ZGS"  # Zoho's front end calls itself that in the Server header
    json_type = JSON_TYPE
    error = ZohoError

    def http_now(self) -> datetime:
        """Zoho's time, for the Date header (``kit.server``): the org's clock, skew and all."""
        return self.org.clock()

    def serve(
        self, request: Request, path: str, found: Found[Call], endpoint: str, headers: dict[str, str]
    ) -> Reply:
        plan = self.faults.plan(endpoint)
        self.drop_if_planned(plan)
        if found is None:
            if self.routes.methods(path):
                raise ZohoError(
                    405, "INVALID_REQUEST_METHOD", "The http request method type is not a valid one"
                )
            raise ZohoError(
                404, "INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one"
            )
        r, params = found
        call = Call(self, request, params)
        api = r.kind == "api"
        if api:
            call.grant = self.auth.authenticate(request.headers.get("Authorization"))
            needed = r.scopes(params)
            if needed:
                self.auth.require(call.grant, *needed)
            self.limits.enter()
        try:
            self.inject(plan)
            if api:
                headers.update(self.limits.spend(credits_for(request)))
            with self.org.lock:
                return r.handler(call)
        finally:
            if api:
                self.limits.leave()

    def refusal(self, exc: ZohoError) -> Response:
        if exc.status == 429:
            self.stats.count("rate_limited", str(exc.body.get("message") or exc.body.get("error_info")))
        if isinstance(exc.body, str):
            return Response(exc.status, exc.body.encode(), {}, exc.headers.get("Content-Type"))
        return Response.json(exc.status, exc.body, exc.headers, JSON_TYPE)

    def internal_error(self, message: str) -> ZohoError:
        return ZohoError(500, "INTERNAL_ERROR", message)

    def storm_error(self) -> ZohoError:
        return too_many(self.limits.limits, daily=False)

    def server_error(self, status: int) -> ZohoError:
        return server_error(status)


@dataclass
class Call(KitCall[ZohoApp]):
    """One API request as a handler sees it; ``user`` is the token's user."""

    grant: Grant | None = None

    @property
    def org(self) -> Org:
        return self.app.org

    @property
    def user(self) -> str:
        return self.grant.user_id if self.grant else self.org.api_user

    def int_arg(self, name: str, default: int, low: int = 1, high: int | None = None) -> int:
        text = self.arg(name)
        if text is None or text == "":
            return default
        try:
            value = int(text)
        except ValueError:
            raise invalid_data(param_name=name, expected_data_type="integer") from None
        if value < low or (high is not None and value > high):
            limits = {"minimum": low} if high is None else {"minimum": low, "maximum": high}
            raise ZohoError(400, "INVALID_DATA", "invalid data", {"param_name": name, **limits})
        return value

    def json(self) -> Any:
        return parse_json(self.request.body, _bad_json, blank_is_none=False)


def _token(call: Call) -> Reply:
    params = dict(parse_qsl(urlsplit(call.request.target).query, keep_blank_values=True))
    params.update(parse_qsl(call.request.body.decode("utf-8", "replace"), keep_blank_values=True))
    status, body = call.app.auth.token(params, call.app.base_url())
    call.app.stats.count("token", "minted" if "access_token" in body else str(body.get("error")))
    return status, body


ACCOUNTS_ROUTES: list[Route[Any]] = [route("POST", "/oauth/v2/token", _token, kind="accounts")]
