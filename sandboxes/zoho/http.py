"""HTTP front of the Zoho sandbox: the token endpoint, the request pipeline, the controls.

Pipeline for an API call: route → count → injected drop → 404/405 (``INVALID_URL_PATTERN``) →
``Zoho-oauthtoken`` (401 ``INVALID_TOKEN`` / ``OAUTH_SCOPE_MISMATCH``) → concurrency cap (429) →
injected latency, 429 storm or 5xx → daily credits (429, ``X-API-CREDITS-REMAINING`` from half
used) → handler, under the org's lock. ``POST /oauth/v2/token`` (Zoho Accounts, on the same port)
is not an API call. ``/__sandbox/*`` controls need no token, are not counted and never faulted:
``GET /__sandbox/stats``, ``POST /__sandbox/stats/reset``, ``GET|POST /__sandbox/faults``,
``GET|POST /__sandbox/limits``, ``POST /__sandbox/reset``, ``GET /__sandbox/credentials``,
``GET /__sandbox/records/{module}``, ``GET /__sandbox/writes`` and ``POST /__sandbox/{method}``
for the back-door methods (``touch``, ``lock``, ``advance`` ...) with JSON arguments.
"""

from __future__ import annotations

import json
import re
import socket
import time
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from leadsync.sandboxes.kit.faults import FaultInjector
from leadsync.sandboxes.kit.server import Dropped, Request, Response, SandboxServer
from leadsync.sandboxes.kit.stats import Stats
from leadsync.sandboxes.zoho.auth import Auth
from leadsync.sandboxes.zoho.common import ZohoError, error_body
from leadsync.sandboxes.zoho.coql import ROUTES as COQL_ROUTES
from leadsync.sandboxes.zoho.coql import coql_credits
from leadsync.sandboxes.zoho.limits import ApiLimits, too_many
from leadsync.sandboxes.zoho.reads import ROUTES as READ_ROUTES
from leadsync.sandboxes.zoho.reads import PageTokens
from leadsync.sandboxes.zoho.routing import Call, Reply, Route, route
from leadsync.sandboxes.zoho.search import ROUTES as SEARCH_ROUTES
from leadsync.sandboxes.zoho.settings import ROUTES as SETTINGS_ROUTES
from leadsync.sandboxes.zoho.store import Org
from leadsync.sandboxes.zoho.writes import ROUTES as WRITE_ROUTES
from leadsync.sandboxes.zoho.writes import write_credits

__all__ = ["BUCKETS", "ZohoApp", "ZohoServer"]

BUCKETS = ("by_endpoint", "by_method", "by_status", "faults", "rate_limited", "token")
JSON_TYPE = "application/json;charset=utf-8"


def _token(call: Call) -> Reply:
    params = dict(parse_qsl(urlsplit(call.request.target).query, keep_blank_values=True))
    params.update(parse_qsl(call.request.body.decode("utf-8", "replace"), keep_blank_values=True))
    status, body = call.app.auth.token(params, call.app.base_url())
    call.app.stats.count("token", "minted" if "access_token" in body else str(body.get("error")))
    return status, body


ROUTES: list[Route] = [
    route("POST", "/oauth/v2/token", _token, kind="accounts"),
    *SETTINGS_ROUTES,
    *SEARCH_ROUTES,
    *COQL_ROUTES,
    *READ_ROUTES,
    *WRITE_ROUTES,
]


def server_error(status: int) -> ZohoError:
    if status == 500:
        return ZohoError(500, "INTERNAL_ERROR", "Internal Server Error")
    reason = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}.get(status, "Error")
    html = f"<html><head><title>{status} {reason}</title></head><body><h1>{reason}</h1></body></html>"
    return ZohoError(status, body=html, headers={"Content-Type": "text/html"})


