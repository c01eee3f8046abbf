"""Running SOQL in the Salesforce sandbox: a query's rows found (by id through the org's indexes when
a condition names ids, else by a scan), filtered, ordered, cut by ``OFFSET`` (at most 2,000) and
``LIMIT``, and shaped; how fields, conditions and records are evaluated is ``evaluate``'s, and
parent-to-child subqueries (``Tasks``, ``Events``, ``CampaignMembers``, ``Histories`` on Lead and
Contact) come back per record from ``subquery``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from leadsync.sandboxes.salesforce.common import JSON, SfError, full_id, valid_id
from leadsync.sandboxes.salesforce.evaluate import Column, Run, always, history_shown, sort_key, sort_rows
from leadsync.sandboxes.salesforce.schema import ObjectDef
from leadsync.sandboxes.salesforce.soql import Cond, Literal, Logic, parse
from leadsync.sandboxes.salesforce.store import PARENT_KEYS, Org, Record
from leadsync.sandboxes.salesforce.subquery import attach, plan

__all__ = ["MAX_OFFSET", "Column", "Result", "history_shown", "run"]

MAX_OFFSET = 2000


@dataclass
class Result:
    obj: ObjectDef
    total: int
    records: list[JSON]
    columns: list[Column]
    children: tuple[str, ...] = ()  # the subqueries' relationship names, keys in each record


def _ids(r: Run, obj: ObjectDef, node: Any) -> set[str] | None:
    """The ids of the only records of ``obj`` a condition can match, when it is ``Id`` or a lead's or
    contact's link (``WhoId``, ``LeadId``, ``ContactId``) ``IN (...)`` or ``= '...'``, or an OR of
    such, from the org's indexes (the table, ``Org.children``); else None."""
    if isinstance(node, Logic) and node.op == "OR":
        found: set[str] = set()
        for part in node.parts:
            ids = _ids(r, obj, part)
            if ids is None:
                return None
            found |= ids
        return found
    if not isinstance(node, Cond) or node.op not in ("IN", "=") or len(node.field.path) != 1:
        return None
    f = obj.field(node.field.path[0])
    if f is None or (f.name != "Id" and f.name not in PARENT_KEYS.get(obj.name, ())):
        return None
    values = node.value if isinstance(node.value, list) else [node.value]
    named: set[str] = set()
    for v in values:
        if not isinstance(v, Literal) or v.kind != "string" or not valid_id(v.value):
            return None
        named.add(full_id(str(v.value)))
    if f.name == "Id":
        return named & r.org.table(obj.name).keys()
    return {c["Id"] for pid in named for c in r.org.related(pid, obj.name)}


def _candidates(r: Run, obj: ObjectDef, where: Any, deleted: bool) -> list[Record] | None:
    """The records a WHERE can match when one of its AND-ed conditions names ids (``_ids``), in the
    table's order (ids are issued in order), instead of a scan; None: scan. The WHERE still decides."""
    for part in where.parts if isinstance(where, Logic) and where.op == "AND" else [where]:
        ids = _ids(r, obj, part)
        if ids is not None:
            table = r.org.table(obj.name)
            rows = (table[i] for i in sorted(ids))
            return [rec for rec in rows if deleted or not rec.get("IsDeleted")]
    return None


def run(
    org: Org, text: str, user_id: str, version: str, *, tooling: bool = False, deleted: bool = False
) -> Result:
    """Run a query as ``user_id``: every matching record, shaped, in order (a snapshot)."""
    with org.lock:
        q = parse(text)
        r = Run(org, text, user_id, tooling)
        obj = r.object(q)
        columns = [r.resolve(obj, ref) for ref in q.fields]
        children = plan(r, obj, q)
        where = r.predicate(obj, q.where) if q.where is not None else always
        shown = history_shown(org, obj, user_id)
        keep = where if shown is always else (lambda rec: shown(rec) and where(rec))
        order = []
        for item in q.order:
            col = r.resolve(obj, item.field)
            order.append((sort_key(r, col), item.desc, item.nulls_last))
        if q.offset is not None and q.offset > MAX_OFFSET:
            raise SfError(400, "NUMBER_OUTSIDE_VALID_RANGE", f"Maximum SOQL offset allowed is {MAX_OFFSET}")
        found = _candidates(r, obj, q.where, deleted)
        scanned: Iterable[Record] = org.rows(obj.name, deleted=deleted) if found is None else found
        rows = sort_rows([rec for rec in scanned if keep(rec)], order)
        rows = rows[q.offset or 0 :]
        if q.limit is not None:
            rows = rows[: q.limit]
        if q.count:
            return Result(obj, len(rows), [], [])
        records = [r.project(obj, rec, columns, version) for rec in rows]
        for rec, out in zip(rows, records, strict=True) if children else ():
            attach(r, children, rec, out, version, deleted)
        return Result(obj, len(rows), records, columns, tuple(c.name for c in children))
