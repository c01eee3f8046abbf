"""``GET /crm/v8/{module}/search`` in the Zoho sandbox: ``criteria`` or ``email``, 2,000 results.

``criteria`` is Zoho's ``((Field:operator:value)and(Field:operator:value))`` with ``and``/``or``,
operators ``equals``, ``not_equal``, ``starts_with`` and ``in`` (comma-separated values; ``\\,``
``\\(`` ``\\)`` escaped); a lookup (``What_Id``, ``Owner``) compares its id. Paged by
``page``/``per_page`` (200) up to the 2,000th result; no page tokens
(https://www.zoho.com/crm/developer/docs/api/v8/search-records.html).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from leadsync.sandboxes.kit.routing import Route
from leadsync.sandboxes.kit.server import Response
from leadsync.sandboxes.zoho.common import ZohoError, invalid_data
from leadsync.sandboxes.zoho.http import Call
from leadsync.sandboxes.zoho.reads import fields_of, module_of
from leadsync.sandboxes.zoho.routing import Reply, route
from leadsync.sandboxes.zoho.store import Record

__all__ = ["ROUTES", "parse_criteria"]

LIMIT = 2000
Test = Callable[[Record], bool]
_SPLIT = re.compile(r"(?<!\\),")


def _bad() -> ZohoError:
    return ZohoError(400, "INVALID_QUERY", "invalid query formed", {"param_name": "criteria"})


def _value(rec: Record, name: str) -> str:
    v = rec.get(name)
    return "" if v is None else str(v).casefold()


def _leaf(text: str, fields: set[str]) -> Test:
    parts = re.split(r"(?<!\\):", text, maxsplit=2)
    if len(parts) != 3 or parts[0] not in fields:
        raise _bad()
    name, op, raw = parts
    values = [v.replace("\\", "").casefold() for v in _SPLIT.split(raw)]
    if op == "equals":
        return lambda r: _value(r, name) == values[0]
    if op == "not_equal":
        return lambda r: _value(r, name) != values[0]
    if op == "starts_with":
        return lambda r: _value(r, name).startswith(values[0])
    if op == "in":
        wanted = set(values)
        return lambda r: _value(r, name) in wanted
    raise _bad()


def parse_criteria(text: str, fields: set[str]) -> Test:
    """A predicate for Zoho's criteria string (``INVALID_QUERY`` when it does not parse)."""
    pos = 0

    def group() -> Test:
        nonlocal pos
        if pos >= len(text) or text[pos] != "(":
            raise _bad()
        pos += 1
        if text.startswith("(", pos):
            tests, ops = [group()], []
            while text.startswith(("and", "or"), pos):
                op = "and" if text.startswith("and", pos) else "or"
                pos += len(op)
                ops.append(op)
                tests.append(group())
            if len(set(ops)) > 1 or not text.startswith(")", pos):
                raise _bad()
            pos += 1
            join = all if (ops and ops[0] == "and") or not ops else any
            return lambda r: join(t(r) for t in tests)
        end = pos
        while end < len(text) and not (text[end] == ")" and text[end - 1] != "\\"):
            end += 1
        if end >= len(text):
            raise _bad()
        leaf, pos = _leaf(text[pos:end], fields), end + 1
        return leaf

    test = group()
    if pos != len(text):
        raise _bad()
    return test


def search(call: Call) -> Reply:
    module = module_of(call)
    org = call.org
    fields = fields_of(call, module, required=False)
    per_page = call.int_arg("per_page", 200, 1, 200)
    page = call.int_arg("page", 1)
    criteria, email = call.arg("criteria"), call.arg("email")
    test: Test
    if criteria:
        test = parse_criteria(criteria, set(org.modules[module].fields))
    elif email:
        test = parse_criteria(f"(Email:equals:{email})", {"Email"})
    else:
        raise ZohoError(
            400,
            "REQUIRED_PARAM_MISSING",
            "One of the expected parameter is missing",
            {"param_name": "criteria"},
        )
    rows = [r for r in org.records[module].values() if test(r)]
    if module == "Leads":
        converted = call.arg("converted") or "false"
        if converted not in ("true", "false", "both"):
            raise invalid_data(param_name="converted")
        if converted != "both":
            rows = [r for r in rows if bool(r.get("Converted__s")) == (converted == "true")]
    start = (page - 1) * per_page
    if start >= LIMIT:
        raise ZohoError(400, "LIMIT_EXCEEDED", "search results exceeded", {"limit": LIMIT})
    chunk = rows[start : min(start + per_page, LIMIT)]
    if not chunk:
        return Response(204, b"", {}, None)
    info: dict[str, Any] = {
        "per_page": per_page,
        "count": len(chunk),
        "page": page,
        "more_records": start + len(chunk) < len(rows),
    }
    return 200, {"data": [org.render(module, r, fields) for r in chunk], "info": info}


ROUTES: list[Route[Any]] = [
    route(
        "GET",
        "/crm/v8/{module}/search",
        search,
        lambda p: [f"ZohoCRM.modules.{p.get('module', '').lower()}.READ"],
    ),
]
