"""``POST /crm/v8/coql`` in the Zoho sandbox: the COQL subset a keyset listing needs, Zoho's rules.

Serves ``{"select_query": "select F, … from Module [where C] [order by F [asc|desc], …]
[limit N [offset M]]"}`` (https://www.zoho.com/crm/developer/docs/api/v8/COQL-Overview.html,
COQL-Limitations.html) and refuses as Zoho does:

- ``SYNTAX_ERROR`` (with ``near``): a query it cannot parse, or more than two criteria side by
  side without brackets;
- ``INVALID_QUERY``: an unknown module or column, a value the column cannot hold;
- ``LIMIT_EXCEEDED``: more than 50 select columns or 25 criteria, a ``limit`` over 2,000, an
  ``offset`` at the listing cap (100,000, ``Limits.listing_cap``; rows past it come only by a
  keyset such as ``id > …``).

Criteria: ``= != > < >= <=``, ``is [not] null``, ``and``/``or`` and brackets, numbers, 'quoted'
text and datetimes (ISO 8601 with an offset). Scopes: ``ZohoCRM.coql.READ`` (the route) and the
module's READ. Credits by ``limit`` (``limits.coql_credits``). Answers ``{"data": [...], "info":
{"count", "more_records"}}``, or 204 when no row matches; lookups come as ``{"id"}``. Converted
leads are rows like any other.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from leadsync.sandboxes.kit.routing import Route
from leadsync.sandboxes.kit.server import Response
from leadsync.sandboxes.zoho.common import JSON, ZohoError
from leadsync.sandboxes.zoho.http import Call
from leadsync.sandboxes.zoho.routing import Reply, route
from leadsync.sandboxes.zoho.store import Record

__all__ = ["ROUTES", "parse_query"]

MAX_LIMIT = 2000
MAX_COLUMNS = 50
MAX_CRITERIA = 25
_TOKEN = re.compile(r"\s*('(?:[^'\\]|\\.)*'|-?\d+|>=|<=|!=|[=<>(),]|[A-Za-z_$][\w$.]*)")
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
    ">=": operator.ge,
    "<=": operator.le,
}
Test = Callable[[Record], bool]


def _syntax(near: str, column: int) -> ZohoError:
    return ZohoError(400, "SYNTAX_ERROR", "invalid query formed", {"line": 1, "column": column, "near": near})


def _invalid(message: str, **details: Any) -> ZohoError:
    return ZohoError(400, "INVALID_QUERY", message, details)


class _Parser:
    """A recursive-descent reader of one query over the org's module metadata."""

    def __init__(self, text: str, call: Call) -> None:
        self.call = call
        self.tokens: list[tuple[str, int]] = []
        pos = 0
        while pos < len(text.rstrip()):
            m = _TOKEN.match(text, pos)
            if not m:
                raise _syntax(text[pos : pos + 10].strip(), pos + 1)
            self.tokens.append((m[1], m.start(1) + 1))
            pos = m.end()
        self.i = 0
        self.criteria = 0
        self.module = ""

    def peek(self) -> str:
        return self.tokens[self.i][0].lower() if self.i < len(self.tokens) else ""

    def take(self, *expected: str) -> str:
        if self.i >= len(self.tokens):
            raise _syntax("", 0)
        word, col = self.tokens[self.i]
        if expected and word.lower() not in expected:
            raise _syntax(word, col)
        self.i += 1
        return word

    def column(self, clause: str) -> str:
        name = self.take()
        if name == "id" or name in self.call.org.modules[self.module].fields:
            return name
        if not re.fullmatch(r"[A-Za-z_][\w]*", name):
            raise _syntax(name, self.tokens[self.i - 1][1])
        raise _invalid("column given seems to be invalid", column_name=name, clause=clause)

    def condition(self) -> Test:
        """Up to two terms joined by ``and``/``or``; a third needs brackets, as Zoho says."""
        left = self.term()
        if self.peek() not in ("and", "or"):
            return left
        joiner = self.take()
        right = self.term()
        if self.peek() in ("and", "or"):
            raise _syntax(self.tokens[self.i][0], self.tokens[self.i][1])
        if joiner.lower() == "and":
            return lambda r: left(r) and right(r)
        return lambda r: left(r) or right(r)

    def term(self) -> Test:
        if self.peek() == "(":
            self.take()
            inner = self.condition()
            self.take(")")
            return inner
        self.criteria += 1
        if self.criteria > MAX_CRITERIA:
            raise ZohoError(400, "LIMIT_EXCEEDED", "criteria limit exceeded", {"limit": MAX_CRITERIA})
        name = self.column("where")
        if self.peek() == "is":
            self.take()
            negate = self.peek() == "not"
            if negate:
                self.take()
            self.take("null")
            return lambda r: (r.get(name) in (None, "")) != negate
        op = self.take(*_OPS)
        value = self.value(name, self.take())
        compare = _OPS[op]
        return lambda r: _holds(compare, _stored(r, name), value)

    def value(self, name: str, raw: str) -> Any:
        text = raw[1:-1].replace("\\'", "'") if raw.startswith("'") else raw
        kind = "bigint" if name == "id" else self.call.org.modules[self.module].fields[name].data_type
        try:
            if kind == "datetime":
                parsed = datetime.fromisoformat(text)
                if parsed.tzinfo is None or not raw.startswith("'"):
                    raise ValueError
                return parsed
            if kind in ("bigint", "integer") or name == "id":
                return int(text)
        except ValueError:
            raise _invalid(
                "value given seems to be invalid for the column", column_name=name, data_type=kind
            ) from None
        if kind == "boolean":
            return text.lower() == "true"
        return text


