"""SOQL for the Salesforce sandbox: a tokenizer and a recursive-descent parser.

The subset: ``SELECT`` fields (one-level parent paths like ``Owner.Name``) or ``COUNT()``, and in a
top-level query parent-to-child subqueries ``(SELECT … FROM Tasks WHERE … ORDER BY … LIMIT n)``
(one level: a subquery inside a subquery is refused here, though API 58.0+ allows five), ``FROM
one object, ``WHERE`` with ``AND``/``OR``/``NOT`` and parentheses (mixing ``AND`` and ``OR`` without
parentheses is an error, as in Salesforce), ``= != <> < <= > >= IN NOT IN LIKE``, semi-joins
``IN (SELECT f FROM X ...)``, ``ORDER BY f [ASC|DESC] [NULLS FIRST|LAST]``, ``LIMIT``, ``OFFSET``.
Literals: quoted strings with backslash escapes, numbers, ``true``/``false``/``null``, datetimes
(``2024-05-01T10:00:00Z``, ``...00.000+0000``, ``...00+01:00``), dates (``2024-05-01``) and the
date literals ``TODAY``, ``YESTERDAY``, ``TOMORROW``, ``LAST_N_DAYS:n``, ``NEXT_N_DAYS:n``.
Errors carry the position, shown as Salesforce shows them (``ERROR at Row:1:Column:8``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from leadsync.sandboxes.salesforce.common import SfError, parse_datetime

__all__ = [
    "Cond",
    "FieldRef",
    "Literal",
    "Logic",
    "Not",
    "OrderItem",
    "Query",
    "SemiJoin",
    "Subquery",
    "parse",
    "soql_error",
]

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2}(?![\dT]))
  | (?P<number>-?\d+(?:\.\d+)?(?![\w-]))
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<badstring>')
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?::\d+)?)
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),.])
    """,
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "'": "'", '"': '"', "\\": "\\"}
_DATE_WORDS = ("TODAY", "YESTERDAY", "TOMORROW", "LAST_N_DAYS", "NEXT_N_DAYS")
_KEYWORDS = {"AND", "OR", "NOT", "FROM", "WHERE", "ORDER", "BY", "LIMIT", "OFFSET", "GROUP", "HAVING"}


@dataclass
class Token:
    kind: str
    text: str
    pos: int
    value: Any = None

    @property
    def upper(self) -> str:
        return self.text.upper()


@dataclass
class FieldRef:
    path: tuple[str, ...]  # ("Name",) or ("Owner", "Name")
    pos: int

    @property
    def text(self) -> str:
        return ".".join(self.path)


@dataclass
class Literal:
    kind: str  # string | number | boolean | null | datetime | date | dateword
    value: Any
    pos: int


@dataclass
class SemiJoin:
    query: Query
    pos: int


@dataclass
class Subquery:
    """``(SELECT … FROM Relationship …)`` in a SELECT list: ``query.sobject`` is the relationship name."""

    query: Query
    pos: int


@dataclass
class Cond:
    field: FieldRef
    op: str  # = != < <= > >= IN NOT IN LIKE
    value: Literal | list[Literal] | SemiJoin


@dataclass
class Logic:
    op: str  # AND | OR
    parts: list[Any]


@dataclass
class Not:
    part: Any


@dataclass
class OrderItem:
    field: FieldRef
    desc: bool = False
    nulls_last: bool = False


@dataclass
class Query:
    text: str
    fields: list[FieldRef] = field(default_factory=list)
    subqueries: list[Subquery] = field(default_factory=list)
    count: bool = False
    sobject: str = ""
    sobject_pos: int = 0
    where: Any = None
    order: list[OrderItem] = field(default_factory=list)
    limit: int | None = None
    offset: int | None = None


