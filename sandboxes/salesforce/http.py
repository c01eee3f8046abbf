"""HTTP front of the Salesforce sandbox: the app a request reaches, its pipeline, and the ``Call``
a handler gets (the endpoints and the route table are the other modules').

Pipeline for a REST call (around ``kit.pipeline``'s): route → count → URI size (414 over 16,384
bytes, 431 with the headers) → injected fault (latency, drop, 503 storm, 5xx) → 404/405 → API
version → bearer session (401 ``INVALID_SESSION_ID``) → daily API allowance (403
``REQUEST_LIMIT_EXCEEDED``) → handler, under the org's lock. Every REST answer carries
``Sforce-Limit-Info``. Login endpoints (OAuth token, SOAP login) are not API calls. ``/__sandbox/*``
is the back door (``control``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from leadsync.sandboxes.kit.pipeline import ApiApp, Found
from leadsync.sandboxes.kit.routing import Call as KitCall
from leadsync.sandboxes.kit.routing import parse_json
from leadsync.sandboxes.kit.server import Request, Response
from leadsync.sandboxes.salesforce.auth import Auth, Session
from leadsync.sandboxes.salesforce.common import API_VERSIONS, SfError
from leadsync.sandboxes.salesforce.jobs import BulkJobs
from leadsync.sandboxes.salesforce.limits import ApiLimits
from leadsync.sandboxes.salesforce.locators import Cursors
from leadsync.sandboxes.salesforce.routing import Reply, not_found
from leadsync.sandboxes.salesforce.schema import ObjectDef
from leadsync.sandboxes.salesforce.store import Org
from leadsync.sandboxes.salesforce.writes import Actor

__all__ = ["BUCKETS", "MAX_URI", "Call", "SalesforceApp", "server_error"]

MAX_URI = 16_384
# Salesforce answers 414 when the URI alone is over 16,384 bytes and 431 when URI and headers are
# (https://developer.salesforce.com/docs/atlas.en-us.salesforce_app_limits_cheatsheet.meta/salesforce_app_limits_cheatsheet/salesforce_app_limits_platform_api.htm),
# from its Jetty front end, as an HTML page.
BUCKETS = ("by_endpoint", "by_method", "by_status", "faults", "rate_limited", "auto_assign")
JSON_TYPE = "application/json;charset=UTF-8"
_WRITES = ("POST", "PATCH", "PUT", "DELETE")


def server_error(status: int) -> SfError:
    if status == 500:
        return SfError(
            500,
            "UNKNOWN_EXCEPTION",
            "An unexpected error occurred. Please include this ErrorId if you contact support: "
            "1978245332-57293 (-1214052712)",
        )
    if status == 503:
        return SfError(503, "SERVER_UNAVAILABLE", "Server temporarily unavailable. Please try again later.")
    reason = {502: "Bad Gateway", 504: "Gateway Timeout"}.get(status, "Error")
    html = (
        f"<html><head><title>{status} {reason}</title></head><body><h1>{status} {reason}</h1></body></html>"
    )
    return SfError(status, "HTML", reason, raw=html, content_type="text/html;charset=UTF-8")


def _too_large(status: int, reason: str) -> SfError:
    raw = f"<h1>Bad Message {status}</h1><pre>reason: {reason}</pre>"
    return SfError(status, "HTML", reason, raw=raw, content_type="text/html;charset=iso-8859-1")


def _bad_json(exc: ValueError) -> SfError:
    return SfError(400, "JSON_PARSER_ERROR", f"Unexpected character: {exc}")


@dataclass(kw_only=True)
class SalesforceApp(ApiApp["Call"]):
    """What one server answers from: the CRM's state, and what its handlers reach."""

    org: Org
    auth: Auth
    limits: ApiLimits
    cursors: Cursors
    jobs: BulkJobs
    server_name = "SalesforceSandbox/1"  # the Server header
    json_type = JSON_TYPE
    error = SfError

    def serve(
        self, request: Request, path: str, found: Found[Call], endpoint: str, headers: dict[str, str]
    ) -> Reply:
        if len(request.target) > MAX_URI:
            raise _too_large(414, "URI Too Long")
        header_bytes = sum(len(k) + len(v) + 4 for k, v in request.headers.items())
        if len(request.target) + header_bytes > MAX_URI:
            raise _too_large(431, "Request Header Fields Too Large")
        self.inject(self.faults.plan(endpoint))
        if found is None:
            allowed = self.routes.methods(path)
            if allowed:
                raise SfError(
                    405,
                    "METHOD_NOT_ALLOWED",
                    f"HTTP Method '{request.method}' not allowed. Allowed are {','.join(allowed)}",
                )
            raise not_found()
        r, params = found
        if "version" in params and params["version"] not in API_VERSIONS:
            raise not_found()
        call = Call(self, request, params)
        if r.kind in ("data", "identity"):
            call.session = self.auth.authenticate(request.headers.get("Authorization"))
        if r.kind == "data":
            try:
                headers["Sforce-Limit-Info"] = self.limits.take()
            except SfError:
                self.stats.count("rate_limited", "DailyApiRequests")
                raise
            if request.method in _WRITES:
                seen = request.headers.get("Sforce-Auto-Assign")
                self.stats.count("auto_assign", f"{endpoint}: {seen.strip().upper() if seen else 'absent'}")
        with self.org.lock:
            return r.handler(call)

    def refusal(self, exc: SfError) -> Response:
        if isinstance(exc.raw, str):
            return Response(exc.status, exc.raw.encode(), exc.headers, exc.content_type)
        return Response.json(exc.status, exc.body(), exc.headers, JSON_TYPE)

    def internal_error(self, message: str) -> SfError:
        return SfError(500, "UNKNOWN_EXCEPTION", message)

    def storm_error(self) -> SfError:
        return server_error(503)

    def server_error(self, status: int) -> SfError:
        return server_error(status)

    def finish(self, path: str, response: Response) -> Response:
        if path.startswith("/services/data/") and "Sforce-Limit-Info" not in response.headers:
            headers = {**response.headers, "Sforce-Limit-Info": self.limits.header()}
            return Response(response.status, response.body, headers, response.content_type)
        return response


@dataclass
class Call(KitCall[SalesforceApp]):
    """One API request as a handler sees it: its session's user, the org, the API version."""

    session: Session | None = None

    @property
    def org(self) -> Org:
        return self.app.org

    @property
    def version(self) -> str:
        return self.params.get("version", "")

    @property
    def user_id(self) -> str:
        return self.session.user_id if self.session else ""

    @property
    def base_url(self) -> str:
        return self.app.base_url(self.request.secure)

    def json(self) -> Any:
        return parse_json(self.request.body, _bad_json)

    def actor(self) -> Actor:
        header = (self.request.headers.get("Sforce-Auto-Assign") or "").strip()
        return Actor(self.user_id, auto_assign=header.upper() != "FALSE")

    def sobject(self, name: str | None = None) -> ObjectDef:
        """The data sObject named in the path; Salesforce answers 404 for one it does not have."""
        obj = self.org.schema.get(name or self.params.get("type", ""))
        if obj is None:
            raise not_found()
        return obj
