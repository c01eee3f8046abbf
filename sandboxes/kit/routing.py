"""Routes of a sandbox: path templates, the table that finds a request's route, and what a handler gets.

A CRM's templates read as its documentation writes them (``/crm/v8/{module}/{id}``); a ``Paths``
says what each ``{part}`` matches for that CRM and how the request counts name the endpoint
(``"PATCH /services/data/vXX.X/sobjects/Lead/{id}"``: the version shown as ``XX.X``, the object
filled in, ids left templated). A handler takes a ``Call`` (the CRM's subclass adds what its
handlers need) and answers ``(status, JSON)`` or a ready ``Response``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from leadsync.sandboxes.kit.server import Request, Response

__all__ = ["Call", "Paths", "Reply", "Route", "Routes", "no_content", "no_scopes", "parse_json"]

Reply = tuple[int, Any] | Response
Params = dict[str, str]
Scopes = Callable[[Params], list[str]]
A = TypeVar("A")
C = TypeVar("C", bound="Call[Any]")


def no_scopes(params: Params) -> list[str]:
    return []


def no_content() -> Response:
    """204, without a body or a Content-Type."""
    return Response(204, b"", {}, None)


def parse_json(raw: bytes, invalid: Callable[[ValueError], Exception], blank_is_none: bool = True) -> Any:
    """A request body as JSON: None when empty (or only white space, with ``blank_is_none``); a body
    that is not JSON raises what ``invalid`` makes of the error (each CRM words it its own way)."""
    if blank_is_none and not raw.strip():
        return None
    try:
        return json.loads(raw or b"null")
    except ValueError as exc:
        raise invalid(exc) from None


@dataclass
class Call(Generic[A]):
    """One API request as a handler sees it: the app it reached, the request, the path's parts."""

    app: A
    request: Request
    params: Params

    @property
    def query(self) -> dict[str, list[str]]:
        return self.request.query

    def arg(self, name: str) -> str | None:
        """The first value of a query-string parameter."""
        values = self.request.query.get(name)
        return values[0] if values else None


@dataclass(frozen=True)
class Route(Generic[C]):
    """One endpoint: method, path pattern, handler; ``kind`` and ``scopes`` are the CRM's to read
    (which checks the pipeline runs, which scopes a token needs)."""

    method: str
    pattern: re.Pattern[str]
    name: str  # "METHOD template", the version shown as the counts show it
    handler: Callable[[C], Reply]
    kind: str = "api"
    scopes: Scopes = no_scopes
    filled: tuple[str, ...] = ()  # parts of ``name`` the request's values replace

    def endpoint(self, params: Params) -> str:
        """The endpoint as request counts name it: ``filled`` parts replaced, ids kept templated."""
        name = self.name
        for part in self.filled:
            if part in params:
                name = name.replace("{" + part + "}", params[part])
        return name


@dataclass(frozen=True)
class Paths:
    """How one CRM's path templates read: what a ``{part}`` matches (``other`` unless named in
    ``parts``), how endpoint names show a part (``shown``) or fill it from the request
    (``filled``), and whether a trailing slash still matches."""

    parts: Mapping[str, str] = field(default_factory=dict)
    other: str = "[^/]+"
    shown: Mapping[str, str] = field(default_factory=dict)
    filled: tuple[str, ...] = ()
    trailing_slash: bool = True

    def route(
        self,
        method: str,
        template: str,
        handler: Callable[[C], Reply],
        kind: str = "api",
        scopes: Scopes = no_scopes,
    ) -> Route[C]:
        regex = re.sub(
            r"\\\{(\w+)\\\}",
            lambda m: f"(?P<{m[1]}>{self.parts.get(m[1], self.other)})",
            re.escape(template),
        )
        name = template
        for part, shown in self.shown.items():
            name = name.replace("{" + part + "}", shown)
        filled = tuple(p for p in self.filled if "{" + p + "}" in template)
        slash = "/?" if self.trailing_slash else ""
        return Route(
            method, re.compile(f"^{regex}{slash}$"), f"{method} {name}", handler, kind, scopes, filled
        )


class Routes(Generic[C]):
    """A sandbox's route table: the first route of the method whose pattern matches wins."""

    def __init__(self, routes: Iterable[Route[C]]) -> None:
        self.all = list(routes)
        self._by_method: dict[str, list[Route[C]]] = {}
        for r in self.all:
            self._by_method.setdefault(r.method, []).append(r)

    def match(self, method: str, path: str) -> tuple[Route[C], Params] | None:
        for r in self._by_method.get(method, ()):
            m = r.pattern.match(path)
            if m:
                return r, {k: v for k, v in m.groupdict().items() if v is not None}
        return None

    def methods(self, path: str) -> list[str]:
        """The methods some route takes on this path (a 405 names them; none: a 404)."""
        return sorted({r.method for r in self.all if r.pattern.match(path)})
