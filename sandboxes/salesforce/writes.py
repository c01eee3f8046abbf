"""API writes in the Salesforce sandbox: the checks Salesforce runs on a create, update or upsert,
in its order, and the save (with the Lead assignment rule).

``parse`` turns one JSON record into values (an unknown or hidden field is a per-record
``INVALID_FIELD``; a value of the wrong JSON kind fails the whole request, ``JSON_PARSER_ERROR``).
``prepare`` checks one record without changing anything, raising a per-record ``SfError``;
``commit`` saves it. Collections and Bulk jobs prepare every record before committing any when
``allOrNone`` asks for it. Checks, in order: deleted / converted → field access → values →
references and owners → required fields → object rules → validation rule (back door) →
duplicates → row lock (back door).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from leadsync.sandboxes.salesforce.common import JSON, SfError, full_id, valid_id
from leadsync.sandboxes.salesforce.schema import FieldDef, ObjectDef
from leadsync.sandboxes.salesforce.store import Org, Record
from leadsync.sandboxes.salesforce.values import JsonTypeError, check_value, from_json

__all__ = ["Actor", "Pending", "commit", "find_by_external_id", "parse", "prepare", "visible"]

_API_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*(_[A-Za-z0-9]+)*$")


@dataclass
class Actor:
    """Who writes and how: the session's user; ``auto_assign`` from ``Sforce-Auto-Assign``."""

    user_id: str
    auto_assign: bool = True


@dataclass
class Pending:
    """A checked write: ``rec`` is None for a create."""

    obj: ObjectDef
    rec: Record | None
    values: Record = field(default_factory=dict)


def visible(org: Org, obj: ObjectDef, user_id: str) -> dict[str, str]:
    """Field name → ``read``/``edit`` for the fields this user can see on ``obj``."""
    grants = org.access.grants(
        user_id, org.rows("PermissionSetAssignment"), org.rows("FieldPermissions", deleted=False)
    )
    out = {}
    for f in obj.fields.values():
        level = org.access.level(obj, f, grants)
        if level != "none":
            out[f.name] = level
    return out


