"""``query`` and ``queryAll`` in the Salesforce sandbox: batches, ``nextRecordsUrl`` and locators.

A query's result is a snapshot taken when it runs. Up to 2,000 records come back per batch
(``Sforce-Query-Options: batchSize=n``, 200–2,000; 200 when more than one long text field is
selected); the rest wait behind ``nextRecordsUrl`` (``/services/data/vNN.N/query/<locator>-<offset>``).
A locator unused for 15 minutes of the sandbox clock, fully read, or pushed out by a user's 11th
open query is gone: ``INVALID_QUERY_LOCATOR``
(https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/api/sforce_api_calls_soql_changing_batch_size.htm).
With parent-to-child subqueries (``subquery``) the children count toward the batch, a
parent's list longer than ``CHILD_BATCH`` pages behind a locator of its own, and the parent's
next batch ends the child locators of the one before. Child locators do not count toward the
10 open per user (a simplification: Salesforce does not say).
Tooling queries add ``size``, ``entityTypeName`` and ``queryLocator``, and refuse ``Metadata`` or
``FullName`` for more than one row, as the Tooling API does.
"""

from __future__ import annotations

import re
from typing import Any

from leadsync.sandboxes.kit.routing import Route
from leadsync.sandboxes.salesforce import subquery
from leadsync.sandboxes.salesforce.common import JSON, SfError
from leadsync.sandboxes.salesforce.http import Call
from leadsync.sandboxes.salesforce.locators import Cursor
from leadsync.sandboxes.salesforce.query import run
from leadsync.sandboxes.salesforce.routing import Reply, route

__all__ = ["ROUTES"]

DEFAULT_BATCH, MIN_BATCH, MAX_BATCH = 2000, 200, 2000


def _batch_size(call: Call, default: int) -> int:
    header = call.request.headers.get("Sforce-Query-Options") or ""
    m = re.search(r"batchSize\s*=\s*(\d+)", header, re.IGNORECASE)
    return max(MIN_BATCH, min(MAX_BATCH, int(m.group(1)))) if m else default


def _weight(record: JSON, children: tuple[str, ...]) -> int:
    """Rows a record takes in a batch: itself and the children it carries there."""
    return 1 + sum(min(len(record[c]["records"]), subquery.CHILD_BATCH) for c in children if record.get(c))


def _served(call: Call, cursor: Cursor, record: JSON) -> JSON:
    """The record as the batch shows it: a child list over ``CHILD_BATCH`` cut, behind a locator."""
    most = subquery.CHILD_BATCH
    long = [c for c in cursor.children if record.get(c) and len(record[c]["records"]) > most]
    if not long:
        return record
    out = dict(record)
    for name in long:
        rows = record[name]["records"]
        kid = Cursor(cursor.user_id, rows, most, call.org.now(), child=True)
        key = call.app.cursors.open(kid)
        cursor.kids.append(key)
        out[name] = {
            "totalSize": len(rows),
            "done": False,
            "nextRecordsUrl": f"/services/data/v{call.version}/query/{key}-{most}",
            "records": rows[:most],
        }
    return out


def _page(call: Call, locator: str | None, cursor: Cursor, offset: int, total: int) -> JSON:
    """One batch from ``offset``; a locator is opened for what is left, closed once all is read."""
    where = "tooling/query" if "/tooling/" in call.request.path else "query"
    for kid in cursor.kids:  # the parent moves on: its last batch's child locators end
        call.app.cursors.close(kid)
    cursor.kids = []
    end, rows = offset, 0
    while end < len(cursor.records) and (end == offset or rows < cursor.batch):
        weight = _weight(cursor.records[end], cursor.children) if cursor.children else 1
        if end > offset and rows + weight > cursor.batch:
            break
        rows += weight
        end += 1
    records = cursor.records[offset:end]
    if cursor.children:
        records = [_served(call, cursor, rec) for rec in records]
    body: JSON = {"totalSize": total, "done": end >= len(cursor.records), "records": records}
    if body["done"]:
        if locator is not None:
            call.app.cursors.close(locator)
    else:
        locator = locator or call.app.cursors.open(cursor)
        body["nextRecordsUrl"] = f"/services/data/v{call.version}/{where}/{locator}-{end}"
    return body


def _query(call: Call, deleted: bool = False, tooling: bool = False) -> Reply:
    text = call.arg("q")
    if text is None:
        raise SfError(400, "MALFORMED_QUERY", "A query string is required (the q parameter)")
    result = run(call.org, text, call.user_id, call.version, tooling=tooling, deleted=deleted)
    # https://developer.salesforce.com/docs/atlas.en-us.api_tooling.meta/api_tooling/tooling_api_objects_customfield.htm
    metadata = any(c.field.name in ("Metadata", "FullName") for c in result.columns)
    if tooling and metadata and len(result.records) > 1:
        raise SfError(
            400,
            "MALFORMED_QUERY",
            "When retrieving results with Metadata or FullName fields, the query qualifications must "
            f"specify no more than one row for retrieval. Result size: {len(result.records)}",
        )
    long_text = sum(1 for c in result.columns if c.field.type == "textarea" and c.field.length > 255)
    batch = _batch_size(call, MIN_BATCH if long_text > 1 else DEFAULT_BATCH)
    if long_text > 1:
        batch = min(batch, MIN_BATCH)
    cursor = Cursor(call.user_id, result.records, batch, call.org.now(), result.children)
    body = _page(call, None, cursor, 0, result.total)
    if tooling:
        body = {
            "size": result.total,
            "totalSize": result.total,
            "done": body["done"],
            "queryLocator": None,
            "entityTypeName": result.obj.name,
            "records": body["records"],
            **({"nextRecordsUrl": body["nextRecordsUrl"]} if "nextRecordsUrl" in body else {}),
        }
    return 200, body


def _more(call: Call) -> Reply:
    locator, _, offset = call.params["locator"].rpartition("-")
    if not locator or not offset.isdigit():
        raise SfError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    cursor = call.app.cursors.take(locator, call.user_id, call.org.now())
    if int(offset) >= len(cursor.records):
        raise SfError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    cursor.batch = _batch_size(call, cursor.batch)
    return 200, _page(call, locator, cursor, int(offset), len(cursor.records))


_D = "/services/data/v{version}"
ROUTES: list[Route[Any]] = [
    route("GET", _D + "/query", _query),
    route("GET", _D + "/queryAll", lambda c: _query(c, deleted=True)),
    route("GET", _D + "/query/{locator}", _more),
    route("GET", _D + "/queryAll/{locator}", _more),
    route("GET", _D + "/tooling/query", lambda c: _query(c, tooling=True)),
    route("GET", _D + "/tooling/query/{locator}", _more),
]
