"""The Tooling API's ``CustomField`` in the Salesforce sandbox: what ``leadsync setup`` uses to add
its fields (https://developer.salesforce.com/docs/atlas.en-us.api_tooling.meta/api_tooling/tooling_api_objects_customfield.htm).

``POST tooling/sobjects/CustomField`` with ``{"FullName": "Lead.Leadsync_Score__c", "Metadata":
{"label", "type", ...}}`` adds the field to the object (to describe and SOQL — for a user whose
field-level security allows it, see ``security``); ``GET``/``PATCH``/``DELETE
tooling/sobjects/CustomField/{id}`` read it, replace its ``Metadata`` (new picklist values, field
history tracking with ``trackHistory``: at most 20 fields an object, see ``history``) or
drop it (and its field history). Types: Number (precision, scale), Text (length ≤ 255),
LongTextArea (length, visibleLines), TextArea, DateTime, Date, Checkbox (defaultValue), Picklist
(valueSet), Email, Phone, Url.
Without "Customize Application" (``allow_metadata=False``) every change is 403
``INSUFFICIENT_ACCESS_OR_READONLY``.
"""

from __future__ import annotations

import re
from typing import Any

from leadsync.sandboxes.kit.routing import Route
from leadsync.sandboxes.salesforce.common import JSON, SfError
from leadsync.sandboxes.salesforce.http import Call
from leadsync.sandboxes.salesforce.routing import Reply, no_content, not_found, route
from leadsync.sandboxes.salesforce.schema import FieldDef, picklist
from leadsync.sandboxes.salesforce.store import Org, Record
from leadsync.sandboxes.salesforce.values import to_json

__all__ = ["ROUTES", "add_custom_field"]

_NAME = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*(?<!_)$")
_TYPES = {
    "Number": "double",
    "Text": "string",
    "TextArea": "textarea",
    "LongTextArea": "textarea",
    "DateTime": "datetime",
    "Date": "date",
    "Checkbox": "boolean",
    "Picklist": "picklist",
    "Email": "email",
    "Phone": "phone",
    "Url": "url",
}
_NO_ACCESS = (
    "You do not have the level of access necessary to perform the operation you requested. Please contact "
    "the owner of the record or your administrator if access is necessary."
)


def _integrity(message: str) -> SfError:
    return SfError(400, "FIELD_INTEGRITY_EXCEPTION", message)


def field_from_metadata(name: str, meta: JSON, fls: bool) -> FieldDef:
    """The field a CustomField's Metadata describes; 400 for what Salesforce would refuse."""
    kind = meta.get("type")
    if kind not in _TYPES:
        raise _integrity(f"Invalid or missing type for a CustomField: {kind}")
    if not meta.get("label"):
        raise SfError(400, "REQUIRED_FIELD_MISSING", "Required field is missing: label", ["label"])
    f = FieldDef(
        name,
        _TYPES[kind],
        label=str(meta["label"]),
        custom=True,
        external_id=bool(meta.get("externalId")),
        unique=bool(meta.get("unique")),
        fls=fls and not meta.get("required"),
        required=bool(meta.get("required")),
        nillable=not meta.get("required"),
        help=meta.get("inlineHelpText"),
        description=meta.get("description"),
    )
    if kind == "Number":
        precision, scale = meta.get("precision"), meta.get("scale")
        for attr, value in (("precision", precision), ("scale", scale)):
            if not isinstance(value, int):
                raise _integrity(f"Must specify '{attr}' for a CustomField of type Number")
        assert isinstance(precision, int) and isinstance(scale, int)
        if not 1 <= precision <= 18 or not 0 <= scale <= precision:
            raise _integrity(
                "The sum of the length and decimal places must be an integer less than or equal to 18"
            )
        f.precision, f.scale = precision, scale
    elif kind in ("Text", "LongTextArea"):
        length = meta.get("length")
        lo, hi = (1, 255) if kind == "Text" else (256, 131072)
        if not isinstance(length, int) or not lo <= length <= hi:
            raise _integrity(f"Length must be between {lo} and {hi} for a CustomField of type {kind}")
        if kind == "LongTextArea" and not isinstance(meta.get("visibleLines"), int):
            raise _integrity("Must specify 'visibleLines' for a CustomField of type LongTextArea")
        f.length = length
    elif kind == "TextArea":
        f.length = 255
    elif kind == "Checkbox":
        if str(meta.get("defaultValue", "")).lower() not in ("true", "false"):
            raise _integrity("Must specify 'defaultValue' for a CustomField of type Checkbox")
        f.default, f.nillable = str(meta["defaultValue"]).lower() == "true", False
    elif kind == "Picklist":
        value_set = meta.get("valueSet") or {}
        values = (value_set.get("valueSetDefinition") or {}).get("value") or []
        if not values or not all(isinstance(v, dict) and v.get("fullName") for v in values):
            raise _integrity(
                "Must specify 'valueSet' with at least one value for a CustomField of type Picklist"
            )
        default = next((v["fullName"] for v in values if v.get("default")), None)
        f.picklist_values = picklist(
            [(v["fullName"], v.get("label") or v["fullName"]) for v in values], default
        )
        f.restricted, f.length = bool(value_set.get("restricted")), 255
    f.__post_init__()
    return f


