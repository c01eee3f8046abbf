"""Routes of the Zoho sandbox: how its path templates read, and the scopes each route needs.

``route("GET", "/crm/v8/{module}/{id}", handler, scopes)``: ``{id}`` matches digits only, other
parts a name (``Leads``); a trailing slash still matches. Request counts name a route by its
template (``"GET /crm/v8/{module}"``). ``kind`` is ``api`` (a token, its scopes, the concurrency cap
and the daily credits) or ``accounts`` (the token endpoint, which is not an API call).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from leadsync.sandboxes.kit.routing import Paths, Reply, Route, Scopes, no_scopes

__all__ = ["PATHS", "Reply", "route"]

PATHS = Paths(parts={"id": r"\d+"}, other="[A-Za-z_]+")


def route(
    method: str,
    template: str,
    handler: Callable[[Any], Reply],
    scope: Scopes = no_scopes,
    kind: str = "api",
) -> Route[Any]:
    return PATHS.route(method, template, handler, kind, scope)
