"""The live dashboard: ``/report`` (the html report's page) and ``/report.json`` (its JSON twin),
computed from the state store on request, as ``leadsync report --config`` computes them.

Query parameters, all optional, as the command's flags: ``from`` and ``to`` (dates, inclusive),
``by`` (``month`` or ``week``), ``now`` (an ISO timestamp; default: the time of the request) and
``connection`` (needed when the daemon has several). A bad one answers 400 saying what to write;
so does one the report does not take, or one given twice. The rules are the connection's as the
daemon holds them (re-read when the file changes), so the page counts what the daemon enforces.
A report is kept a little while and computed one at a time (``leadsync.observe.reportcache``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from leadsync.errors import InputError, printable
from leadsync.observe.reportcache import FRESH_S, Key, ReportCache
from leadsync.observe.server import Query, Response
from leadsync.report.command import parse_date, parse_now, report_of, window_of
from leadsync.report.html import render_html
from leadsync.report.inputs import records_from_store
from leadsync.report.output import to_json
from leadsync.report.window import BY, Window
from leadsync.rules.compiled import Rules
from leadsync.sync.state import StateStore

__all__ = ["PARAMETERS", "Dashboard"]

PARAMETERS = ("from", "to", "by", "now", "connection")
_TEXT = "text/plain; charset=utf-8"


class BadRequest(Exception):
    """A query parameter the report cannot use (400, with this message)."""


class Dashboard:
    """The routes ``/report`` and ``/report.json`` over ``store``.

    ``connections``: the daemon's, by name; ``rules_of``: a connection's rules as the daemon
    holds them at the time of the request.
    """

    def __init__(
        self,
        store: StateStore,
        connections: Sequence[str],
        rules_of: Callable[[str], Rules],
        *,
        fresh_s: float = FRESH_S,
    ) -> None:
        self.store = store
        self.connections = list(connections)
        self.rules_of = rules_of
        self.cache = ReportCache(self._compute, rules_of, fresh_s=fresh_s, stale_s=max(fresh_s, 900.0))

    def routes(self) -> dict[str, Callable[[Mapping[str, str], Query], Response]]:
        return {"/report": self.page, "/report.json": self.json}

    def page(self, _headers: Mapping[str, str], query: Query) -> Response:
        return self._answer(
            query, lambda rules, report: ("text/html; charset=utf-8", render_html(report, rules))
        )

    def json(self, _headers: Mapping[str, str], query: Query) -> Response:
        return self._answer(query, lambda _rules, report: ("application/json", to_json(report)))

    def _answer(self, query: Query, render: Callable[[Rules, dict[str, Any]], tuple[str, bytes]]) -> Response:
        try:
            rules, report = self.report(query)
        except BadRequest as exc:
            return 400, _TEXT, f"{exc}\n".encode()
        kind, body = render(rules, report)
        return 200, kind, body

    def report(self, query: Query) -> tuple[Rules, dict[str, Any]]:
        """The rules and the report's JSON object for these parameters (BadRequest when bad)."""
        given = _single(query)
        connection = self._connection(given.get("connection"))
        by = given.get("by", "month")
        if by not in BY:
            raise BadRequest(f"bad parameter `by`: `{printable(by)}`; write by=month or by=week")
        key = (connection, by, given.get("from", ""), given.get("to", ""), given.get("now", ""))
        self._window(key)  # a bad parameter is said at once, never kept
        computed = self.cache.get(key)
        return computed.rules, computed.report

    def _window(self, key: Key) -> tuple[Rules, datetime, Window]:
        connection, by, start, end, now_text = key
        rules = self.rules_of(connection)
        try:
            now = parse_now(now_text or None, "now")
            first, last = parse_date("from", start or None), parse_date("to", end or None)
            return rules, now, window_of(now, rules, first, last, by, ("from", "to"))
        except InputError as error:
            raise BadRequest(
                "; ".join(f"bad parameter `{p.file}`: {printable(p.message)}" for p in error.problems)
            ) from None

    def _compute(self, key: Key) -> tuple[Rules, dict[str, Any]]:
        rules, now, window = self._window(key)
        records = records_from_store(self.store, key[0], rules)
        return rules, report_of(rules, window, records, now)

    def _connection(self, name: str | None) -> str:
        if name is None:
            if len(self.connections) == 1:
                return self.connections[0]
            raise BadRequest(
                f"several connections: add connection=NAME, one of {', '.join(self.connections)}"
            )
        if name not in self.connections:
            known = ", ".join(self.connections)
            raise BadRequest(f"bad parameter `connection`: no connection `{printable(name)}`; one of {known}")
        return name


def _single(query: Query) -> dict[str, str]:
    """Each parameter's one value; an unknown or repeated parameter is a BadRequest."""
    out = {}
    for name, values in query.items():
        if name not in PARAMETERS:
            raise BadRequest(
                f"unknown parameter `{printable(name)}`; the report takes {', '.join(PARAMETERS)}"
            )
        if len(values) != 1:
            raise BadRequest(f"parameter `{name}` given {len(values)} times; give it once")
        out[name] = values[0].strip()
    return out