def no_such_column(name: str, obj: ObjectDef) -> SfError:
    return SfError(400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {obj.name}", [name])


def parse(org: Org, obj: ObjectDef, body: JSON, user_id: str, skip: tuple[str, ...] = ()) -> Record:
    """A record's JSON as values by field name; raises a per-record or whole-request ``SfError``."""
    seen = visible(org, obj, user_id)
    values: Record = {}
    for key, raw in body.items():
        if key == "attributes" or key.lower() in skip:
            continue
        f = obj.field(key)
        if f is None or f.name not in seen:
            raise no_such_column(key, obj)
        try:
            values[f.name] = from_json(f, raw)
        except JsonTypeError as exc:
            raise SfError(400, "JSON_PARSER_ERROR", str(exc)) from None
    return values


def prepare(org: Org, obj: ObjectDef, rec: Record | None, values: Record, actor: Actor) -> Pending:
    """Salesforce's checks for one record, changing nothing; raises a per-record ``SfError``."""
    if rec is not None:
        if rec.get("IsDeleted"):
            raise SfError(404, "ENTITY_IS_DELETED", "entity is deleted")
        if obj.name == "Lead" and rec.get("IsConverted"):
            raise SfError(400, "CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")
    if not (obj.createable if rec is None else obj.updateable):
        verb = "inserted" if rec is None else "updated"
        raise SfError(400, "INVALID_TYPE_FOR_OPERATION", f"entity type cannot be {verb}: {obj.name}")
    seen = visible(org, obj, actor.user_id)
    fixed = [
        name
        for name in values
        if seen.get(name) != "edit"
        or not (obj.fields[name].createable if rec is None else obj.fields[name].updateable)
    ]
    if fixed:
        raise SfError(
            400,
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            f"Unable to create/update fields: {', '.join(fixed)}. Please check the security settings of this "
            "field and verify that it is read/write for your profile or permission set.",
            fixed,
        )
    checked = {name: check_value(obj.fields[name], v) for name, v in values.items()}
    for name, value in checked.items():
        f = obj.fields[name]
        if f.type == "reference" and value is not None:
            checked[name] = _reference(org, obj, f, value)
    after = {**(rec or {}), **checked}
    missing = [f.name for f in obj.fields.values() if f.required and after.get(f.name) in (None, "")]
    if missing:
        raise SfError(
            400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing
        )
    _object_rules(org, obj, rec, after)
    rid = (rec or {}).get("Id")
    if rid in org.rejected:
        raise SfError(
            400,
            "FIELD_CUSTOM_VALIDATION_EXCEPTION",
            "This record is locked for editing by a validation rule (sandbox: reject_writes)",
        )
    _duplicates(org, obj, rid, after, checked)
    if rid in org.locked or org.lock_next > 0:
        if rid not in org.locked:
            org.lock_next -= 1
        raise SfError(
            400,
            "UNABLE_TO_LOCK_ROW",
            f"unable to obtain exclusive access to this record or 1 records: {rid or ''}".rstrip(),
        )
    return Pending(obj, rec, checked)


def commit(org: Org, pending: Pending, actor: Actor) -> Record:
    """Save a prepared write; the Lead assignment rule runs unless ``Sforce-Auto-Assign: FALSE``."""
    obj, values = pending.obj, dict(pending.values)
    if obj.name == "Lead" and actor.auto_assign and org.assignment_owner:
        values["OwnerId"] = org.assignment_owner
    if pending.rec is None:
        if "OwnerId" in obj.fields:
            values.setdefault("OwnerId", actor.user_id)
        return org.insert(obj.name, values, by=actor.user_id)
    org.save(obj.name, pending.rec, values, actor.user_id)
    return pending.rec


def find_by_external_id(org: Org, obj: ObjectDef, f: FieldDef, value: Any) -> list[Record]:
    """Live records whose external id equals ``value`` (text compares case-insensitively)."""
    if f.type == "id":
        rec = org.get(obj.name, value)
        return [rec] if rec is not None and not rec.get("IsDeleted") else []
    needle = str(value).casefold()
    return [
        r for r in org.rows(obj.name) if r.get(f.name) is not None and str(r[f.name]).casefold() == needle
    ]


def _reference(org: Org, obj: ObjectDef, f: FieldDef, value: Any) -> str:
    if not valid_id(value):
        raise SfError(400, "MALFORMED_ID", f"{f.label}: id value of incorrect type: {value}", [f.name])
    found = org.find(value)
    if found is None or found[1].get("IsDeleted"):
        raise SfError(400, "INVALID_CROSS_REFERENCE_KEY", f"{f.label}: invalid cross reference id", [f.name])
    if found[0] not in f.reference_to:
        raise SfError(
            400, "FIELD_INTEGRITY_EXCEPTION", f"{f.label}: id value of incorrect type: {value}", [f.name]
        )
    if f.name == "OwnerId" and not org.user_can_own(value):
        noun = obj.label.lower()
        raise SfError(
            400,
            "INACTIVE_OWNER_OR_USER",
            f"operation performed with inactive user [{value}] as owner of {noun}",
        )
    return full_id(value)


def _object_rules(org: Org, obj: ObjectDef, rec: Record | None, after: Record) -> None:
    name = obj.name
    if name == "CampaignMember":
        if not after.get("LeadId") and not after.get("ContactId"):
            raise SfError(400, "REQUIRED_FIELD_MISSING", "Required fields are missing: [LeadId]", ["LeadId"])
        if rec is None and any(
            m["CampaignId"] == after["CampaignId"]
            and (
                m["LeadId"] == after.get("LeadId")
                if after.get("LeadId")
                else m["ContactId"] == after["ContactId"]
            )
            for m in org.rows("CampaignMember")
        ):
            raise SfError(400, "DUPLICATE_VALUE", "Already a campaign member.")
    elif name == "Event":
        if after.get("StartDateTime") is None and after.get("ActivityDateTime") is None:
            raise SfError(400, "REQUIRED_FIELD_MISSING", "Required fields are missing: [ActivityDateTime]")
        if after.get("EndDateTime") is None and after.get("DurationInMinutes") is None:
            raise SfError(400, "REQUIRED_FIELD_MISSING", "Required fields are missing: [DurationInMinutes]")
    elif name == "PermissionSet" and not _API_NAME.match(str(after.get("Name", ""))):
        raise SfError(
            400,
            "INVALID_FIELD",
            "The API Name can only contain underscores and alphanumeric characters. It must be unique, begin "
            "with a letter, not include spaces, not end with an underscore, and not contain two consecutive "
            "underscores.",
            ["Name"],
        )
    elif name == "FieldPermissions":
        _field_permission(org, after)
    elif name == "PermissionSetAssignment" and rec is None:
        user = org.get("User", after["AssigneeId"])
        if user is None or not user.get("IsActive"):
            raise SfError(400, "INACTIVE_OWNER_OR_USER", "operation performed with inactive user")
        if any(
            a["AssigneeId"] == after["AssigneeId"] and a["PermissionSetId"] == after["PermissionSetId"]
            for a in org.rows("PermissionSetAssignment")
        ):
            raise SfError(400, "DUPLICATE_VALUE", "Duplicate PermissionSetAssignment")


def _field_permission(org: Org, after: Record) -> None:
    target = str(after.get("Field", ""))
    obj_name, _, field_name = target.partition(".")
    target_obj = org.schema.get(obj_name)
    target_field = target_obj.field(field_name) if target_obj else None
    if (
        target_obj is None
        or target_field is None
        or target_obj.name != after.get("SobjectType")
        or target_field.required
        or target_field.system
    ):
        raise SfError(
            400,
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            f"Field Name: bad value for restricted picklist field: {target}",
            ["Field"],
        )
    if after.get("PermissionsEdit") and not after.get("PermissionsRead"):
        raise SfError(400, "FIELD_INTEGRITY_EXCEPTION", "Permission Edit depends on permission(s): Read")


def _duplicates(org: Org, obj: ObjectDef, rid: Any, after: Record, changed: Record) -> None:
    for name, value in changed.items():
        f = obj.fields[name]
        if value is None or not (f.unique or (f.external_id and f.unique)):
            continue
        for other in find_by_external_id(org, obj, f, value):
            if other["Id"] != rid:
                raise SfError(
                    400,
                    "DUPLICATE_VALUE",
                    f"duplicate value found: {f.name} duplicates value on record with id: {other['Id']}",
                    [f.name],
                )
    if obj.name == "FieldPermissions" and rid is None:
        for p in org.rows("FieldPermissions"):
            if p["ParentId"] == after["ParentId"] and str(p["Field"]).lower() == str(after["Field"]).lower():
                raise SfError(
                    400,
                    "DUPLICATE_VALUE",
                    f"duplicate value found: duplicates value on record with id: {p['Id']}",
                )
