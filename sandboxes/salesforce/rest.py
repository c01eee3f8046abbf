"""The REST API's resources in the Salesforce sandbox: versions, limits, describe, one-record CRUD,
upsert by external id, and Get Deleted / Get Updated.

Writes go through ``writes`` (the same checks collections and Bulk jobs run); a refused
single-record write is an HTTP 400 (404 for a deleted record) with Salesforce's error array.
Get Deleted and Get Updated take ``start``/``end`` (ISO 8601), cover at most 30 days back, and
report ``latestDateCovered`` (and for deletes ``earliestDateAvailable``: older than that the log was
purged, and a client must resync) — https://developer.salesforce.com/docs/platform/api-rest/guide/resources-getdeleted.md
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from leadsync.sandboxes.kit.routing import Route
from leadsync.sandboxes.salesforce.common import API_VERSIONS, JSON, SfError, parse_datetime, sf_datetime
from leadsync.sandboxes.salesforce.evaluate import history_shown
from leadsync.sandboxes.salesforce.http import Call
from leadsync.sandboxes.salesforce.routing import Reply, no_content, not_found, route
from leadsync.sandboxes.salesforce.schema import ObjectDef
from leadsync.sandboxes.salesforce.store import Record
from leadsync.sandboxes.salesforce.values import to_json
from leadsync.sandboxes.salesforce.writes import commit, find_by_external_id, parse, prepare, visible

__all__ = ["ROUTES", "record_json", "save_result"]

_WINDOW_DAYS = 30


def record_json(call: Call, obj: ObjectDef, rec: Record, names: list[str] | None = None) -> JSON:
    """A record as ``GET /sobjects/{type}/{id}`` returns it: the visible fields, or those asked."""
    seen = visible(call.org, obj, call.user_id)
    url = f"/services/data/v{call.version}/sobjects/{obj.name}/{rec['Id']}"
    out: JSON = {"attributes": {"type": obj.name, "url": url}}
    for name in names or list(seen):
        f = obj.field(name)
        if f is None or f.name not in seen:
            raise SfError(400, "INVALID_FIELD", f"No such column '{name}' on entity '{obj.name}'.", [name])
        out[f.name] = to_json(rec.get(f.name))
    return out


def save_result(rid: str, created: bool | None = None) -> JSON:
    out: JSON = {"id": rid, "success": True, "errors": []}
    if created is not None:
        out["created"] = created
    return out


def _versions(call: Call) -> Reply:
    return 200, [{"label": f"v{v}", "url": f"/services/data/v{v}", "version": v} for v in API_VERSIONS]


def _resources(call: Call) -> Reply:
    base = f"/services/data/v{call.version}"
    names = ["sobjects", "query", "queryAll", "limits", "composite", "jobs", "tooling"]
    return 200, {n: f"{base}/{n}" for n in names}


def _limits(call: Call) -> Reply:
    return 200, call.app.limits.body()


def _global(call: Call) -> Reply:
    objects = [o.summary(call.version) for o in call.org.schema.data_objects()]
    return 200, {"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": objects}


def describe_fields(call: Call, obj: ObjectDef) -> list[JSON]:
    seen = visible(call.org, obj, call.user_id)
    return [
        f.describe(
            updateable=f.updateable and seen[f.name] == "edit",
            createable=f.createable and seen[f.name] == "edit",
        )
        for f in obj.fields.values()
        if f.name in seen
    ]


def _describe(call: Call) -> Reply:
    obj = call.sobject()
    with call.org.lock:
        return 200, obj.describe(call.version, describe_fields(call, obj))


def _basic(call: Call) -> Reply:
    obj = call.sobject()
    return 200, {"objectDescribe": obj.summary(call.version), "recentItems": []}


def _live(call: Call, obj: ObjectDef, rid: str) -> Record:
    rec = call.org.get(obj.name, rid)
    if rec is None:
        raise not_found()
    if rec.get("IsDeleted"):
        raise SfError(404, "ENTITY_IS_DELETED", "entity is deleted")
    return rec


def _body(call: Call) -> JSON:
    body = call.json()
    if not isinstance(body, dict):
        raise SfError(
            400, "JSON_PARSER_ERROR", "Cannot deserialize instance of sObject from the request body"
        )
    return body


def _create(call: Call) -> Reply:
    obj = call.sobject()
    with call.org.lock:
        values = parse(call.org, obj, _body(call), call.user_id)
        rec = commit(call.org, prepare(call.org, obj, None, values, call.actor()), call.actor())
        return 201, save_result(rec["Id"])


def _get(call: Call) -> Reply:
    obj = call.sobject()
    with call.org.lock:
        rec = _live(call, obj, call.params["id"])
        if not history_shown(call.org, obj, call.user_id)(rec):
            raise not_found()
        names = [n.strip() for n in (call.arg("fields") or "").split(",") if n.strip()]
        return 200, record_json(call, obj, rec, names or None)


def _update(call: Call) -> Reply:
    obj = call.sobject()
    with call.org.lock:
        rec = call.org.get(obj.name, call.params["id"])
        if rec is None:
            raise not_found()
        values = parse(call.org, obj, _body(call), call.user_id)
        commit(call.org, prepare(call.org, obj, rec, values, call.actor()), call.actor())
        return no_content()


def _delete(call: Call) -> Reply:
    obj = call.sobject()
    org = call.org
    with org.lock:
        rec = _live(call, obj, call.params["id"])
        if not obj.deletable:
            raise SfError(400, "INVALID_TYPE_FOR_OPERATION", f"entity type cannot be deleted: {obj.name}")
        if rec["Id"] in org.locked or org.lock_next > 0:
            org.lock_next -= 0 if rec["Id"] in org.locked else 1
            raise SfError(
                400, "UNABLE_TO_LOCK_ROW", f"unable to obtain exclusive access to this record: {rec['Id']}"
            )
        org.delete(obj.name, rec, call.user_id)
        return no_content()


def _by_external_id(call: Call, upsert: bool) -> Reply:
    obj = call.sobject()
    org = call.org
    with org.lock:
        f = obj.field(call.params["field"])
        if (
            f is None
            or f.name not in visible(org, obj, call.user_id)
            or not (f.external_id or f.type == "id")
        ):
            raise SfError(
                404,
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {call.params['field']}",
            )
        matches = find_by_external_id(org, obj, f, call.params["value"])
        if len(matches) > 1:
            base = f"/services/data/v{call.version}/sobjects/{obj.name}"
            return 300, [f"{base}/{m['Id']}" for m in matches]
        if not upsert:
            if not matches:
                raise not_found()
            return 200, record_json(call, obj, matches[0])
        values = parse(org, obj, _body(call), call.user_id)
        if f.type != "id":
            values[f.name] = call.params["value"]
        rec = commit(
            org, prepare(org, obj, matches[0] if matches else None, values, call.actor()), call.actor()
        )
        return (200 if matches else 201), save_result(rec["Id"], created=not matches)


def _window(call: Call) -> tuple[datetime, datetime]:
    now = call.org.now()
    raw = {k: call.arg(k) for k in ("start", "end")}
    # a literal "+" in the query string arrives as a space: take it back
    parsed = {k: parse_datetime(v.replace(" ", "+")) if v else None for k, v in raw.items()}
    start, end = parsed["start"], parsed["end"]
    if start is None or end is None:
        raise SfError(400, "MALFORMED_QUERY", "start and end are required, as ISO 8601 date-times")
    if end < start:
        raise SfError(400, "INVALID_REPLICATION_DATE", "EndDate before StartDate")
    if start < now - timedelta(days=_WINDOW_DAYS):
        raise SfError(
            400, "INVALID_REPLICATION_DATE", f"startDate cannot be more than {_WINDOW_DAYS} days ago"
        )
    return start, min(end, now)


def _deleted(call: Call) -> Reply:
    obj = call.sobject()
    org = call.org
    with org.lock:
        start, end = _window(call)
        earliest = org.earliest_deleted(obj.name)
        found = [
            {"id": rid, "deletedDate": sf_datetime(at)}
            for rid, at in org.deleted_log.get(obj.name, [])
            if start <= at <= end and at >= earliest
        ]
        covered = end.replace(second=0, microsecond=0)
        return 200, {
            "deletedRecords": found,
            "earliestDateAvailable": sf_datetime(earliest),
            "latestDateCovered": sf_datetime(covered),
        }


def _updated(call: Call) -> Reply:
    obj = call.sobject()
    with call.org.lock:
        start, end = _window(call)
        start, end = start.replace(second=0, microsecond=0), end.replace(second=0, microsecond=0)
        stamp = "SystemModstamp" if "SystemModstamp" in obj.fields else "CreatedDate"  # history: CreatedDate
        ids = [r["Id"] for r in call.org.rows(obj.name) if start <= r[stamp] < end]
        return 200, {"ids": ids, "latestDateCovered": sf_datetime(end)}


_D = "/services/data/v{version}"
ROUTES: list[Route[Any]] = [
    route("GET", "/services/data", _versions, kind="public"),
    route("GET", _D, _resources),
    route("GET", _D + "/limits", _limits),
    route("GET", _D + "/sobjects", _global),
    route("GET", _D + "/sobjects/{type}/describe", _describe),
    route("GET", _D + "/sobjects/{type}/deleted", _deleted),
    route("GET", _D + "/sobjects/{type}/updated", _updated),
    route("GET", _D + "/sobjects/{type}", _basic),
    route("POST", _D + "/sobjects/{type}", _create),
    route("GET", _D + "/sobjects/{type}/{id}", _get),
    route("PATCH", _D + "/sobjects/{type}/{id}", _update),
    route("DELETE", _D + "/sobjects/{type}/{id}", _delete),
    route("GET", _D + "/sobjects/{type}/{field}/{value}", lambda c: _by_external_id(c, upsert=False)),
    route("PATCH", _D + "/sobjects/{type}/{field}/{value}", lambda c: _by_external_id(c, upsert=True)),
]
