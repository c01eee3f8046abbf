"""Writing records in the Zoho sandbox: insert (``POST``), update (``PUT``, many or one).

The body is ``Body_Wrapper`` (``record.json``): ``{"data": [...], "trigger": [...]}``, at most 100
records (400 ``LIMIT_EXCEEDED``). Each record gets its own result, in order: ``SUCCESS`` or the
first error found (``INVALID_DATA`` with ``api_name``/``json_path``, ``MANDATORY_NOT_FOUND``,
``DUPLICATE_DATA`` for a unique field, ``RECORD_LOCKED``); HTTP 200 (201 for inserts) when all
succeed, 207 when some do, 400 when none do. Unknown and read-only keys are ignored, as Zoho does.
Without a ``trigger`` key workflows fire (https://www.zoho.com/crm/developer/docs/api/v8/update-records.html);
the store logs each write's trigger, and the org's emulated workflow rules run when they fire.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from leadsync.sandboxes.kit.routing import Route
from leadsync.sandboxes.zoho.common import JSON, ZohoError
from leadsync.sandboxes.zoho.http import Call
from leadsync.sandboxes.zoho.reads import module_of
from leadsync.sandboxes.zoho.routing import Reply, route
from leadsync.sandboxes.zoho.schema import Field
from leadsync.sandboxes.zoho.store import Org, Record, WriteLog

__all__ = ["ROUTES"]

MAX_RECORDS = 100
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class ItemError(Exception):
    def __init__(self, code: str, message: str, details: JSON) -> None:
        super().__init__(message)
        self.body = {"code": code, "details": details, "message": message, "status": "error"}


def _bad(f: str, path: str, message: str = "invalid data", **more: Any) -> ItemError:
    return ItemError("INVALID_DATA", message, {"api_name": f, "json_path": path, **more})


def _lookup_id(value: Any) -> Any:
    return value.get("id") if isinstance(value, dict) else value


def _convert(org: Org, f: Field, value: Any, path: str, item: JSON) -> Any:
    """The stored value for ``value`` written to ``f``, or the item's INVALID_DATA."""
    if value is None:
        return None
    dt = f.data_type
    if dt == "picklist":
        if value in ("", "-None-"):
            return None
        if value not in f.picklist:
            raise _bad(f.api_name, path, "picklist not found in record layout")
        return value
    if dt == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise _bad(f.api_name, path, expected_data_type="integer")
        return value
    if dt == "double":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _bad(f.api_name, path, expected_data_type="double")
        return float(value)
    if dt == "boolean":
        if not isinstance(value, bool):
            raise _bad(f.api_name, path, expected_data_type="boolean")
        return value
    if dt == "datetime":
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            raise _bad(f.api_name, path, expected_data_type="datetime")
        return parsed.replace(microsecond=0)
    if dt == "date":
        if not (isinstance(value, str) and _DATE.match(value)):
            raise _bad(f.api_name, path, expected_data_type="date")
        date.fromisoformat(value)
        return value
    if dt == "ownerlookup":
        uid = _lookup_id(value)
        if not isinstance(uid, str) or not org.active(uid):
            raise _bad("id", f"{path}.id")
        return uid
    if dt == "lookup":
        rid = _lookup_id(value)
        target = f.lookup or item.get("$se_module")
        if not isinstance(rid, str) or rid not in org.records.get(str(target), {}):
            raise _bad(f.api_name, path, "the related id given seems to be invalid")
        return rid
    if dt == "jsonarray":
        if not isinstance(value, list):
            raise _bad(f.api_name, path, expected_data_type="jsonarray")
        return value
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise _bad(f.api_name, path, expected_data_type="string")
    return str(value)


def _values(org: Org, module: str, item: JSON, index: int, rec: Record | None) -> Record:
    """The record's new values from one body item (INVALID_DATA / MANDATORY_NOT_FOUND / DUPLICATE)."""
    mod = org.modules[module]
    values: Record = {}
    if "$se_module" in item:
        se = item["$se_module"]
        if se is not None and se not in org.modules:
            raise _bad("$se_module", f"$.data[{index}].$se_module")
        values["$se_module"] = se
    for name, value in item.items():
        f = mod.fields.get(name)
        if f is None or f.read_only:
            continue  # Zoho ignores keys it does not know and fields it sets itself
        path = f"$.data[{index}].{name}"
        values[name] = _convert(org, f, value, path, {**(rec or {}), **item})
    for f in mod.fields.values():
        blank = values.get(f.api_name) in (None, "")
        if f.mandatory and blank and (rec is None or f.api_name in values):
            raise ItemError(
                "MANDATORY_NOT_FOUND",
                "required field not found",
                {"api_name": f.api_name, "json_path": f"$.data[{index}].{f.api_name}"},
            )
        if f.unique and f.api_name in values:
            other = org.unique_clash(module, f.api_name, values[f.api_name], rec["id"] if rec else None)
            if other is not None:
                raise ItemError(
                    "DUPLICATE_DATA",
                    "duplicate data",
                    {
                        "api_name": f.api_name,
                        "json_path": f"$.data[{index}].{f.api_name}",
                        "duplicate_record": {
                            "module": {"api_name": module, "id": mod.id},
                            "id": other["id"],
                            "Owner": org.minified(other["Owner"]),
                        },
                    },
                )
    return values


