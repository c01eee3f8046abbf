"""Field history tracking in the Salesforce sandbox: ``LeadHistory`` and ``ContactHistory``
(https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_leadhistory.htm).

What Salesforce does, and so does the sandbox:

- an object tracks at most 20 fields (``MAX_TRACKED``); the seeded org tracks Lead ``Status``,
  ``OwnerId`` and ``LeadSource`` and Contact ``OwnerId``; a custom field is tracked when its
  Tooling API Metadata says ``"trackHistory": true``. One more is 400
  ``FIELD_INTEGRITY_EXCEPTION`` "exceeded the allowed number of fields to track on a given entity"
  (Salesforce's words for the limit);
- a person's or the API's save of a tracked field whose value changed adds a row: ``Field`` is the
  API name, but a standard lookup drops its ``Id`` (``Owner``) and gets two rows, the ids
  (``DataType`` ``EntityId``) and the names (``Text``); a long text area records that it changed,
  not the values; text is cut at 255 characters. ``CreatedDate`` is the save's stamp,
  ``CreatedById`` who saved. A new record gets one ``created`` row, a converted lead a
  ``leadConverted`` row; automation (``touch``) adds none;
- the rows are read-only (query and retrieve only), go to the recycle bin with their record and
  come back with it, and follow field-level security on the parent: a row of a field the user
  cannot see is not returned. Turning tracking off keeps the rows; deleting the custom field
  deletes them.

Simplifications: the object's history is on as long as it tracks a field (``created`` rows need
one); describe's ``Field`` picklist lists the parent's fields when the org was made; a save by a
user who cannot see a tracked field still records it; ``DataType`` names are Salesforce's
(``DynamicEnum``, ``EntityId``, ``DateOnly``...) as best known.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from leadsync.sandboxes.salesforce.common import SfError
from leadsync.sandboxes.salesforce.schema import FieldDef, ObjectDef, make_object, picklist, ref, ro

if TYPE_CHECKING:
    from leadsync.sandboxes.salesforce.store import Org

__all__ = [
    "DEFAULT_TRACKED",
    "HISTORY",
    "MAX_TRACKED",
    "drop_field",
    "history_objects",
    "history_of",
    "record_changes",
    "record_created",
    "record_event",
    "seeded_status_change",
    "set_tracked",
    "too_many_tracked",
]

Record = dict[str, Any]
MAX_TRACKED = 20
# parent sObject → (its history object, the history's lookup to it)
HISTORY = {"Lead": ("LeadHistory", "LeadId"), "Contact": ("ContactHistory", "ContactId")}
DEFAULT_TRACKED = {"Lead": ("Status", "OwnerId", "LeadSource"), "Contact": ("OwnerId",)}
_EVENTS = {"Lead": ["created", "leadConverted"], "Contact": ["created"]}
_DATA_TYPES = {
    "string": "Text",
    "combobox": "Text",
    "textarea": "MultiLineText",
    "picklist": "DynamicEnum",
    "multipicklist": "MultiEnum",
    "email": "Email",
    "phone": "Phone",
    "url": "Url",
    "boolean": "Boolean",
    "int": "Double",
    "double": "Double",
    "datetime": "DateTime",
    "date": "DateOnly",
    "reference": "EntityId",
}
_TOO_MANY = "exceeded the allowed number of fields to track on a given entity"


def history_of(otype: str) -> str | None:
    """The history object of ``otype`` (``LeadHistory``), or None."""
    found = HISTORY.get(otype)
    return found[0] if found else None


def history_objects(parents: Iterable[ObjectDef]) -> list[ObjectDef]:
    """``LeadHistory`` and ``ContactHistory`` for the Lead and Contact given."""
    out = []
    types = sorted(set(_DATA_TYPES.values()))
    for parent in parents:
        name, link = HISTORY[parent.name]
        changed = _EVENTS[parent.name] + sorted(
            {_name(f) for f in parent.fields.values() if not f.system}, key=str.lower
        )
        fields = [
            ro("Id", "id", nillable=False, label=f"{parent.label} History ID"),
            ro("IsDeleted", "boolean", nillable=False, label="Deleted"),
            ref(link, (parent.name,), parent.name, createable=False, updateable=False, nillable=False),
            ref("CreatedById", ("User",), "CreatedBy", createable=False, updateable=False),
            ro("CreatedDate", "datetime", nillable=False),
            ro(
                "Field", "picklist", picklist_values=picklist(changed), restricted=True, label="Changed Field"
            ),
            ro("DataType", "picklist", length=40, picklist_values=picklist(types), restricted=True),
            ro("OldValue", "anyType", length=255, label="Old Value"),
            ro("NewValue", "anyType", length=255, label="New Value"),
        ]
        label = f"{parent.label} History"
        out.append(
            make_object(name, fields, label, label=label, createable=False, updateable=False, deletable=False)
        )
    return out


def too_many_tracked() -> SfError:
    """What Salesforce answers when a 21st field of an object would be tracked."""
    return SfError(400, "FIELD_INTEGRITY_EXCEPTION", _TOO_MANY)


def set_tracked(org: Org, otype: str, name: str, on: bool) -> bool:
    """Track (or stop tracking) ``otype.name``; False when ``otype`` has no history in the sandbox.

    The field need not exist yet (a CustomField being created). A custom field's CustomField
    Metadata follows (``trackHistory``).
    """
    obj = org.obj(otype)
    if obj.name not in HISTORY:
        return False
    tracked = org.tracked.setdefault(obj.name, [])
    if on and name not in tracked:
        if len(tracked) >= MAX_TRACKED:
            raise too_many_tracked()
        tracked.append(name)
    elif not on and name in tracked:
        tracked.remove(name)
    full = f"{obj.name}.{name}".lower()
    for cf in org.rows("CustomField"):
        if str(cf.get("FullName", "")).lower() == full and isinstance(cf.get("Metadata"), dict):
            cf["Metadata"] = {**cf["Metadata"], "trackHistory": on}
    return True


def drop_field(org: Org, otype: str, name: str) -> None:
    """A custom field was deleted: no longer tracked, and its history is gone for good."""
    set_tracked(org, otype, name, False)
    hist = history_of(otype)
    if hist:
        table = org.table(hist)
        for rid in [rid for rid, row in table.items() if row.get("_field") == name]:
            del table[rid]


# -- the rows ----------------------------------------------------------------------------------


def _name(f: FieldDef) -> str:
    """``Field`` of a history row: the API name; a standard lookup without its ``Id``."""
    if f.type == "reference" and not f.custom and f.name.endswith("Id"):
        return f.name[:-2]
    return f.name


def _value(f: FieldDef, value: Any) -> Any:
    if value is None or (f.type == "textarea" and f.length > 255):
        return None  # a long text area: that it changed, not what to
    return value[:255] if isinstance(value, str) else value


def _add(org: Org, parent: str, rec: Record, row: Record, by: str | None, at: datetime) -> None:
    # every field of the row is set here: no need for ``Org.insert``'s defaults (seeding is faster)
    hist, link = HISTORY[parent]
    rid = org.ids.new(org.obj(hist).key_prefix)
    org.tables[hist][rid] = {
        "Id": rid,
        "IsDeleted": False,
        link: rec["Id"],
        "CreatedById": by or org.admin_user or None,
        "CreatedDate": at.replace(microsecond=0),
        **row,
    }
    org.children.setdefault(rec["Id"], set()).add(rid)


def record_created(org: Org, otype: str, rec: Record, at: datetime) -> None:
    """The ``created`` row of a new record."""
    record_event(org, otype, rec, "created", rec.get("CreatedById"), at)


def record_event(org: Org, otype: str, rec: Record, event: str, by: str | None, at: datetime) -> None:
    """A row that is no field's change (``created``, ``leadConverted``), when the object tracks any."""
    if otype in HISTORY and org.tracked.get(otype):
        row = {"Field": event, "DataType": "Text", "OldValue": None, "NewValue": None, "_field": None}
        _add(org, otype, rec, row, by, at)


