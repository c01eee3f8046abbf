"""Parent-to-child subqueries in the Salesforce sandbox: ``SELECT Id, (SELECT … FROM Tasks) FROM Lead``.

What Salesforce does, and so does the sandbox
(https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_relationships_query_limits.htm):

- the subquery's FROM is a **child relationship** of the outer object, not an object: on Lead and
  Contact ``Tasks`` and ``Events`` (by ``WhoId``), ``CampaignMembers`` (by ``LeadId`` /
  ``ContactId``) and ``Histories`` (``LeadHistory`` / ``ContactHistory``). Anything else, the
  child object's own name included, is 400 ``INVALID_TYPE`` "Didn't understand relationship";
- at most 20 subqueries a query (400 ``MALFORMED_QUERY``); a subquery takes WHERE, ORDER BY and
  LIMIT, and OFFSET only when the outer query has ``LIMIT 1``; its fields follow the child's
  field-level security, and history rows those of the parent, as a plain query's do;
- a parent without children has ``null`` there; otherwise a query result of its own,
  ``{"totalSize", "done", "records"}``.

Paging (``cursors``): the children count toward the batch size of the outer query, so a
batch holds fewer parents when they have many children; a parent's list holds at most
``CHILD_BATCH`` children in the batch, and then says ``done: false`` with a ``nextRecordsUrl`` of
its own, read by ``GET query/<locator>-<n>`` like any query locator. Reading the parent query's
next batch ends the child locators of the batch before ("A queryMore() call on a parent object
invalidates all child cursors in the previous result set", the SOAP API's queryMore()).
Salesforce documents no figure for the children of one parent per batch; 200 is what clients
report (``Limits``-like knob: ``CHILD_BATCH``, lowered by tests).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from leadsync.sandboxes.salesforce.common import JSON, SfError
from leadsync.sandboxes.salesforce.evaluate import Column, Run, always, history_shown, sort_key, sort_rows
from leadsync.sandboxes.salesforce.schema import ObjectDef
from leadsync.sandboxes.salesforce.soql import Query, Subquery, soql_error
from leadsync.sandboxes.salesforce.store import Record

__all__ = ["CHILD_BATCH", "MAX_SUBQUERIES", "RELATIONSHIPS", "Child", "attach", "plan"]

MAX_SUBQUERIES = 20
CHILD_BATCH = 200
# (parent, relationship name) → (child object, the child's lookup to the parent)
RELATIONSHIPS: dict[tuple[str, str], tuple[str, str]] = {
    ("Lead", "Tasks"): ("Task", "WhoId"),
    ("Lead", "Events"): ("Event", "WhoId"),
    ("Lead", "CampaignMembers"): ("CampaignMember", "LeadId"),
    ("Lead", "Histories"): ("LeadHistory", "LeadId"),
    ("Contact", "Tasks"): ("Task", "WhoId"),
    ("Contact", "Events"): ("Event", "WhoId"),
    ("Contact", "CampaignMembers"): ("CampaignMember", "ContactId"),
    ("Contact", "Histories"): ("ContactHistory", "ContactId"),
}
_NO_RELATION = (
    "Didn't understand relationship '{name}' in FROM part of query call. If you are attempting to use a "
    "custom relationship, be sure to append the '__r' after the custom relationship name. Please "
    "reference your WSDL or the describe call for the appropriate names."
)


@dataclass
class Child:
    """One subquery, resolved: the relationship, the child object and how its rows are chosen."""

    name: str  # the relationship as Salesforce spells it: the key in each parent record
    obj: ObjectDef
    link: str
    query: Query
    columns: list[Column]
    keep: Callable[[Record], bool]
    order: list[tuple[Callable[[Record], Any], bool, bool]]


def plan(r: Run, parent: ObjectDef, outer: Query) -> list[Child]:
    """Resolve the outer query's subqueries, refusing what Salesforce refuses."""
    if len(outer.subqueries) > MAX_SUBQUERIES:
        sub = outer.subqueries[MAX_SUBQUERIES]
        raise soql_error(
            r.text,
            sub.pos,
            "MALFORMED_QUERY",
            f"No more than {MAX_SUBQUERIES} parent-to-child relationships can be specified in a query",
        )
    out: list[Child] = []
    for sub in outer.subqueries:
        name, (child_type, link) = _relationship(r, parent, sub)
        q = sub.query
        if q.count:
            raise soql_error(r.text, sub.pos, "MALFORMED_QUERY", "COUNT() is not allowed in a subquery")
        if q.offset is not None and outer.limit != 1:
            raise SfError(
                400, "MALFORMED_QUERY", "OFFSET in a subquery requires a LIMIT 1 on the outer query"
            )
        obj = r.org.obj(child_type)
        columns = [r.resolve(obj, ref) for ref in q.fields]
        where = r.predicate(obj, q.where) if q.where is not None else always
        shown = history_shown(r.org, obj, r.user_id)
        keep = where if shown is always else (lambda rec, w=where, s=shown: s(rec) and w(rec))
        order: list[tuple[Callable[[Record], Any], bool, bool]] = []
        for item in q.order:
            col = r.resolve(obj, item.field)
            order.append((sort_key(r, col), item.desc, item.nulls_last))
        out.append(Child(name, obj, link, q, columns, keep, order))
    return out


def _relationship(r: Run, parent: ObjectDef, sub: Subquery) -> tuple[str, tuple[str, str]]:
    wanted = sub.query.sobject.lower()
    for (owner, name), target in RELATIONSHIPS.items():
        if owner == parent.name and name.lower() == wanted:
            return name, target
    raise soql_error(
        r.text, sub.query.sobject_pos, "INVALID_TYPE", _NO_RELATION.format(name=sub.query.sobject)
    )


def attach(r: Run, children: list[Child], rec: Record, out: JSON, version: str, deleted: bool) -> None:
    """Each subquery's rows for the parent ``rec``, as a query result under its relationship name."""
    for child in children:
        rows = [
            c
            for c in r.org.related(rec["Id"], child.obj.name)
            if c.get(child.link) == rec["Id"] and (deleted or not c.get("IsDeleted")) and child.keep(c)
        ]
        rows = sort_rows(rows, child.order)[child.query.offset or 0 :]
        if child.query.limit is not None:
            rows = rows[: child.query.limit]
        records = [r.project(child.obj, c, child.columns, version) for c in rows]
        out[child.name] = {"totalSize": len(records), "done": True, "records": records} if records else None
