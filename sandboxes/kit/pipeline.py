"""The request pipeline every sandbox shares, around the checks that are each CRM's own.

For an API request: find the route → count it (by endpoint and method) → the CRM's checks and the
handler (``serve``: auth, limits, injected faults, in the CRM's order) → its answer, or the CRM's
error body for a refusal, or its 500 for a sandbox bug → a lost answer (``Faults.lose_next``:
the request was applied, the client gets a 502 or a dropped connection) → count the status.
Headers ``serve`` puts in ``headers`` (rate-limit counters) go out on the answer, refusals
included. ``/__sandbox/*``
goes to the sandbox's back door instead (``control``): no token, not counted, never faulted.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from leadsync.sandboxes.kit.control import BackDoor, control_key, control_reply
from leadsync.sandboxes.kit.faults import FaultInjector, FaultPlan
from leadsync.sandboxes.kit.routing import Call, Params, Reply, Route, Routes
from leadsync.sandboxes.kit.server import JSON_TYPE, Dropped, Request, Response
from leadsync.sandboxes.kit.stats import Stats

__all__ = ["ApiApp", "Found"]

C = TypeVar("C", bound=Call[Any])
Found = tuple[Route[C], Params] | None


@dataclass(kw_only=True)
class ApiApp(Generic[C]):
    """An app for ``SandboxServer``; a CRM's subclass (a keyword-only dataclass too) adds what its
    handlers reach, sets the class attributes and writes ``serve`` and its error hooks.
    ``backdoor`` is the sandbox whose methods ``/__sandbox`` calls."""

    server_name: ClassVar[str]  # the Server header
    json_type: ClassVar[str] = JSON_TYPE  # the Content-Type of JSON answers, as the CRM spells it
    error: ClassVar[type[Exception]] = Exception  # the CRM's refusal, which ``refusal`` renders
    routes: Routes[C]
    faults: FaultInjector
    stats: Stats
    backdoor: BackDoor
    host: str = "127.0.0.1"
    port: int = 0
    verbose: bool = False

    # -- what a CRM says its own way ---------------------------------------------------------

    def serve(
        self, request: Request, path: str, found: Found[C], endpoint: str, headers: dict[str, str]
    ) -> Reply:
        """The CRM's checks and the route's handler (``found`` is None: no route matched)."""
        raise NotImplementedError

    def refusal(self, exc: Any) -> Response:
        """A refusal (an instance of ``error``) as the CRM answers it."""
        raise NotImplementedError

    def internal_error(self, message: str) -> Exception:
        """The CRM's 500, for a sandbox bug."""
        raise NotImplementedError

    def storm_error(self) -> Exception:
        """What an injected storm answers (HubSpot and Zoho: a 429; Salesforce: a 503)."""
        raise NotImplementedError

    def server_error(self, status: int) -> Exception:
        """An injected 5xx, with the CRM's body."""
        raise NotImplementedError

    def finish(self, path: str, response: Response) -> Response:
        """Last touches on every answer, the back door's included (a correlation id, a usage header)."""
        return response

    # -- the pipeline ------------------------------------------------------------------------

    def base_url(self, secure: bool = False) -> str:
        return f"{'https' if secure else 'http'}://{self.host}:{self.port}"

    def respond(self, request: Request) -> Response:
        path = request.path
        if path.startswith("/__sandbox/"):
            return self.finish(path, self.control(request, path))
        found = self.routes.match(request.method, path)
        endpoint = found[0].endpoint(found[1]) if found else f"{request.method} {path}"
        self.stats.count("by_endpoint", endpoint)
        self.stats.count("by_method", request.method)
        headers: dict[str, str] = {}
        try:
            reply = self.serve(request, path, found, endpoint, headers)
        except Dropped:
            raise
        except self.error as exc:
            reply = self.refusal(exc)
        except Exception as exc:  # a sandbox bug must still answer, as the CRM's 500
            reply = self.refusal(self.internal_error(f"sandbox error: {exc!r}"))
        if not isinstance(reply, Response):
            reply = Response.json(reply[0], reply[1], {}, self.json_type)
        if reply.status < 400:
            reply = self.lose_if_planned(endpoint, reply)
        self.stats.count("by_status", str(reply.status))
        merged = Response(reply.status, reply.body, {**reply.headers, **headers}, reply.content_type)
        return self.finish(path, merged)

    def drop_if_planned(self, plan: FaultPlan) -> None:
        """An injected drop: the connection closes without an answer."""
        if plan.action == "drop":
            self.stats.count("faults", "dropped")
            raise Dropped

    def lose_if_planned(self, endpoint: str, reply: Response) -> Response:
        """An injected lost answer: the request is applied, the client gets a 5xx or no answer."""
        lost = self.faults.lose(endpoint)
        if lost is None:
            return reply
        self.stats.count("faults", "lost")
        if lost == 0:
            raise Dropped
        return self.refusal(self.server_error(lost))

    def inject(self, plan: FaultPlan) -> None:
        """The injected fault planned for this request: latency, then a drop, a storm or a 5xx."""
        if plan.delay_s > 0:
            self.stats.count("faults", "latency")
            time.sleep(plan.delay_s)
        self.drop_if_planned(plan)
        if plan.action == "storm":
            self.stats.count("faults", "storm")
            raise self.storm_error()
        if plan.action == "error":
            self.stats.count("faults", "5xx")
            raise self.server_error(plan.status)

    def control(self, request: Request, path: str) -> Response:
        """``/__sandbox/*``: the back door's answer; a refusal it raises in the CRM's words."""
        try:
            status, out = control_reply(self.backdoor, control_key(request.method, path), request.body)
        except (TypeError, ValueError, KeyError, re.error) as exc:
            status, out = 400, {"error": f"{type(exc).__name__}: {exc}"}
        except self.error as exc:
            return self.refusal(exc)
        return Response.json(status, out, {}, self.json_type)
