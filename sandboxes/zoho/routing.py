"""Routes of the Zoho sandbox: a method, a path pattern, the handler, its scopes and credit cost."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from leadsync.sandboxes.kit.server import Request, Response
from leadsync.sandboxes.zoho.auth import Grant
from leadsync.sandboxes.zoho.common import ZohoError, invalid_data
from leadsync.sandboxes.zoho.store import Org

__all__ = ["Call", "Reply", "Route", "route"]

Reply = tuple[int, Any] | Response


@dataclass
class Call:
    """One API request as a handler sees it; ``user`` is the token's user."""

    app: Any
    request: Request
    params: dict[str, str]
    grant: Grant | None = None

    @property
    def org(self) -> Org:
        org: Org = self.app.org
        return org

    @property
    def user(self) -> str:
        return self.grant.user_id if self.grant else self.org.api_user

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.request.target).query, keep_blank_values=True)

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

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
        try:
            return json.loads(self.request.body or b"null")
        except ValueError:
            raise ZohoError(400, "INVALID_DATA", "body", {"expected_data_type": "jsonobject"}) from None


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Callable[[Call], Reply]
    name: str
    scope: Callable[[dict[str, str]], list[str]]
    kind: str = "api"  # "api" (token, limits) or "accounts" (the token endpoint)


def route(
    method: str,
    template: str,
    handler: Callable[[Call], Reply],
    scope: Callable[[dict[str, str]], list[str]] = lambda p: [],
    kind: str = "api",
) -> Route:
    """``/crm/v8/{module}/{id}`` → a regex with named groups; ``{id}`` matches digits only."""
    regex = re.sub(
        r"\{(\w+)\}", lambda m: rf"(?P<{m[1]}>\d+)" if m[1] == "id" else rf"(?P<{m[1]}>[A-Za-z_]+)", template
    )
    return Route(method, re.compile(f"^{regex}/?$"), handler, f"{method} {template}", scope, kind)