def _one(call: Call, module: str, item: Any, index: int, insert: bool) -> tuple[JSON, str | None]:
    org = call.org
    if not isinstance(item, dict):
        raise ItemError("INVALID_DATA", "invalid data", {"json_path": f"$.data[{index}]"})
    rec: Record | None = None
    if not insert:
        rid = item.get("id")
        if not rid:
            raise ItemError(
                "MANDATORY_NOT_FOUND",
                "required field not found",
                {"api_name": "id", "json_path": f"$.data[{index}].id"},
            )
        rec = org.records[module].get(str(rid))
        if rec is None:
            raise _bad("id", f"$.data[{index}].id", "the id given seems to be invalid")
        if rec["id"] in org.locked:
            raise ItemError(
                "RECORD_LOCKED",
                "Sorry, you cannot perform this operation as the record is locked.",
                {"action": "record_locking", "id": rec["id"]},
            )
        if rec.get("Converted__s"):
            raise ItemError("CONVERTED_RECORD", "can't update the converted record", {"id": rec["id"]})
    values = _values(org, module, item, index, rec)
    if rec is not None and rec["id"] in org.validation_rules:  # a rule the back door set up
        name, alert = org.validation_rules[rec["id"]]
        raise _bad(name, f"$.data[{index}].{name}", alert)
    if rec is None:
        rec = org.insert(module, values, call.user)
    else:
        org.save(module, rec, values, call.user)
    details = {
        "Modified_Time": org.time(rec["Modified_Time"]),
        "Modified_By": org.minified(rec["Modified_By"], email=False),
        "Created_Time": org.time(rec["Created_Time"]),
        "id": rec["id"],
        "Created_By": org.minified(rec["Created_By"], email=False),
    }
    message = "record added" if insert else "record updated"
    return {"code": "SUCCESS", "details": details, "message": message, "status": "success"}, rec["id"]


def items_of(call: Call) -> tuple[list[Any], list[str] | None]:
    body = call.json()
    if not isinstance(body, dict) or not isinstance(body.get("data"), list) or not body["data"]:
        raise ZohoError(
            400,
            "MANDATORY_NOT_FOUND",
            "required field not found",
            {"api_name": "data", "json_path": "$.data"},
        )
    if len(body["data"]) > MAX_RECORDS:
        raise ZohoError(400, "LIMIT_EXCEEDED", "Record count exceeded", {"limit": MAX_RECORDS})
    trigger = body.get("trigger") if "trigger" in body else None
    if trigger is not None and not (isinstance(trigger, list) and all(isinstance(t, str) for t in trigger)):
        raise ZohoError(
            400, "INVALID_DATA", "invalid data", {"api_name": "trigger", "json_path": "$.trigger"}
        )
    return body["data"], trigger


def _write(call: Call, insert: bool, one: str | None = None) -> Reply:
    module = module_of(call)
    items, trigger = items_of(call)
    if one is not None:
        items = [{**item, "id": one} if isinstance(item, dict) else item for item in items[:1]]
    org = call.org
    results: list[JSON] = []
    ids: list[str] = []
    for index, item in enumerate(items):
        try:
            result, rid = _one(call, module, item, index, insert)
        except ItemError as exc:
            results.append(exc.body)
            continue
        results.append(result)
        if rid:
            ids.append(rid)
            if trigger is None or "workflow" in trigger:
                org.run_workflows(module, org.records[module][rid])
    org.writes.append(WriteLog(call.request.method, module, ids, trigger, org.now()))
    ok = len(ids)
    status = (201 if insert else 200) if ok == len(results) else 207 if ok else 400
    return status, {"data": results}


def create(call: Call) -> Reply:
    return _write(call, insert=True)


def update(call: Call) -> Reply:
    return _write(call, insert=False)


def update_one(call: Call) -> Reply:
    return _write(call, insert=False, one=call.params["id"])


def _scope(op: str) -> Any:
    return lambda p: [f"ZohoCRM.modules.{p.get('module', '').lower()}.{op}"]


ROUTES: list[Route[Any]] = [
    route("PUT", "/crm/v8/{module}/{id}", update_one, _scope("UPDATE")),
    route("PUT", "/crm/v8/{module}", update, _scope("UPDATE")),
    route("POST", "/crm/v8/{module}", create, _scope("CREATE")),
]
