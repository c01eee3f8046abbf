"""HTTP front of the HubSpot sandbox: its routes, the app a request reaches, its pipeline.

Pipeline for an API request (around ``kit.pipeline``'s): route → count → injected fault (latency,
drop, 429 storm, 5xx) → token (401) → 404 → scopes (403) → rate limits (429, and
``X-HubSpot-RateLimit-*`` headers) → JSON body → handler. Every answer carries
``X-HubSpot-Correlation-Id``. ``/__sandbox/*`` is the back door (``sandbox``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from json import JSONDecodeError
from typing import Any

from leadsync.sandboxes.hubspot import objects
from leadsync.sandboxes.hubspot.common import JSON, ApiError, new_correlation_id, validation_error
from leadsync.sandboxes.hubspot.limits import RateLimiter, TokenInfo, Tokens, server_error
from leadsync.sandboxes.hubspot.links import associations, owner, owners_page
from leadsync.sandboxes.hubspot.schema import Schema
from leadsync.sandboxes.hubspot.store import Store
from leadsync.sandboxes.kit.pipeline import ApiApp, Found
from leadsync.sandboxes.kit.routing import Call as KitCall
from leadsync.sandboxes.kit.routing import Paths, Reply, Route, parse_json
from leadsync.sandboxes.kit.server import Request, Response

__all__ = ["ROUTES", "Call", "HubSpotApp"]

_OBJ = "contacts|calls|emails|meetings|notes|tasks"
PATHS = Paths(
    parts={"otype": _OBJ, "from_type": _OBJ, "to_type": _OBJ},
    filled=("otype", "from_type", "to_type"),
    trailing_slash=False,
)


def _bad_json(exc: ValueError) -> Exception:
    if not isinstance(exc, JSONDecodeError):
        return exc  # not text at all: the sandbox's own 500, as before
    return validation_error(f"Invalid input JSON on line {exc.lineno}, column {exc.colno}: {exc.msg}")


@dataclass(kw_only=True)
class HubSpotApp(ApiApp["Call"]):
    """What one server answers from: the CRM's state, and what its handlers reach."""

    store: Store
    tokens: Tokens
    limiter: RateLimiter
    server_name = "HubSpotSandbox/1"  # the Server header
    error = ApiError

    def http_now(self) -> datetime:
        """The portal's time, for the Date header (see ``kit.server``)."""
        return self.store.clock()

    def serve(
        self, request: Request, path: str, found: Found[Call], endpoint: str, headers: dict[str, str]
    ) -> Reply:
        self.inject(self.faults.plan(endpoint))
        info = self.tokens.authenticate(request.headers.get("Authorization"))
        if found is None:
            raise ApiError(404, "OBJECT_NOT_FOUND", f"No endpoint {request.method} {path} in the sandbox")
        r, params = found
        Tokens.require(info, r.scopes(params))
        try:
            headers.update(self.limiter.check(info, r.kind == "search"))
        except ApiError as exc:
            self.stats.count("rate_limited", str((exc.raw or {}).get("policyName", "")))
            raise
        call = Call(self, request, params, info)
        call.body = parse_json(request.body, _bad_json)
        return r.handler(call)

    def refusal(self, exc: ApiError) -> Response:
        return Response.json(exc.status, exc.body(), exc.headers)

    def internal_error(self, message: str) -> ApiError:
        return ApiError(500, "INTERNAL_ERROR", message)

    def storm_error(self) -> ApiError:
        return self.limiter.storm_error()

    def server_error(self, status: int) -> ApiError:
        return server_error(status)

    def finish(self, path: str, response: Response) -> Response:
        headers = {"X-HubSpot-Correlation-Id": new_correlation_id(), **response.headers}
        return Response(response.status, response.body, headers, response.content_type)


@dataclass
class Call(KitCall[HubSpotApp]):
    """One API request as a handler sees it: its token and its JSON body."""

    token: TokenInfo | None = None
    body: Any = None

    @property
    def store(self) -> Store:
        return self.app.store

    @property
    def schema(self) -> Schema:
        return self.app.store.schema

    @property
    def otype(self) -> str:
        """The object type in the path (``contacts``, ``calls`` ...)."""
        return self.params["otype"]

    @property
    def actor(self) -> str:
        """The app id the token's writes are stamped with."""
        return self.token.app_id if self.token else ""

    def obj(self) -> JSON:
        """The body, which must be a JSON object."""
        if not isinstance(self.body, dict):
            raise validation_error("The request body must be a JSON object")
        return self.body


