"""HTTP front of the HubSpot sandbox: routing, the request pipeline, the ``/__sandbox`` controls.

Pipeline for an API request: route → count → injected fault (drop, latency, storm, 5xx) → token
(401) → scopes (403) → rate limits (429) → handler. Control endpoints need no token, are not
counted and are never faulted: ``GET /__sandbox/stats``, ``POST /__sandbox/stats/reset``,
``GET|POST /__sandbox/faults``, ``GET|POST /__sandbox/limits``, ``POST /__sandbox/reset``,
``POST /__sandbox/tokens``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from leadsync.sandboxes.hubspot.common import JSON, ApiError, error_body, new_correlation_id, validation_error
from leadsync.sandboxes.hubspot.limits import (
    FaultInjector,
    RateLimiter,
    Stats,
    TokenInfo,
    Tokens,
    server_error,
)
from leadsync.sandboxes.hubspot.links import associations, owner, owners_page
from leadsync.sandboxes.hubspot.store import Store
from leadsync.sandboxes.kit.server import Dropped as _Dropped
from leadsync.sandboxes.kit.server import Request, Response, SandboxServer

__all__ = ["Route", "SandboxApp", "SandboxServer"]

_OBJ = "contacts|calls|emails|meetings|notes|tasks"
Params = dict[str, str]
Query = dict[str, list[str]]
Handler = Callable[["SandboxApp", Params, Query, Any, TokenInfo], tuple[int, Any]]


def _read(otype: str) -> list[str]:
    return (
        ["crm.objects.contacts.read", "sales-email-read"]
        if otype == "emails"
        else ["crm.objects.contacts.read"]
    )


def _write(otype: str) -> list[str]:
    return ["crm.objects.contacts.write"]


def _schema_read(otype: str) -> list[str]:
    return list(
        dict.fromkeys([f"crm.schemas.{otype}.read", f"crm.objects.{otype}.read", "crm.objects.contacts.read"])
    )


def _schema_write(otype: str) -> list[str]:
    return ["crm.schemas.contacts.write"]


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    label: str  # "{otype}"-style placeholders are filled from the match; ids stay templated
    handler: Handler
    scopes: Callable[[Params], list[str]]
    search: bool = False

    def endpoint(self, params: Params) -> str:
        fill = {k: v for k, v in params.items() if k in ("otype", "from_type", "to_type")}
        return f"{self.method} " + re.sub(
            r"\{(\w+)\}", lambda m: fill.get(m.group(1), m.group(0)), self.label
        )


def _route(
    method: str, label: str, handler: Handler, scopes: Callable[[Params], list[str]], search: bool = False
) -> Route:
    regex = label.replace("{otype}", f"(?P<otype>{_OBJ})").replace("{from_type}", f"(?P<from_type>{_OBJ})")
    regex = regex.replace("{to_type}", f"(?P<to_type>{_OBJ})")
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", regex)
    return Route(method, re.compile(f"^{regex}$"), label, handler, scopes, search)


def _props_list(app: SandboxApp, p: Params, q: Query, b: Any, t: TokenInfo) -> tuple[int, Any]:
    with app.store.lock:
        return 200, {"results": [d.to_json() for d in app.store.schema.object_props(p["otype"]).values()]}


def _prop_create(app: SandboxApp, p: Params, q: Query, b: Any, t: TokenInfo) -> tuple[int, Any]:
    with app.store.lock:
        return 201, app.store.schema.create(p["otype"], _obj(b), app.store.now_ms()).to_json()


def _prop_update(app: SandboxApp, p: Params, q: Query, b: Any, t: TokenInfo) -> tuple[int, Any]:
    with app.store.lock:
        return 200, app.store.schema.update(p["otype"], p["name"], _obj(b), app.store.now_ms()).to_json()


def _obj(body: Any) -> JSON:
    if not isinstance(body, dict):
        raise validation_error("The request body must be a JSON object")
    return body


def _locked(fn: Callable[[SandboxApp, Params, Query, Any, TokenInfo], Any], status: int = 200) -> Handler:
    def run(app: SandboxApp, p: Params, q: Query, b: Any, t: TokenInfo) -> tuple[int, Any]:
        with app.store.lock:
            return status, fn(app, p, q, b, t)

    return run


ROUTES = [
    _route(
        "POST",
        "/crm/v3/objects/{otype}/search",
        _locked(lambda a, p, q, b, t: a.store.search(p["otype"], _obj(b))),
        lambda p: _read(p["otype"]),
        search=True,
    ),
    _route(
        "POST",
        "/crm/v3/objects/{otype}/batch/read",
        lambda a, p, q, b, t: a.store.batch_read(p["otype"], b),
        lambda p: _read(p["otype"]),
    ),
    _route(
        "POST",
        "/crm/v3/objects/{otype}/batch/update",
        lambda a, p, q, b, t: a.store.batch_update(p["otype"], b, t.app_id),
        lambda p: _write(p["otype"]),
    ),
    _route(
        "POST",
        "/crm/v3/objects/{otype}/batch/create",
        lambda a, p, q, b, t: a.store.batch_create(p["otype"], b, t.app_id),
        lambda p: _write(p["otype"]),
    ),
    _route(
        "POST",
        "/crm/v3/objects/{otype}",
        _locked(lambda a, p, q, b, t: a.store.create(p["otype"], b, t.app_id), 201),
        lambda p: _write(p["otype"]),
    ),
    _route(
        "GET",
        "/crm/v3/objects/{otype}/{id}",
        _locked(lambda a, p, q, b, t: a.store.get_one(p["otype"], p["id"], q)),
        lambda p: _read(p["otype"]),
    ),
    _route(
        "PATCH",
        "/crm/v3/objects/{otype}/{id}",
        _locked(lambda a, p, q, b, t: a.store.update_one(p["otype"], p["id"], b, q, t.app_id)),
        lambda p: _write(p["otype"]),
    ),
    _route(
        "GET",
        "/crm/v3/owners/",
        _locked(lambda a, p, q, b, t: owners_page(a.store, q)),
        lambda p: ["crm.objects.owners.read"],
    ),
    _route(
        "GET",
        "/crm/v3/owners",
        _locked(lambda a, p, q, b, t: owners_page(a.store, q)),
        lambda p: ["crm.objects.owners.read"],
    ),
    _route(
        "GET",
        "/crm/v3/owners/{ownerId}",
        _locked(lambda a, p, q, b, t: owner(a.store, p["ownerId"])),
        lambda p: ["crm.objects.owners.read"],
    ),
    _route(
        "POST",
        "/crm/v4/associations/{from_type}/{to_type}/batch/read",
        lambda a, p, q, b, t: associations(a.store, p["from_type"], p["to_type"], b),
        lambda p: _read(p["from_type"]),
    ),
    _route(
        "GET",
        "/crm/v3/properties/{otype}/groups",
        _locked(lambda a, p, q, b, t: {"results": a.store.schema.list_groups(p["otype"])}),
        lambda p: _schema_read(p["otype"]),
    ),
    _route(
        "POST",
        "/crm/v3/properties/{otype}/groups",
        _locked(lambda a, p, q, b, t: a.store.schema.create_group(p["otype"], _obj(b)), 201),
        lambda p: _schema_write(p["otype"]),
    ),
    _route(
        "GET",
        "/crm/v3/properties/{otype}/groups/{groupName}",
        _locked(lambda a, p, q, b, t: a.store.schema.get_group(p["otype"], p["groupName"])),
        lambda p: _schema_read(p["otype"]),
    ),
    _route("GET", "/crm/v3/properties/{otype}", _props_list, lambda p: _schema_read(p["otype"])),
    _route("POST", "/crm/v3/properties/{otype}", _prop_create, lambda p: _schema_write(p["otype"])),
    _route(
        "GET",
        "/crm/v3/properties/{otype}/{name}",
        _locked(lambda a, p, q, b, t: a.store.schema.get(p["otype"], p["name"]).to_json()),
        lambda p: _schema_read(p["otype"]),
    ),
    _route("PATCH", "/crm/v3/properties/{otype}/{name}", _prop_update, lambda p: _schema_write(p["otype"])),
]


@dataclass
class SandboxApp:
    """The state one server answers from; ``on_reset`` re-seeds (see ``HubSpotSandbox.reset``)."""

    store: Store
    tokens: Tokens
    limiter: RateLimiter
    faults: FaultInjector
    stats: Stats
    on_reset: Callable[[JSON], None]
    verbose: bool = False
    server_name = "HubSpotSandbox/1"  # the Server header

    def http_now(self) -> datetime:
        """The portal's time, for the Date header (see ``sandboxkit.server``)."""
        return self.store.clock()

    def match(self, method: str, path: str) -> tuple[Route, Params] | None:
        for route in ROUTES:
            if route.method == method:
                m = route.pattern.match(path)
                if m:
                    return route, {k: v for k, v in m.groupdict().items() if v is not None}
        return None

    def control(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        """The ``/__sandbox/*`` endpoints that tests and benchmarks drive."""
        body = body if isinstance(body, dict) else {}
        key = f"{method} {path.rstrip('/')}"
        if key == "GET /__sandbox/stats":
            return 200, self.stats.snapshot()
        if key == "POST /__sandbox/stats/reset":
            self.stats.reset()
            return 200, self.stats.snapshot()
        if key in ("GET /__sandbox/faults", "POST /__sandbox/faults"):
            changes = dict(body) if method == "POST" else {}
            try:
                return 200, asdict(self.faults.configure(reset=bool(changes.pop("reset", False)), **changes))
            except (TypeError, ValueError, re.error) as exc:
                raise validation_error(str(exc)) from None
        if key in ("GET /__sandbox/limits", "POST /__sandbox/limits"):
            known = {f.name for f in fields(self.limiter.limits)}
            for name, value in body.items() if method == "POST" else ():
                if name not in known:
                    raise validation_error(f"unknown limit {name}; known: {sorted(known)}")
                current = getattr(self.limiter.limits, name)
                if isinstance(current, bool):
                    value = value if isinstance(value, bool) else str(value).lower() == "true"
                setattr(self.limiter.limits, name, type(current)(value))
            return 200, asdict(self.limiter.limits)
        if key == "POST /__sandbox/reset":
            try:
                self.on_reset(body)
            except (TypeError, ValueError) as exc:
                raise validation_error(f"bad reset arguments: {exc}") from None
            return 200, {"status": "reset"}
        if key == "POST /__sandbox/tokens" and isinstance(body.get("token"), str):
            info = self.tokens.add(body["token"], body.get("scopes"))
            info.expired = bool(body.get("expired", False))
            return 200, {"token": info.token, "scopes": None if info.scopes is None else sorted(info.scopes)}
        raise ApiError(404, "OBJECT_NOT_FOUND", f"No sandbox control endpoint {key}")

    # -- the request pipeline (called by the shared server for every request) ------------------

    def respond(self, request: Request) -> Response:
        url = urlsplit(request.target)
        headers: dict[str, str] = {}
        try:
            if url.path.startswith("/__sandbox/"):
                status, body = self.control(request.method, url.path, _parse_json(request.body))
                return self._send(status, body, {})
            query = parse_qs(url.query, keep_blank_values=True)
            status, body, headers = self._api(request, url.path, query)
        except _Dropped:
            raise
        except ApiError as exc:
            status, body, headers = exc.status, exc.body(), exc.headers
        except Exception as exc:  # a sandbox bug must still answer, like HubSpot's 500
            status, body = 500, error_body("INTERNAL_ERROR", f"sandbox error: {exc!r}")
        if not url.path.startswith("/__sandbox/"):
            self.stats.count("by_status", str(status))
        return self._send(status, body, headers)

    def _api(self, request: Request, path: str, query: Query) -> tuple[int, Any, dict[str, str]]:
        found = self.match(request.method, path)
        endpoint = found[0].endpoint(found[1]) if found else f"{request.method} {path}"
        self.stats.count("by_endpoint", endpoint)
        self.stats.count("by_method", request.method)
        plan = self.faults.plan(endpoint)
        if plan.delay_s > 0:
            self.stats.count("faults", "latency")
            time.sleep(plan.delay_s)
        if plan.action == "drop":
            self.stats.count("faults", "dropped")
            raise _Dropped
        if plan.action == "storm":
            self.stats.count("faults", "storm")
            raise self.limiter.storm_error()
        if plan.action == "error":
            self.stats.count("faults", "5xx")
            raise server_error(plan.status)
        info = self.tokens.authenticate(request.headers.get("Authorization"))
        if found is None:
            raise ApiError(404, "OBJECT_NOT_FOUND", f"No endpoint {request.method} {path} in the sandbox")
        route, params = found
        Tokens.require(info, route.scopes(params))
        try:
            rate_headers = self.limiter.check(info, route.search)
        except ApiError as exc:
            self.stats.count("rate_limited", str((exc.raw or {}).get("policyName", "")))
            raise
        try:
            status, body = route.handler(self, params, query, _parse_json(request.body), info)
        except ApiError as exc:
            exc.headers = {**rate_headers, **exc.headers}
            raise
        return status, body, rate_headers

    @staticmethod
    def _send(status: int, body: Any, headers: dict[str, str]) -> Response:
        return Response.json(status, body, {"X-HubSpot-Correlation-Id": new_correlation_id(), **headers})


def _parse_json(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise validation_error(
            f"Invalid input JSON on line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
