"""The Salesforce sandbox's login and identity endpoints: OAuth 2.0 token and revoke, the SOAP
``login()``, ``/id/{org}/{user}`` and ``userinfo``. Logins are not API calls (no session, no API
allowance used); the identity endpoints need a session. What each flow accepts is ``auth``'s.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qsl, unquote

from leadsync.sandboxes.kit.routing import Route
from leadsync.sandboxes.kit.server import Response
from leadsync.sandboxes.salesforce.common import SfError
from leadsync.sandboxes.salesforce.http import Call
from leadsync.sandboxes.salesforce.routing import Reply, route

__all__ = ["ROUTES"]


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


ROUTES: list[Route[Any]] = [
    route("POST", "/services/oauth2/token", _token, kind="login"),
    route("POST", "/services/oauth2/revoke", _revoke, kind="login"),
    route("POST", "/services/Soap/u/{v}", _soap, kind="login"),
    route("GET", "/services/oauth2/userinfo", _userinfo, kind="identity"),
    route("GET", "/id/{org}/{user}", _identity, kind="identity"),
]