def _stored(rec: Record, name: str) -> Any:
    value = rec.get(name)
    if name == "id":
        return int(str(value))
    if isinstance(value, dict):
        return value.get("id")
    return value


def _holds(compare: Callable[[Any, Any], bool], stored: Any, value: Any) -> bool:
    if stored is None:
        return False
    try:
        return bool(compare(stored, value))
    except TypeError:
        return bool(compare(str(stored), str(value)))


def parse_query(text: str, call: Call) -> tuple[str, list[str], Test, list[tuple[str, bool]], int, int]:
    """(module, columns, where, order by [(column, descending)], limit, offset) of one query."""
    p = _Parser(text, call)
    p.take("select")
    names = [p.take()]
    while p.peek() == ",":
        p.take()
        names.append(p.take())
    p.take("from")
    p.module = p.take()
    if p.module not in call.org.modules:
        raise _invalid("invalid query formed", module=p.module)
    if len(names) > MAX_COLUMNS:
        raise ZohoError(400, "LIMIT_EXCEEDED", "select column limit exceeded", {"limit": MAX_COLUMNS})
    fields = call.org.modules[p.module].fields
    for name in names:
        if name != "id" and name not in fields:
            raise _invalid("column given seems to be invalid", column_name=name, clause="select")
    where: Test = lambda r: True  # noqa: E731
    if p.peek() == "where":
        p.take()
        where = p.condition()
    order: list[tuple[str, bool]] = []
    if p.peek() == "order":
        p.take()
        p.take("by")
        while True:
            column = p.column("order by")
            desc = p.peek() in ("asc", "desc") and p.take().lower() == "desc"
            order.append((column, desc))
            if p.peek() != ",":
                break
            p.take()
    limit, offset = 200, 0
    if p.peek() == "limit":
        p.take()
        limit = _number(p)
        if p.peek() in (",", "offset"):
            second = p.take() == ","
            value = _number(p)
            offset, limit = (limit, value) if second else (value, limit)
    if p.i != len(p.tokens):
        word, col = p.tokens[p.i]
        raise _syntax(word, col)
    return p.module, names, where, order, limit, offset


def _number(p: _Parser) -> int:
    word = p.take()
    if not word.isdigit():
        raise _syntax(word, p.tokens[p.i - 1][1])
    return int(word)


def _render(call: Call, module: str, rec: Record, names: list[str]) -> JSON:
    """A COQL row: the selected columns, lookups as ``{"id"}``, datetimes in the org's offset."""
    fields = call.org.modules[module].fields
    out: JSON = {}
    for name in names:
        value = rec.get(name)
        kind = fields[name].data_type if name in fields else ""
        if kind == "datetime":
            value = call.org.time(value)
        elif kind in ("lookup", "ownerlookup") and value:
            value = {"id": value}
        out[name] = value
    out["id"] = rec["id"]
    return out


def _sort_key(name: str) -> Callable[[Record], tuple[bool, Any]]:
    """Rows by one column, empty values last."""

    def key(rec: Record) -> tuple[bool, Any]:
        value = _stored(rec, name)
        return value is None, value if value is not None else 0

    return key


def coql(call: Call) -> Reply:
    body = call.json()
    text = body.get("select_query") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise ZohoError(
            400,
            "REQUIRED_PARAM_MISSING",
            "One of the expected parameter is missing",
            {"param_name": "select_query"},
        )
    module, names, where, order, limit, offset = parse_query(text, call)
    if call.grant is not None:
        call.app.auth.require(call.grant, f"ZohoCRM.modules.{module.lower()}.READ")
    cap = call.app.limits.limits.listing_cap
    if limit > MAX_LIMIT or limit < 1:
        raise ZohoError(400, "LIMIT_EXCEEDED", "limit exceeded", {"clause": "limit", "limit": MAX_LIMIT})
    if offset >= cap:  # rows past the cap are reached by a keyset (`id > …`), never by offset
        raise ZohoError(400, "LIMIT_EXCEEDED", "offset limit exceeded", {"clause": "offset", "limit": cap})
    rows = [r for r in call.org.records[module].values() if where(r)]
    for name, desc in reversed(order or [("id", False)]):
        rows.sort(key=_sort_key(name), reverse=desc)
    chunk = rows[offset : min(offset + limit, cap)]
    if not chunk:
        return Response(204, b"", {}, None)
    info: JSON = {"count": len(chunk), "more_records": offset + len(chunk) < len(rows)}
    return 200, {"data": [_render(call, module, r, names) for r in chunk], "info": info}


ROUTES: list[Route[Any]] = [route("POST", "/crm/v8/coql", coql, lambda p: ["ZohoCRM.coql.READ"])]
