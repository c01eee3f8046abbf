"""HTTP front of the Salesforce sandbox: the login endpoints, the request pipeline, the controls.

Pipeline for a REST call: route → count → URI size (414 over 16,384 bytes, 431 with the headers)
→ injected fault (drop, latency, 503 storm, 5xx) → 404/405 → bearer session (401
``INVALID_SESSION_ID``) → daily API allowance (403 ``REQUEST_LIMIT_EXCEEDED``) → handler, under the
org's lock. Every REST answer carries ``Sforce-Limit-Info``. Login endpoints (OAuth token, SOAP
login) are not API calls. ``/__sandbox/*`` controls need no token, are not counted and never
faulted: ``GET /__sandbox/stats``, ``POST /__sandbox/stats/reset``, ``GET|POST /__sandbox/faults``,
``GET|POST /__sandbox/limits``, ``POST /__sandbox/reset``, ``GET /__sandbox/credentials``,
``GET /__sandbox/records/{type}`` and ``POST /__sandbox/{method}`` for the sandbox's back-door
methods (``set_field``, ``convert_lead``, ``expire_sessions``, ``advance`` ...) with JSON arguments.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from leadsync.sandboxes.kit.faults import FaultInjector
from leadsync.sandboxes.kit.server import Dropped, Request, Response
from leadsync.sandboxes.kit.stats import Stats
from leadsync.sandboxes.salesforce.auth import Auth
from leadsync.sandboxes.salesforce.bulk import ROUTES as BULK_ROUTES
from leadsync.sandboxes.salesforce.bulk import BulkJobs
from leadsync.sandboxes.salesforce.collections import ROUTES as COLLECTION_ROUTES
from leadsync.sandboxes.salesforce.common import SfError
from leadsync.sandboxes.salesforce.cursors import ROUTES as QUERY_ROUTES
from leadsync.sandboxes.salesforce.cursors import Cursors
from leadsync.sandboxes.salesforce.limits import ApiLimits
from leadsync.sandboxes.salesforce.rest import API_VERSIONS
from leadsync.sandboxes.salesforce.rest import ROUTES as REST_ROUTES
from leadsync.sandboxes.salesforce.routing import Call, Reply, Route, not_found, route
from leadsync.sandboxes.salesforce.store import Org
from leadsync.sandboxes.salesforce.tooling import ROUTES as TOOLING_ROUTES

__all__ = ["BUCKETS", "MAX_URI", "SalesforceApp"]

MAX_URI = 16_384
# Salesforce answers 414 when the URI alone is over 16,384 bytes and 431 when URI and headers are
# (https://developer.salesforce.com/docs/atlas.en-us.salesforce_app_limits_cheatsheet.meta/salesforce_app_limits_cheatsheet/salesforce_app_limits_platform_api.htm),
# from its Jetty front end, as an HTML page.
BUCKETS = ("by_endpoint", "by_method", "by_status", "faults", "rate_limited", "auto_assign")
JSON_TYPE = "application/json;charset=UTF-8"
_WRITES = ("POST", "PATCH", "PUT", "DELETE")


def _form(call: Call) -> dict[str, str]:
    return dict(parse_qsl(call.request.body.decode("utf-8", "replace"), keep_blank_values=True))


def _basic(call: Call) -> tuple[str, str] | None:
    header = call.request.headers.get("Authorization") or ""
    if not header.lower().startswith("basic "):
        return None
    try:
        user, _, secret = base64.b64decode(header[6:].strip()).decode().partition(":")
    except ValueError:
        return None
    return unquote(user), unquote(secret)


def _token(call: Call) -> Reply:
    return 200, call.app.auth.token(_form(call), _basic(call), call.base_url)


def _revoke(call: Call) -> Reply:
    call.app.auth.revoke(_form(call).get("token", "") or (call.arg("token") or ""))
    return 200, {}


def _soap(call: Call) -> Reply:
    status, xml = call.app.auth.soap(call.params["v"], call.request.body, call.base_url)
    return Response(status, xml.encode(), {}, "text/xml;charset=UTF-8")


def _identity(call: Call) -> Reply:
    if call.params["org"] != call.org.org_id or call.params["user"] != call.user_id:
        raise SfError(403, "Bad_Id", "Bad_Id")
    return 200, call.app.auth.identity(call.user_id, call.base_url)


def _userinfo(call: Call) -> Reply:
    return 200, call.app.auth.userinfo(call.user_id, call.base_url)


AUTH_ROUTES = [
    route("POST", "/services/oauth2/token", _token, kind="login"),
    route("POST", "/services/oauth2/revoke", _revoke, kind="login"),
    route("POST", "/services/Soap/u/{v}", _soap, kind="login"),
    route("GET", "/services/oauth2/userinfo", _userinfo, kind="identity"),
    route("GET", "/id/{org}/{user}", _identity, kind="identity"),
]
ROUTES: list[Route] = (
    AUTH_ROUTES + REST_ROUTES + QUERY_ROUTES + COLLECTION_ROUTES + BULK_ROUTES + TOOLING_ROUTES
)


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


@dataclass
class SalesforceApp:
    """The state one server answers from; ``backdoor`` is the sandbox whose methods controls call."""

    org: Org
    auth: Auth
    limits: ApiLimits
    faults: FaultInjector
    stats: Stats
    cursors: Cursors
    jobs: BulkJobs
    backdoor: Any
    host: str = "127.0.0.1"
    port: int = 0
    verbose: bool = False
    server_name = "SalesforceSandbox/1"  # the Server header

    def base_url(self, secure: bool = False) -> str:
        return f"{'https' if secure else 'http'}://{self.host}:{self.port}"

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for r in ROUTES:
            if r.method == method:
                m = r.pattern.match(path)
                if m:
                    return r, {k: v for k, v in m.groupdict().items() if v is not None}
        return None

    def respond(self, request: Request) -> Response:
        path = urlsplit(request.target).path
        if path.startswith("/__sandbox/"):
            return self._control(request, path)
        found = self.match(request.method, path)
        endpoint = found[0].endpoint(found[1]) if found else f"{request.method} {path}"
        self.stats.count("by_endpoint", endpoint)
        self.stats.count("by_method", request.method)
        headers: dict[str, str] = {}
        try:
            reply = self._pipeline(request, path, found, endpoint, headers)
        except Dropped:
            raise
        except SfError as exc:
            reply = Response.json(exc.status, exc.body(), exc.headers, JSON_TYPE)
            if exc.raw is not None and isinstance(exc.raw, str):
                reply = Response(exc.status, exc.raw.encode(), exc.headers, exc.content_type)
        except Exception as exc:  # a sandbox bug must still answer, like Salesforce's 500
            err = SfError(500, "UNKNOWN_EXCEPTION", f"sandbox error: {exc!r}")
            reply = Response.json(500, err.body(), {}, JSON_TYPE)
        if not isinstance(reply, Response):
            status, body = reply
            reply = Response.json(status, body, {}, JSON_TYPE)
        self.stats.count("by_status", str(reply.status))
        if path.startswith("/services/data/") and "Sforce-Limit-Info" not in headers:
            headers["Sforce-Limit-Info"] = self.limits.header()
        return Response(reply.status, reply.body, {**reply.headers, **headers}, reply.content_type)

    def _pipeline(
        self,
        request: Request,
        path: str,
        found: tuple[Route, dict[str, str]] | None,
        endpoint: str,
        headers: dict[str, str],
    ) -> Reply:
        if len(request.target) > MAX_URI:
            raise SfError(
                414,
                "HTML",
                "URI Too Long",
                raw="<h1>Bad Message 414</h1><pre>reason: URI Too Long</pre>",
                content_type="text/html;charset=iso-8859-1",
            )
        header_bytes = sum(len(k) + len(v) + 4 for k, v in request.headers.items())
        if len(request.target) + header_bytes > MAX_URI:
            raise SfError(
                431,
                "HTML",
                "Request Header Fields Too Large",
                raw="<h1>Bad Message 431</h1><pre>reason: Request Header Fields Too Large</pre>",
                content_type="text/html;charset=iso-8859-1",
            )
        plan = self.faults.plan(endpoint)
        if plan.delay_s > 0:
            self.stats.count("faults", "latency")
            time.sleep(plan.delay_s)
        if plan.action == "drop":
            self.stats.count("faults", "dropped")
            raise Dropped
        if plan.action in ("storm", "error"):
            self.stats.count("faults", "storm" if plan.action == "storm" else "5xx")
            raise server_error(503 if plan.action == "storm" else plan.status)
        if found is None:
            allowed = sorted({r.method for r in ROUTES if r.pattern.match(path)})
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

    # -- controls ------------------------------------------------------------------------------

    def _control(self, request: Request, path: str) -> Response:
        key = f"{request.method} {path.rstrip('/')}"
        try:
            body = Call(self, request, {}).json()
            status, out = self.control(key, body if isinstance(body, dict) else {})
        except (TypeError, ValueError, KeyError) as exc:
            status, out = 400, {"error": f"{type(exc).__name__}: {exc}"}
        except SfError as exc:
            status, out = exc.status, exc.body()
        return Response.json(status, out, {}, JSON_TYPE)

    def control(self, key: str, body: dict[str, Any]) -> tuple[int, Any]:
        sb = self.backdoor
        simple: dict[str, Callable[[], Any]] = {
            "GET /__sandbox/stats": sb.stats,
            "POST /__sandbox/stats/reset": lambda: (sb.reset_stats(), sb.stats())[1],
            "GET /__sandbox/faults": lambda: asdict(self.faults.faults),
            "POST /__sandbox/faults": lambda: asdict(sb.set_faults(**body)),
            "GET /__sandbox/limits": lambda: sb.set_limits(),
            "POST /__sandbox/limits": lambda: sb.set_limits(**body),
            "POST /__sandbox/reset": lambda: (sb.reset(**body), {"status": "reset"})[1],
            "GET /__sandbox/credentials": lambda: asdict(sb.credentials),
        }
        if key in simple:
            return 200, simple[key]()
        method, _, rest = key.partition(" /__sandbox/")
        if method == "GET" and rest.startswith("records/"):
            return 200, sb.records_json(rest.split("/", 1)[1])
        if method == "POST" and rest in sb.CONTROLS:
            args = body.pop("args", [])
            return 200, {"result": sb.control_result(getattr(sb, rest)(*args, **body))}
        return 404, {"error": f"No sandbox control endpoint {key}", "methods": sorted(sb.CONTROLS)}
