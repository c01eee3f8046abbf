"""sObject Collections in the Salesforce sandbox: ``/composite/sobjects`` create, update, upsert by
external id, retrieve and delete, up to 200 records a call.

The answer is HTTP 200 with one result per record, in request order, even when records fail
(``{"id", "success", "errors": [{"statusCode", "message", "fields"}]}``; upserts add
``created``). With ``allOrNone: true`` nothing is saved if any record fails: the failures keep their
errors, the others say ``ALL_OR_NONE_OPERATION_ROLLED_BACK``. A unique field (an External ID such
as ``Task.Leadsync_Key__c``) refuses a value a saved record or an earlier record of the same
request holds: ``DUPLICATE_VALUE``, for that record only. More than 200 records is a 400
``EXCEEDED_ID_LIMIT``; a value that cannot be deserialized fails the whole call (400
``JSON_PARSER_ERROR``) — https://developer.salesforce.com/docs/platform/api-rest/guide/resources-composite-sobjects-collections-update.html
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from leadsync.sandboxes.kit.routing import Route
from leadsync.sandboxes.salesforce.common import JSON, SfError, item_error, valid_id
from leadsync.sandboxes.salesforce.http import Call
from leadsync.sandboxes.salesforce.rest import record_json, save_result
from leadsync.sandboxes.salesforce.routing import Reply, route
from leadsync.sandboxes.salesforce.schema import ObjectDef
from leadsync.sandboxes.salesforce.store import Org
from leadsync.sandboxes.salesforce.writes import (
    Actor,
    Pending,
    commit,
    find_by_external_id,
    parse,
    prepare,
    visible,
)

__all__ = ["MAX_RECORDS", "ROUTES", "run_items"]

MAX_RECORDS = 200
ROLLED_BACK = item_error(
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was using AllOrNone header",
)
Prepared = tuple[Pending, bool | None] | SfError  # (checked write, created?) or why it failed


def run_items(
    org: Org, steps: list[Callable[[], tuple[Pending, bool | None]]], all_or_none: bool, actor: Actor
) -> list[JSON]:
    """Check and save records one by one (or all checked first with ``all_or_none``)."""
    results: list[JSON] = []
    if all_or_none:
        prepared: list[Prepared] = []
        for step in steps:
            try:
                prepared.append(step())
            except SfError as exc:
                prepared.append(exc)
        prepared = _unique_within(prepared)
        if any(isinstance(p, SfError) for p in prepared):
            return [
                _failed(p) if isinstance(p, SfError) else {"success": False, "errors": [ROLLED_BACK]}
                for p in prepared
            ]
        for p in prepared:
            assert not isinstance(p, SfError)
            rec = commit(org, p[0], actor)
            results.append(save_result(rec["Id"], p[1]))
        return results
    for step in steps:
        try:
            pending, created = step()
        except SfError as exc:
            results.append(_failed(exc))
            continue
        rec = commit(org, pending, actor)
        results.append(save_result(rec["Id"], created))
    return results


def _unique_within(prepared: list[Prepared]) -> list[Prepared]:
    """A unique value twice in one request fails the later record: checked against each other,
    not only against saved records (with ``allOrNone``, nothing is saved until all are checked).
    Salesforce knows no record to name, so it says ``<unknown>``."""
    seen: set[tuple[str, str, str]] = set()
    out: list[Prepared] = []
    for p in prepared:
        if not isinstance(p, SfError):
            pending = p[0]
            values = {
                (pending.obj.name, name, str(v).casefold())
                for name, v in pending.values.items()
                if v is not None and pending.obj.fields[name].unique
            }
            if values & seen:
                name = sorted(values & seen)[0][1]
                p = SfError(
                    400,
                    "DUPLICATE_VALUE",
                    "duplicate value found: <unknown> duplicates value on record with id: <unknown>",
                    [name],
                )
            seen |= values
        out.append(p)
    return out


def _failed(exc: SfError) -> JSON:
    return {"success": False, "errors": [exc.item()]}


def _records(call: Call) -> tuple[list[Any], bool]:
    body = call.json()
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise SfError(400, "JSON_PARSER_ERROR", 'Cannot deserialize the request: expected {"records": [...]}')
    records = body["records"]
    if len(records) > MAX_RECORDS:
        raise SfError(
            400,
            "EXCEEDED_ID_LIMIT",
            "record limit reached. cannot submit more than 200 records into this call",
        )
    return records, bool(body.get("allOrNone", False))


def _type_of(call: Call, item: Any, default: str | None = None) -> ObjectDef:
    if not isinstance(item, dict):
        raise SfError(400, "JSON_PARSER_ERROR", "Each record must be a JSON object")
    name = (item.get("attributes") or {}).get("type") or default
    obj = call.org.schema.get(str(name or ""))
    if obj is None:
        raise SfError(400, "INVALID_TYPE", f"sObject type '{name or ''}' is not supported.")
    return obj


def _parse(call: Call, obj: ObjectDef, item: JSON) -> JSON:
    """Values of one record; a value Salesforce cannot deserialize fails the whole request."""
    try:
        return parse(call.org, obj, item, call.user_id, skip=("id",))
    except SfError as exc:
        if exc.code == "JSON_PARSER_ERROR":
            raise SfError(400, exc.code, exc.message) from None
        raise


def _write(call: Call, upsert_field: str | None = None) -> Reply:
    records, all_or_none = _records(call)
    org, actor, method = call.org, call.actor(), call.request.method
    with org.lock:
        # Every record is read before any is saved: one undecodable value fails the whole call.
        parsed: list[tuple[ObjectDef, JSON] | SfError] = []
        for item in records:
            try:
                obj = _type_of(call, item, call.params.get("type"))
                parsed.append((obj, _parse(call, obj, item)))
            except SfError as exc:
                if exc.code == "JSON_PARSER_ERROR":
                    raise
                parsed.append(exc)
        steps = []
        for item, got in zip(records, parsed, strict=True):
            steps.append(_step(call, item, got, method, upsert_field, actor))
        return 200, run_items(org, steps, all_or_none, actor)


def _step(
    call: Call,
    item: JSON,
    got: tuple[ObjectDef, JSON] | SfError,
    method: str,
    upsert_field: str | None,
    actor: Actor,
) -> Callable[[], tuple[Pending, bool | None]]:
    def step() -> tuple[Pending, bool | None]:
        if isinstance(got, SfError):
            raise got
        obj, values = got
        org = call.org
        rid = item.get("id") or item.get("Id")
        if upsert_field is not None:
            f = obj.field(upsert_field)
            assert f is not None
            key = values.get(f.name)
            if key is None:
                raise SfError(400, "MISSING_ARGUMENT", f"{f.name} not specified", [f.name])
            matches = find_by_external_id(org, obj, f, key)
            if len(matches) > 1:
                ids = ", ".join(m["Id"] for m in matches)
                raise SfError(
                    300,
                    "DUPLICATE_EXTERNAL_ID",
                    f"{f.name}: more than one record found for external id field: [{ids}]",
                )
            return prepare(org, obj, matches[0] if matches else None, values, actor), not matches
        if method == "POST":
            if rid:
                raise SfError(400, "INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
            return prepare(org, obj, None, values, actor), None
        if not rid:
            raise SfError(400, "MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
        found = org.find(rid) if valid_id(rid) else None
        if not valid_id(rid) or (found is not None and found[0] != obj.name):
            raise SfError(400, "MALFORMED_ID", f"{obj.label} ID: id value of incorrect type: {rid}", ["Id"])
        rec = org.get(obj.name, rid)
        if rec is None:
            raise SfError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["Id"])
        return prepare(org, obj, rec, values, actor), None

    return step


def _upsert(call: Call) -> Reply:
    obj = call.sobject()
    f = obj.field(call.params["field"])
    if f is None or f.name not in visible(call.org, obj, call.user_id) or not f.external_id:
        raise SfError(
            400,
            "INVALID_FIELD",
            f"Field name provided, {call.params['field']} is not an External ID or indexed field "
            f"for {obj.name}",
        )
    return _write(call, upsert_field=f.name)


def _ids(call: Call) -> list[str]:
    ids = [i for i in (call.arg("ids") or "").split(",") if i]
    if len(ids) > MAX_RECORDS:
        raise SfError(
            400,
            "EXCEEDED_ID_LIMIT",
            "record limit reached. cannot submit more than 200 records into this call",
        )
    return ids


def _retrieve(call: Call) -> Reply:
    obj = call.sobject()
    names = [n for n in (call.arg("fields") or "").split(",") if n]
    if not names:
        raise SfError(400, "MALFORMED_QUERY", "The fields parameter is required")
    with call.org.lock:
        out: list[JSON | None] = []
        for rid in _ids(call):
            rec = call.org.get(obj.name, rid)
            out.append(None if rec is None or rec.get("IsDeleted") else record_json(call, obj, rec, names))
        return 200, out


def _delete(call: Call) -> Reply:
    org, all_or_none = call.org, (call.arg("allOrNone") or "").lower() == "true"
    with org.lock:
        checked: list[tuple[str, Any] | SfError] = []
        for rid in _ids(call):
            found = org.find(rid)
            if found is None:
                checked.append(SfError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id"))
            elif found[1].get("IsDeleted"):
                checked.append(SfError(400, "ENTITY_IS_DELETED", "entity is deleted"))
            elif not org.obj(found[0]).deletable:
                checked.append(
                    SfError(400, "INVALID_TYPE_FOR_OPERATION", f"entity type cannot be deleted: {found[0]}")
                )
            else:
                checked.append(found)
        if all_or_none and any(isinstance(c, SfError) for c in checked):
            return 200, [
                _failed(c) if isinstance(c, SfError) else {"success": False, "errors": [ROLLED_BACK]}
                for c in checked
            ]
        out = []
        for c in checked:
            if isinstance(c, SfError):
                out.append(_failed(c))
            else:
                org.delete(c[0], c[1], call.user_id)
                out.append(save_result(c[1]["Id"]))
        return 200, out


_C = "/services/data/v{version}/composite/sobjects"
ROUTES: list[Route[Any]] = [
    route("POST", _C, _write),
    route("PATCH", _C, _write),
    route("DELETE", _C, _delete),
    route("GET", _C + "/{type}", _retrieve),
    route("PATCH", _C + "/{type}/{field}", _upsert),
]
