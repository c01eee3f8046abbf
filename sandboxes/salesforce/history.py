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

from collections.abc import Callable, Iterable
from typing import Any

from leadsync.sandboxes.salesforce.common import SfError
from leadsync.sandboxes.salesforce.schema import FieldDef, ObjectDef, make_object, picklist, ref, ro

__all__ = [
    "DEFAULT_TRACKED",
    "HISTORY",
    "MAX_TRACKED",
    "change_rows",
    "event_row",
    "history_objects",
    "history_of",
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


# -- the rows (the org adds them: ``Org.record_event``, ``Org.record_changes``) ----------------


def _name(f: FieldDef) -> str:
    """``Field`` of a history row: the API name; a standard lookup without its ``Id``."""
    if f.type == "reference" and not f.custom and f.name.endswith("Id"):
        return f.name[:-2]
    return f.name


def _value(f: FieldDef, value: Any) -> Any:
    if value is None or (f.type == "textarea" and f.length > 255):
        return None  # a long text area: that it changed, not what to
    return value[:255] if isinstance(value, str) else value


def event_row(event: str) -> Record:
    """The row of an event that is no field's change (``created``, ``leadConverted``)."""
    return {"Field": event, "DataType": "Text", "OldValue": None, "NewValue": None, "_field": None}


def change_rows(obj: ObjectDef, rec: Record, before: Record, name_of: Callable[[Any], Any]) -> list[Record]:
    """A row for each tracked field (in ``before``, with its old value) whose value changed; a
    lookup gets a second row with the names (``name_of`` an id), as the History related list shows."""
    rows: list[Record] = []
    for f in obj.fields.values():
        if f.name not in before or before[f.name] == rec.get(f.name):
            continue
        old, new = before[f.name], rec.get(f.name)
        row = {"Field": _name(f), "_field": f.name, "DataType": _DATA_TYPES.get(f.type, "Text")}
        rows.append({**row, "OldValue": _value(f, old), "NewValue": _value(f, new)})
        if f.type == "reference":
            was, now = (name_of(v) if v else None for v in (old, new))
            rows.append({**row, "DataType": "Text", "OldValue": was, "NewValue": now})
    return rows