def add_custom_field(org: Org, full_name: str, meta: JSON, fls: bool = True, by: str | None = None) -> Record:
    """Create a custom field (the Tooling API's POST, or the admin's setup when seeding)."""
    with org.lock:
        obj_name, _, name = full_name.partition(".")
        obj = org.schema.get(obj_name)
        if obj is None or not obj.custom_fields:
            raise _integrity(f"Cannot create a custom field on {obj_name or full_name}")
        developer = name[:-3] if name.endswith("__c") else ""
        if not developer or len(developer) > 40 or not _NAME.match(developer):
            raise _integrity(
                f"The field name {name} is not valid: it must end in __c, begin with a letter, use only "
                "letters, digits and single underscores, and be at most 40 characters before __c"
            )
        if obj.field(name) is not None:
            raise SfError(
                400, "DUPLICATE_DEVELOPER_NAME", f"There is already a field named {developer} on {obj.name}."
            )
        f = field_from_metadata(name, meta, fls)
        org.set_tracked(obj.name, f.name, bool(meta.get("trackHistory")))  # 400 past 20 tracked fields
        obj.add_field(f)
        for rec in org.table(obj.name).values():
            rec.setdefault(f.name, f.default if f.type == "boolean" else None)
        return org.insert(
            "CustomField",
            {
                "DeveloperName": developer,
                "TableEnumOrId": obj.name,
                "FullName": f"{obj.name}.{f.name}",
                "Metadata": _full_metadata(meta),
                "ManageableState": "unmanaged",
            },
            by=by,
        )


def _full_metadata(meta: JSON) -> JSON:
    keys = ["label", "type", "description", "inlineHelpText", "required", "externalId", "unique"]
    keys += ["precision", "scale", "length", "visibleLines", "defaultValue", "valueSet", "trackHistory"]
    out: JSON = {k: meta.get(k) for k in keys}
    out.update({k: v for k, v in meta.items() if k not in out})
    for flag in ("required", "externalId", "trackHistory"):
        out[flag] = bool(out[flag])
    return out


def _record(call: Call, rec: Record) -> JSON:
    url = f"/services/data/v{call.version}/tooling/sobjects/CustomField/{rec['Id']}"
    obj = call.org.obj("CustomField")
    return {"attributes": {"type": "CustomField", "url": url}, **{n: to_json(rec.get(n)) for n in obj.fields}}


def _guard(call: Call) -> None:
    if not call.org.allow_metadata:
        raise SfError(403, "INSUFFICIENT_ACCESS_OR_READONLY", _NO_ACCESS)


def _field_record(call: Call) -> Record:
    rec = call.org.get("CustomField", call.params["id"])
    if rec is None or rec.get("IsDeleted"):
        raise not_found()
    return rec


def _create(call: Call) -> Reply:
    _guard(call)
    body = call.json()
    if not isinstance(body, dict) or not isinstance(body.get("Metadata"), dict) or not body.get("FullName"):
        raise SfError(400, "REQUIRED_FIELD_MISSING", "Required fields are missing: [FullName, Metadata]")
    rec = add_custom_field(call.org, str(body["FullName"]), body["Metadata"], by=call.user_id)
    return 201, {"id": rec["Id"], "success": True, "errors": [], "warnings": [], "infos": []}


def _get(call: Call) -> Reply:
    return 200, _record(call, _field_record(call))


def _update(call: Call) -> Reply:
    _guard(call)
    rec = _field_record(call)
    body: Any = call.json()
    if not isinstance(body, dict) or not isinstance(body.get("Metadata"), dict):
        raise SfError(400, "REQUIRED_FIELD_MISSING", "Required fields are missing: [Metadata]")
    if body.get("FullName") not in (None, rec["FullName"]):
        raise _integrity("FullName cannot be changed")
    obj = call.org.obj(rec["TableEnumOrId"])
    old = obj.fields[rec["FullName"].split(".", 1)[1]]
    new = field_from_metadata(old.name, body["Metadata"], old.fls)
    if new.type != old.type:
        raise _integrity(f"Cannot change the type of {rec['FullName']} from {old.type} to {new.type} here")
    call.org.set_tracked(obj.name, old.name, bool(body["Metadata"].get("trackHistory")))
    obj.add_field(new)
    call.org.save("CustomField", rec, {"Metadata": _full_metadata(body["Metadata"])}, call.user_id)
    return no_content()


def _delete(call: Call) -> Reply:
    _guard(call)
    rec = _field_record(call)
    obj = call.org.obj(rec["TableEnumOrId"])
    name = rec["FullName"].split(".", 1)[1]
    obj.remove_field(name)
    call.org.drop_field_history(obj.name, name)
    for row in call.org.table(obj.name).values():
        row.pop(name, None)
    del call.org.tables["CustomField"][rec["Id"]]
    return no_content()


_T = "/services/data/v{version}/tooling/sobjects/CustomField"
ROUTES: list[Route[Any]] = [
    route("POST", _T, _create),
    route("GET", _T + "/{id}", _get),
    route("PATCH", _T + "/{id}", _update),
    route("DELETE", _T + "/{id}", _delete),
]