def record_changes(org: Org, otype: str, rec: Record, before: Record, by: str, at: datetime) -> None:
    """A row for each tracked field (in ``before``, with its old value) whose value changed."""
    if otype not in HISTORY:
        return
    obj = org.obj(otype)
    for f in obj.fields.values():
        if f.name not in before or before[f.name] == rec.get(f.name):
            continue
        old, new = before[f.name], rec.get(f.name)
        row = {"Field": _name(f), "_field": f.name, "DataType": _DATA_TYPES.get(f.type, "Text")}
        _add(org, otype, rec, {**row, "OldValue": _value(f, old), "NewValue": _value(f, new)}, by, at)
        if f.type == "reference":  # and the names, as the History related list shows them
            was, now = ((org.find(v) or ("", {}))[1].get("Name") if v else None for v in (old, new))
            _add(org, otype, rec, {**row, "DataType": "Text", "OldValue": was, "NewValue": now}, by, at)


def seeded_status_change(org: Org, lead: Record, default: str) -> None:
    """A seeded lead's last edit took it from the default status to its own (no randomness used)."""
    if "Status" in org.tracked.get("Lead", ()) and lead["Status"] != default:
        record_changes(
            org, "Lead", lead, {"Status": default}, lead["LastModifiedById"], lead["LastModifiedDate"]
        )