def soql_error(text: str, pos: int, code: str, message: str) -> SfError:
    """An error in Salesforce's shape: the query line, a caret, the row and column, the message."""
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    line = text[start : end if end >= 0 else len(text)]
    row, col = text.count("\n", 0, pos) + 1, pos - start + 1
    return SfError(400, code, f"\n{line}\n{' ' * (col - 1)}^\nERROR at Row:{row}:Column:{col}\n{message}")


def _unescape(text: str, raw: str, pos: int) -> str:
    out, i = [], 1
    while i < len(raw) - 1:
        ch = raw[i]
        if ch == "\\":
            nxt = raw[i + 1]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
            elif nxt in "%_":
                out.append("\\" + nxt)  # kept for LIKE
            else:
                raise soql_error(
                    text,
                    pos + i,
                    "MALFORMED_QUERY",
                    f"Invalid string literal '{raw}'. Illegal escape sequence",
                )
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise soql_error(text, pos, "MALFORMED_QUERY", f"unexpected token: '{text[pos]}'")
        kind = m.lastgroup or ""
        raw = m.group(0)
        if kind == "badstring":
            raise soql_error(text, pos, "MALFORMED_QUERY", f"unexpected token: {text[pos : pos + 20]}")
        if kind == "string":
            tokens.append(Token(kind, raw, pos, _unescape(text, raw, pos)))
        elif kind == "datetime":
            ts = parse_datetime(raw, need_zone=True)
            if ts is None:
                raise soql_error(
                    text, pos, "MALFORMED_QUERY", f"line 1:{pos} no viable alternative at character '{raw}'"
                )
            tokens.append(Token(kind, raw, pos, ts))
        elif kind != "ws":
            tokens.append(Token(kind, raw, pos))
        pos = m.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def error(self, tok: Token | None = None) -> SfError:
        tok = tok or self.tok
        shown = tok.text if tok.kind != "end" else "<EOF>"
        return soql_error(self.text, tok.pos, "MALFORMED_QUERY", f"unexpected token: '{shown}'")

    def word(self, *words: str) -> bool:
        return self.tok.kind == "ident" and self.tok.upper in words

    def expect_word(self, word: str) -> Token:
        if not self.word(word):
            raise self.error()
        return self.take()

    def expect(self, text: str) -> Token:
        if self.tok.text != text:
            raise self.error()
        return self.take()

    def query(self, nested: bool = False) -> Query:
        q = Query(self.text)
        self.expect_word("SELECT")
        if self.word("COUNT") and self.tokens[self.i + 1].text == "(":
            self.take()
            self.expect("(")
            if self.tok.text != ")":
                raise soql_error(
                    self.text, self.tok.pos, "MALFORMED_QUERY", "Aggregate queries are not supported here"
                )
            self.expect(")")
            q.count = True
        else:
            self.select_item(q, nested)
            while self.tok.text == ",":
                self.take()
                self.select_item(q, nested)
        self.expect_word("FROM")
        if self.tok.kind != "ident" or self.tok.upper in ("WHERE", "ORDER", "LIMIT", "OFFSET"):
            raise self.error()  # "Group" is an object here, not the keyword
        q.sobject_pos, q.sobject = self.tok.pos, self.take().text
        if self.word("WHERE"):
            self.take()
            q.where = self.condition()
        if self.word("GROUP", "HAVING"):
            raise soql_error(
                self.text, self.tok.pos, "MALFORMED_QUERY", "Aggregate queries are not supported here"
            )
        if self.word("ORDER"):
            self.take()
            self.expect_word("BY")
            q.order.append(self.order_item())
            while self.tok.text == ",":
                self.take()
                q.order.append(self.order_item())
        if self.word("LIMIT"):
            self.take()
            q.limit = self.integer()
        if self.word("OFFSET"):
            self.take()
            q.offset = self.integer()
        if not nested and self.tok.kind != "end":
            raise self.error()
        return q

    def select_item(self, q: Query, nested: bool) -> None:
        """A field, or (top level only) a parent-to-child subquery."""
        if not nested and self.tok.text == "(" and self.tokens[self.i + 1].upper == "SELECT":
            start = self.take()
            q.subqueries.append(Subquery(self.query(nested=True), start.pos))
            self.expect(")")
            return
        q.fields.append(self.field_ref())

    def integer(self) -> int:
        tok = self.take()
        if tok.kind != "number" or not tok.text.isdigit():
            raise self.error(tok)
        return int(tok.text)

    def field_ref(self) -> FieldRef:
        tok = self.take()
        if tok.kind != "ident" or tok.upper in _KEYWORDS:
            raise self.error(tok)
        path = [tok.text]
        while self.tok.text == ".":
            self.take()
            part = self.take()
            if part.kind != "ident":
                raise self.error(part)
            path.append(part.text)
        return FieldRef(tuple(path), tok.pos)

    def order_item(self) -> OrderItem:
        item = OrderItem(self.field_ref())
        if self.word("ASC", "DESC"):
            item.desc = self.take().upper == "DESC"
        item.nulls_last = item.desc
        if self.word("NULLS"):
            self.take()
            if not self.word("FIRST", "LAST"):
                raise self.error()
            item.nulls_last = self.take().upper == "LAST"
        return item

    def condition(self) -> Any:
        parts = [self.unary()]
        op: str | None = None
        while self.word("AND", "OR"):
            tok = self.take()
            if op is not None and tok.upper != op:
                raise self.error(tok)  # SOQL needs parentheses to mix AND and OR
            op = tok.upper
            parts.append(self.unary())
        return parts[0] if op is None else Logic(op, parts)

    def unary(self) -> Any:
        if self.word("NOT"):
            self.take()
            return Not(self.unary())
        if self.tok.text == "(":
            self.take()
            inner = self.condition()
            self.expect(")")
            return inner
        return self.comparison()

    def comparison(self) -> Cond:
        ref = self.field_ref()
        if self.tok.kind == "op":
            op = self.take().text
            return Cond(ref, "!=" if op == "<>" else op, self.literal())
        if self.word("LIKE"):
            self.take()
            return Cond(ref, "LIKE", self.literal())
        negate = False
        if self.word("NOT"):
            self.take()
            negate = True
        if not self.word("IN"):
            raise self.error()
        self.take()
        start = self.expect("(")
        if self.word("SELECT"):
            sub = SemiJoin(self.query(nested=True), start.pos)
            self.expect(")")
            return Cond(ref, "NOT IN" if negate else "IN", sub)
        values = [self.literal()]
        while self.tok.text == ",":
            self.take()
            values.append(self.literal())
        self.expect(")")
        return Cond(ref, "NOT IN" if negate else "IN", values)

    def literal(self) -> Literal:
        tok = self.take()
        if tok.kind == "string":
            return Literal("string", tok.value, tok.pos)
        if tok.kind == "number":
            return Literal("number", float(tok.text) if "." in tok.text else int(tok.text), tok.pos)
        if tok.kind == "datetime":
            return Literal("datetime", tok.value, tok.pos)
        if tok.kind == "date":
            try:
                return Literal("date", date.fromisoformat(tok.text), tok.pos)
            except ValueError:
                raise self.error(tok) from None
        if tok.kind == "ident":
            up = tok.upper
            if up in ("TRUE", "FALSE"):
                return Literal("boolean", up == "TRUE", tok.pos)
            if up == "NULL":
                return Literal("null", None, tok.pos)
            word, _, n = up.partition(":")
            if word in _DATE_WORDS and (bool(n) == word.endswith("_N_DAYS")):
                return Literal("dateword", (word, int(n or 0)), tok.pos)
        raise self.error(tok)


def parse(text: str) -> Query:
    """Parse a SOQL query; a syntax error is a 400 ``MALFORMED_QUERY``."""
    if not text.strip():
        raise SfError(400, "MALFORMED_QUERY", "A query string is required (the q parameter)")
    return _Parser(text).query()
