"""Evaluating SOQL in the Salesforce sandbox: field paths resolved, conditions compiled to
predicates, values compared and sorted, records shaped as the REST API returns them. ``query``
runs a whole query with it, ``subquery`` a parent's child lists.

- An unknown field, or one the user cannot see, is ``INVALID_FIELD``; an unknown object is
  ``INVALID_TYPE``; a literal of the wrong kind for its field is ``INVALID_QUERY_FILTER_OPERATOR``.
- Text compares case-insensitively (``=``, ``LIKE``, ordering); ``!=`` and ``NOT IN`` match nulls;
  datetimes and dates compare as instants and days; date literals (``TODAY``, ``LAST_N_DAYS:n``)
  are days in the user's time zone.
- ``ORDER BY`` puts nulls first ascending and last descending unless told.
- Field history (``LeadHistory``) follows field-level security on its parent: a row of a field the
  user cannot see is left out.
- A parent field comes back nested (``{"Owner": {"attributes": {...}, "Name": ...}}``), or
  ``null`` when the lookup is empty; a polymorphic lookup (Owner, Who, What) is Salesforce's
  ``Name`` object, with its short list of fields.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from leadsync.sandboxes.salesforce.common import JSON, SfError, full_id, valid_id
from leadsync.sandboxes.salesforce.history import HISTORY
from leadsync.sandboxes.salesforce.schema import FieldDef, ObjectDef
from leadsync.sandboxes.salesforce.soql import (
    Cond,
    FieldRef,
    Literal,
    Logic,
    Not,
    Query,
    SemiJoin,
    soql_error,
)
from leadsync.sandboxes.salesforce.store import Org, Record
from leadsync.sandboxes.salesforce.values import to_json
from leadsync.sandboxes.salesforce.writes import visible

__all__ = ["Column", "Run", "always", "compare_key", "history_shown", "sort_key", "sort_rows"]
# The fields of Salesforce's ``Name`` object: what a polymorphic lookup can reach.
NAME_FIELDS = {
    n: FieldDef(n, t)
    for n, t in (
        ("Id", "id"),
        ("Name", "string"),
        ("Type", "string"),
        ("FirstName", "string"),
        ("LastName", "string"),
        ("Email", "email"),
        ("Alias", "string"),
        ("IsActive", "boolean"),
        ("Title", "string"),
        ("Username", "string"),
        ("Phone", "phone"),
    )
}
_NO_COLUMN = (
    "No such column '{name}' on entity '{obj}'. If you are attempting to use a custom field, be sure to "
    "append the '__c' after the custom field name. Please reference your WSDL or the describe call for the "
    "appropriate names."
)
_NO_RELATION = (
    "Didn't understand relationship '{name}' in field path. If you are attempting to use a custom "
    "relationship, be sure to append the '__r' after the custom relationship name. Please reference your "
    "WSDL or the describe call for the appropriate names."
)
_NO_TYPE = (
    "sObject type '{name}' is not supported. If you are attempting to use a custom object, be sure to "
    "append the '__c' after the entity name. Please reference your WSDL or the describe call for the "
    "appropriate names."
)
_KIND = {"datetime": "dateTime", "date": "date", "boolean": "boolean", "int": "integer", "double": "double"}


@dataclass
class Column:
    """One resolved field path: the field, and for a parent path the lookup that leads there."""

    ref: FieldRef
    field: FieldDef
    lookup: FieldDef | None = None


class Run:
    """One query evaluated as one user: field paths resolved against the schema and what the user
    may see, conditions compiled to predicates, records shaped as the REST API returns them."""

    def __init__(self, org: Org, text: str, user_id: str, tooling: bool) -> None:
        self.org, self.text, self.user_id, self.tooling = org, text, user_id, tooling
        user = org.get("User", user_id) or {}
        self.zone = ZoneInfo(str(user.get("TimeZoneSidKey") or "UTC"))

    def object(self, q: Query) -> ObjectDef:
        obj = self.org.schema.get(q.sobject, tooling=self.tooling)
        if obj is None or not obj.queryable:
            raise soql_error(self.text, q.sobject_pos, "INVALID_TYPE", _NO_TYPE.format(name=q.sobject))
        return obj

    def resolve(self, obj: ObjectDef, ref: FieldRef) -> Column:
        seen = visible(self.org, obj, self.user_id)
        if len(ref.path) == 1:
            f = obj.field(ref.path[0])
            if f is None or f.name not in seen:
                raise self._no_column(ref, ref.path[0], obj.name)
            return Column(ref, f)
        lookup = obj.relationship(ref.path[0])
        if len(ref.path) > 2 or lookup is None or lookup.name not in seen:
            raise soql_error(self.text, ref.pos, "INVALID_FIELD", _NO_RELATION.format(name=ref.path[0]))
        if len(lookup.reference_to) > 1:
            target = NAME_FIELDS.get(next((n for n in NAME_FIELDS if n.lower() == ref.path[1].lower()), ""))
            if target is None:
                raise self._no_column(ref, ref.text, "Name")
            return Column(ref, target, lookup)
        parent = self.org.obj(lookup.reference_to[0])
        f = parent.field(ref.path[1])
        if f is None or f.name not in visible(self.org, parent, self.user_id):
            raise self._no_column(ref, ref.text, obj.name)
        return Column(ref, f, lookup)

    def _no_column(self, ref: FieldRef, name: str, entity: str) -> SfError:
        return soql_error(self.text, ref.pos, "INVALID_FIELD", _NO_COLUMN.format(name=name, obj=entity))

    def parent(self, rec: Record, lookup: FieldDef) -> tuple[str, Record] | None:
        pid = rec.get(lookup.name)
        return self.org.find(pid) if pid else None

    def value(self, rec: Record, col: Column) -> Any:
        if col.lookup is None:
            return rec.get(col.field.name)
        found = self.parent(rec, col.lookup)
        if found is None:
            return None
        ptype, prec = found
        if len(col.lookup.reference_to) > 1 and col.field.name == "Type":
            return prec.get("Type") if ptype == "Group" else ptype
        return prec.get(col.field.name)

    # -- WHERE ---------------------------------------------------------------------------------

    def predicate(self, obj: ObjectDef, node: Any) -> Callable[[Record], bool]:
        if isinstance(node, Logic):
            parts = [self.predicate(obj, p) for p in node.parts]
            if node.op == "AND":
                return lambda r: all(p(r) for p in parts)
            return lambda r: any(p(r) for p in parts)
        if isinstance(node, Not):
            inner = self.predicate(obj, node.part)
            return lambda r: not inner(r)
        assert isinstance(node, Cond)
        col = self.resolve(obj, node.field)
        test = self.test(col, node)
        return lambda r: test(self.value(r, col))

    def test(self, col: Column, cond: Cond) -> Callable[[Any], bool]:
        f, op = col.field, cond.op
        if isinstance(cond.value, SemiJoin):
            wanted = self.semi_join(cond.value)
            return (lambda v: v in wanted) if op == "IN" else (lambda v: v not in wanted)
        if isinstance(cond.value, list):
            keys = [self.literal(f, lit) for lit in cond.value]
            flat = {k for k in keys if not isinstance(k, tuple)}
            ranges = [k for k in keys if isinstance(k, tuple)]

            def found(v: Any) -> bool:
                return v is not None and (
                    compare_key(f, v) in flat or any(_in_range(compare_key(f, v), k) for k in ranges)
                )

            return found if op == "IN" else (lambda v: v is None or not found(v))
        lit = cond.value
        if op == "LIKE":
            if f.type not in (
                "string",
                "textarea",
                "picklist",
                "email",
                "phone",
                "url",
                "combobox",
                "id",
                "reference",
            ):
                raise soql_error(
                    self.text,
                    lit.pos,
                    "INVALID_QUERY_FILTER_OPERATOR",
                    f"invalid operator on {f.type} field: {f.name}",
                )
            if lit.kind != "string":
                raise soql_error(self.text, lit.pos, "MALFORMED_QUERY", "LIKE needs a quoted pattern")
            rx = _like(str(lit.value))
            return lambda v: v is not None and rx.fullmatch(str(v)) is not None
        want = self.literal(f, lit)
        return lambda v: _compare(op, compare_key(f, v), want)

    def literal(self, f: FieldDef, lit: Literal) -> Any:
        """The literal as a comparison key for ``f``, or (start, end) for a date literal word."""
        if lit.kind == "null":
            return None
        t = f.type
        ok = {
            "datetime": ("datetime", "dateword"),
            "date": ("date", "dateword"),
            "boolean": ("boolean",),
            "int": ("number",),
            "double": ("number",),
        }.get(t, ("string",))
        if lit.kind not in ok:
            kind = _KIND.get(t, "string")
            quoted = (
                "should be enclosed in quotes" if kind == "string" else "should not be enclosed in quotes"
            )
            raise soql_error(
                self.text,
                lit.pos,
                "INVALID_QUERY_FILTER_OPERATOR",
                f"value of filter criterion for field '{f.name}' must be of type {kind} and {quoted}",
            )
        if lit.kind == "dateword":
            start, end = self.date_range(*lit.value)
            if t == "date":
                return (start.date(), end.date())
            return (start, end)
        if t in ("id", "reference"):
            if not valid_id(lit.value):
                raise soql_error(
                    self.text, lit.pos, "INVALID_QUERY_FILTER_OPERATOR", f"invalid ID field: {lit.value}"
                )
            return full_id(str(lit.value))
        return compare_key(f, lit.value)

    def date_range(self, word: str, n: int) -> tuple[Any, Any]:
        today = self.org.now().astimezone(self.zone).date()
        first, days = {
            "TODAY": (today, 1),
            "YESTERDAY": (today - timedelta(days=1), 1),
            "TOMORROW": (today + timedelta(days=1), 1),
            "LAST_N_DAYS": (today - timedelta(days=n), n + 1),
            "NEXT_N_DAYS": (today + timedelta(days=1), n),
        }[word]
        start = datetime.combine(first, time(), self.zone)
        return start, start + timedelta(days=days)

    def semi_join(self, sub: SemiJoin) -> set[Any]:
        q = sub.query
        obj = self.object(q)
        if len(q.fields) != 1 or q.count:
            raise soql_error(
                self.text, sub.pos, "MALFORMED_QUERY", "a semi-join selects exactly one Id field"
            )
        col = self.resolve(obj, q.fields[0])
        keep = self.predicate(obj, q.where) if q.where is not None else always
        return {self.value(r, col) for r in self.org.rows(obj.name) if keep(r)} - {None}

    # -- SELECT --------------------------------------------------------------------------------

    def project(self, obj: ObjectDef, rec: Record, columns: list[Column], version: str) -> JSON:
        base = f"/services/data/v{version}/{'tooling/' if self.tooling else ''}sobjects"
        out: JSON = {"attributes": {"type": obj.name, "url": f"{base}/{obj.name}/{rec['Id']}"}}
        for col in columns:
            if col.lookup is None:
                out[col.field.name] = to_json(rec.get(col.field.name))
                continue
            rel = str(col.lookup.relationship_name)
            if rel not in out:
                found = self.parent(rec, col.lookup)
                shown = "Name" if len(col.lookup.reference_to) > 1 else (found[0] if found else "")
                out[rel] = (
                    None
                    if found is None
                    else {"attributes": {"type": shown, "url": f"{base}/{found[0]}/{found[1]['Id']}"}}
                )
            if out[rel] is not None:
                out[rel][col.field.name] = to_json(self.value(rec, col))
        return out


def always(rec: Record) -> bool:
    return True


def history_shown(org: Org, obj: ObjectDef, user_id: str) -> Callable[[Record], bool]:
    """Which rows of ``obj`` the user may see: for a history object, those of fields they can see."""
    parent = next((p for p, (hist, _) in HISTORY.items() if hist == obj.name), None)
    if parent is None:
        return always
    seen = visible(org, org.obj(parent), user_id)
    return lambda rec: rec.get("_field") is None or rec["_field"] in seen


def compare_key(f: FieldDef, v: Any) -> Any:
    if v is None:
        return None
    if f.type in ("id", "reference"):
        return full_id(v) if valid_id(v) else v
    if isinstance(v, str):
        return v.casefold()
    if isinstance(v, bool) or f.type not in ("int", "double"):
        return v
    return float(v)


def sort_key(r: Run, col: Column) -> Callable[[Record], Any]:
    """The ``ORDER BY`` key of a column: its value compared as its field compares."""
    return lambda rec: compare_key(col.field, r.value(rec, col))


def _in_range(v: Any, rng: tuple[Any, Any]) -> bool:
    return v is not None and rng[0] <= v < rng[1]


def _compare(op: str, v: Any, want: Any) -> bool:
    if isinstance(want, tuple):  # a date literal word: a range of days
        start, end = want
        if v is None:
            return op == "!="
        return bool(
            {
                "=": start <= v < end,
                "!=": not start <= v < end,
                "<": v < start,
                "<=": v < end,
                ">": v >= end,
                ">=": v >= start,
            }[op]
        )
    if op == "=":
        return bool(v == want)
    if op == "!=":
        return bool(v != want)
    if v is None or want is None:
        return False
    return bool({"<": v < want, "<=": v <= want, ">": v > want, ">=": v >= want}[op])


def _like(pattern: str) -> re.Pattern[str]:
    out, i = "", 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out += re.escape(pattern[i + 1])
            i += 2
            continue
        out += ".*" if ch == "%" else "." if ch == "_" else re.escape(ch)
        i += 1
    return re.compile(out, re.IGNORECASE | re.DOTALL)


def sort_rows(rows: list[Record], keys: Iterable[tuple[Callable[[Record], Any], bool, bool]]) -> list[Record]:
    """Stable multi-key sort; each key is (value of, descending, nulls last)."""
    for value_of, desc, nulls_last in reversed(list(keys)):
        present = [r for r in rows if value_of(r) is not None]
        nulls = [r for r in rows if value_of(r) is None]
        present.sort(key=value_of, reverse=desc)
        rows = present + nulls if nulls_last else nulls + present
    return rows
