"""Routes of the Salesforce sandbox: a path template per endpoint, and what a handler gets.

``route("GET", "/services/data/v{version}/sobjects/{type}/{id}", handler)`` matches any API version
(``v65.0``), any sObject name and 15/18-character ids; trailing slashes do not matter. A handler
takes a ``Call`` and answers ``(status, JSON)`` or a ready ``Response`` (CSV, XML, 204).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from leadsync.sandboxes.kit.server import Request, Response
from leadsync.sandboxes.salesforce.auth import Session
from leadsync.sandboxes.salesforce.common import SfError
from leadsync.sandboxes.salesforce.schema import ObjectDef
from leadsync.sandboxes.salesforce.store import Org
from leadsync.sandboxes.salesforce.writes import Actor

if TYPE_CHECKING:
    from leadsync.sandboxes.salesforce.http import SalesforceApp

__all__ = ["Call", "Reply", "Route", "no_content", "not_found", "route"]

Reply = tuple[int, Any] | Response
_PARTS = {
    "version": r"(?P<version>\d{2,3}\.\d)",
    "id": r"(?P<id>[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?)",
    "type": r"(?P<type>[A-Za-z][A-Za-z0-9_]*)",
}


@dataclass
class Call:
    """One API request as a handler sees it."""

    app: SalesforceApp
    request: Request
    params: dict[str, str]
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

    def arg(self, name: str) -> str | None:
        values = self.request.query.get(name)
        return values[0] if values else None

    def json(self) -> Any:
        raw = self.request.body
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise SfError(400, "JSON_PARSER_ERROR", f"Unexpected character: {exc}") from None

    def actor(self) -> Actor:
        header = (self.request.headers.get("Sforce-Auto-Assign") or "").strip()
        return Actor(self.user_id, auto_assign=header.upper() != "FALSE")

    def sobject(self, name: str | None = None) -> ObjectDef:
        """The data sObject named in the path; Salesforce answers 404 for one it does not have."""
        obj = self.org.schema.get(name or self.params.get("type", ""))
        if obj is None:
            raise not_found()
        return obj


Handler = Callable[[Call], Reply]


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    label: str
    handler: Handler
    kind: str = "data"  # data: bearer token and API usage; login: OAuth, SOAP; identity: bearer only

    def endpoint(self, params: dict[str, str]) -> str:
        """``"PATCH /services/data/vXX.X/sobjects/Lead/{id}"``: the type filled, ids templated."""
        label = self.label.replace("{version}", "XX.X")
        if "type" in params:
            label = label.replace("{type}", params["type"])
        return f"{self.method} {label}"


def route(method: str, template: str, handler: Handler, kind: str = "data") -> Route:
    regex = re.escape(template)
    for name, part in _PARTS.items():
        regex = regex.replace(re.escape("{" + name + "}"), part)
    regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", regex)
    return Route(method, re.compile(f"^{regex}/?$"), template, handler, kind)


def not_found() -> SfError:
    return SfError(404, "NOT_FOUND", "The requested resource does not exist")


def no_content() -> Response:
    return Response(204, b"", {}, None)