def _reads(p: dict[str, str]) -> list[str]:
    otype = p.get("otype") or p["from_type"]
    return (
        ["crm.objects.contacts.read", "sales-email-read"]
        if otype == "emails"
        else ["crm.objects.contacts.read"]
    )


def _writes(p: dict[str, str]) -> list[str]:
    return ["crm.objects.contacts.write"]


def _schema_reads(p: dict[str, str]) -> list[str]:
    otype = p["otype"]
    return list(
        dict.fromkeys([f"crm.schemas.{otype}.read", f"crm.objects.{otype}.read", "crm.objects.contacts.read"])
    )


def _schema_writes(p: dict[str, str]) -> list[str]:
    return ["crm.schemas.contacts.write"]


def _owners_read(p: dict[str, str]) -> list[str]:
    return ["crm.objects.owners.read"]


def _locked(fn: Callable[[Call], Any], status: int = 200) -> Callable[[Call], Reply]:
    """A handler that runs under the store's lock (the store's batch methods take it themselves)."""

    def run(c: Call) -> Reply:
        with c.store.lock:
            return status, fn(c)

    return run


def _route(
    method: str, template: str, handler: Callable[[Call], Reply], scopes: Any, kind: str = "api"
) -> Route[Call]:
    return PATHS.route(method, template, handler, kind, scopes)


def _props(c: Call) -> JSON:
    return {"results": [d.to_json() for d in c.store.schema.object_props(c.otype).values()]}


_O = "/crm/v3/objects/{otype}"
_P = "/crm/v3/properties/{otype}"
ROUTES: list[Route[Call]] = [
    _route(
        "POST", _O + "/search", _locked(lambda c: objects.search(c.store, c.otype, c.obj())), _reads, "search"
    ),
    _route("POST", _O + "/batch/read", lambda c: objects.batch_read(c.store, c.otype, c.body), _reads),
    _route(
        "POST",
        _O + "/batch/update",
        lambda c: objects.batch_update(c.store, c.otype, c.body, c.actor),
        _writes,
    ),
    _route(
        "POST",
        _O + "/batch/create",
        lambda c: objects.batch_create(c.store, c.otype, c.body, c.actor),
        _writes,
    ),
    _route("POST", _O, _locked(lambda c: objects.create(c.store, c.otype, c.body, c.actor), 201), _writes),
    _route(
        "GET",
        _O + "/{id}",
        _locked(lambda c: objects.get_one(c.store, c.otype, c.params["id"], c.query)),
        _reads,
    ),
    _route(
        "PATCH",
        _O + "/{id}",
        _locked(lambda c: objects.update_one(c.store, c.otype, c.params["id"], c.body, c.query, c.actor)),
        _writes,
    ),
    _route("GET", "/crm/v3/owners/", _locked(lambda c: owners_page(c.store, c.query)), _owners_read),
    _route("GET", "/crm/v3/owners", _locked(lambda c: owners_page(c.store, c.query)), _owners_read),
    _route(
        "GET",
        "/crm/v3/owners/{ownerId}",
        _locked(lambda c: owner(c.store, c.params["ownerId"])),
        _owners_read,
    ),
    _route(
        "POST",
        "/crm/v4/associations/{from_type}/{to_type}/batch/read",
        lambda c: associations(c.store, c.params["from_type"], c.params["to_type"], c.body),
        _reads,
    ),
    _route(
        "GET", _P + "/groups", _locked(lambda c: {"results": c.schema.list_groups(c.otype)}), _schema_reads
    ),
    _route(
        "POST",
        _P + "/groups",
        _locked(lambda c: c.schema.create_group(c.otype, c.obj()), 201),
        _schema_writes,
    ),
    _route(
        "GET",
        _P + "/groups/{groupName}",
        _locked(lambda c: c.schema.get_group(c.otype, c.params["groupName"])),
        _schema_reads,
    ),
    _route("GET", _P, _locked(_props), _schema_reads),
    _route(
        "POST",
        _P,
        _locked(lambda c: c.schema.create(c.otype, c.obj(), c.store.now_ms()).to_json(), 201),
        _schema_writes,
    ),
    _route(
        "GET",
        _P + "/{name}",
        _locked(lambda c: c.schema.get(c.otype, c.params["name"]).to_json()),
        _schema_reads,
    ),
    _route(
        "PATCH",
        _P + "/{name}",
        _locked(lambda c: c.schema.update(c.otype, c.params["name"], c.obj(), c.store.now_ms()).to_json()),
        _schema_writes,
    ),
]