@dataclass
class ZohoApp:
    """The state one server answers from; ``backdoor`` is the sandbox whose methods controls call."""

    org: Org
    auth: Auth
    limits: ApiLimits
    faults: FaultInjector
    stats: Stats
    tokens: PageTokens
    backdoor: Any
    host: str = "127.0.0.1"
    port: int = 0
    verbose: bool = False
    server_name = "ZGS"  # Zoho's front end calls itself that in the Server header

    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for r in ROUTES:
            if r.method == method:
                m = r.pattern.match(path)
                if m:
                    return r, m.groupdict()
        return None

    def respond(self, request: Request) -> Response:
        path = urlsplit(request.target).path
        if path.startswith("/__sandbox/"):
            return self._control(request, path)
        found = self.match(request.method, path)
        endpoint = found[0].name if found else f"{request.method} {path}"
        self.stats.count("by_endpoint", endpoint)
        self.stats.count("by_method", request.method)
        headers: dict[str, str] = {}
        try:
            reply = self._pipeline(request, path, found, endpoint, headers)
        except Dropped:
            raise
        except ZohoError as exc:
            if exc.status == 429:
                self.stats.count("rate_limited", str(exc.body.get("message") or exc.body.get("error_info")))
            if isinstance(exc.body, str):
                reply = Response(exc.status, exc.body.encode(), {}, exc.headers.get("Content-Type"))
            else:
                reply = Response.json(exc.status, exc.body, exc.headers, JSON_TYPE)
        except Exception as exc:  # a sandbox bug must still answer, as Zoho's 500 does
            reply = Response.json(500, error_body("INTERNAL_ERROR", f"sandbox error: {exc!r}"), {}, JSON_TYPE)
        if not isinstance(reply, Response):
            status, body = reply
            reply = Response.json(status, body, {}, JSON_TYPE)
        self.stats.count("by_status", str(reply.status))
        return Response(reply.status, reply.body, {**reply.headers, **headers}, reply.content_type)

    def _pipeline(
        self,
        request: Request,
        path: str,
        found: tuple[Route, dict[str, str]] | None,
        endpoint: str,
        headers: dict[str, str],
    ) -> Reply:
        plan = self.faults.plan(endpoint)
        if plan.action == "drop":
            self.stats.count("faults", "dropped")
            raise Dropped
        if found is None:
            if any(r.pattern.match(path) for r in ROUTES):
                raise ZohoError(
                    405, "INVALID_REQUEST_METHOD", "The http request method type is not a valid one"
                )
            raise ZohoError(
                404, "INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one"
            )
        r, params = found
        call = Call(self, request, params)
        if r.kind == "api":
            call.grant = self.auth.authenticate(request.headers.get("Authorization"))
            needed = r.scope(params)
            if needed:
                self.auth.require(call.grant, *needed)
            self.limits.enter()
        try:
            self._faults(plan.delay_s, plan.action, plan.status)
            if r.kind == "api":
                headers.update(self.limits.spend(self._cost(request)))
            with self.org.lock:
                return r.handler(call)
        finally:
            if r.kind == "api":
                self.limits.leave()

    def _faults(self, delay: float, action: str | None, status: int) -> None:
        if delay > 0:
            self.stats.count("faults", "latency")
            time.sleep(delay)
        if action == "storm":
            self.stats.count("faults", "storm")
            raise too_many(self.limits.limits, daily=False)
        if action == "error":
            self.stats.count("faults", "5xx")
            raise server_error(status)

    @staticmethod
    def _cost(request: Request) -> int:
        if request.method not in ("POST", "PUT") or "/settings/" in request.target:
            return 1
        try:
            body = json.loads(request.body or b"null")
            data = body.get("data")
        except (ValueError, AttributeError):
            return 1
        if urlsplit(request.target).path.rstrip("/").endswith("/coql"):
            found = re.search(r"\blimit\s+(\d+)(?:\s*,\s*(\d+))?", str(body.get("select_query")), re.I)
            return coql_credits(int(found[2] or found[1]) if found else 200)
        return write_credits(len(data)) if isinstance(data, list) else 1

    # -- controls ------------------------------------------------------------------------------

    def _control(self, request: Request, path: str) -> Response:
        key = f"{request.method} {path.rstrip('/')}"
        try:
            body = json.loads(request.body or b"{}")
            status, out = self.control(key, body if isinstance(body, dict) else {})
        except (TypeError, ValueError, KeyError) as exc:
            status, out = 400, {"error": f"{type(exc).__name__}: {exc}"}
        except ZohoError as exc:
            status, out = exc.status, exc.body
        return Response.json(status, out, {}, JSON_TYPE)

    def control(self, key: str, body: dict[str, Any]) -> tuple[int, Any]:
        sb = self.backdoor
        simple = {
            "GET /__sandbox/stats": sb.stats,
            "POST /__sandbox/stats/reset": lambda: (sb.reset_stats(), sb.stats())[1],
            "GET /__sandbox/faults": lambda: asdict(self.faults.faults),
            "POST /__sandbox/faults": lambda: asdict(sb.set_faults(**body)),
            "GET /__sandbox/limits": lambda: sb.set_limits(),
            "POST /__sandbox/limits": lambda: sb.set_limits(**body),
            "POST /__sandbox/reset": lambda: (sb.reset(**body), {"status": "reset"})[1],
            "GET /__sandbox/credentials": lambda: asdict(sb.credentials),
            "GET /__sandbox/writes": lambda: [w.json() for w in sb.writes()],
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


class ZohoServer(SandboxServer):
    """The sandbox's server, with Nagle's algorithm off on every connection: an answer goes out
    in two writes (headers, body), and with Nagle on the body waits for the client's delayed ACK
    (about 40 ms per request on loopback)."""

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, address
