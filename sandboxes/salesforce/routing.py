"""Routes of the Salesforce sandbox: how its path templates read, and the answers many handlers share.

``route("GET", "/services/data/v{version}/sobjects/{type}/{id}", handler)`` matches any API version
(``v65.0``), any sObject name and 15/18-character ids; trailing slashes do not matter. Request
counts name it ``"GET /services/data/vXX.X/sobjects/Lead/{id}"``. ``kind`` says which checks the
pipeline runs: ``data`` (a bearer session and the daily API allowance), ``identity`` (a session
only), ``login`` (OAuth, SOAP) and ``public`` (neither).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from leadsync.sandboxes.kit.routing import Paths, Reply, Route, no_content
from leadsync.sandboxes.salesforce.common import SfError

__all__ = ["PATHS", "Reply", "no_content", "not_found", "route"]

PATHS = Paths(
    parts={
        "version": r"\d{2,3}\.\d",
        "id": r"[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?",
        "type": r"[A-Za-z][A-Za-z0-9_]*",
    },
    shown={"version": "XX.X"},
    filled=("type",),
)


def route(method: str, template: str, handler: Callable[[Any], Reply], kind: str = "data") -> Route[Any]:
    return PATHS.route(method, template, handler, kind)


def not_found() -> SfError:
    return SfError(404, "NOT_FOUND", "The requested resource does not exist")
