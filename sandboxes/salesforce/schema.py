"""Field and object definitions of the Salesforce sandbox, and the describe results built from them.

``GET /sobjects/`` (global describe) and ``GET /sobjects/{type}/describe`` answer from these. Field
types are describe's: id, string, textarea, picklist, multipicklist, reference, datetime, date,
boolean, int, double, email, phone, url
(https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_describesobjects_describesobjectresult.htm).
Names are case-insensitive everywhere, as in Salesforce; answers use each name's own spelling.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from leadsync.sandboxes.salesforce.common import JSON, KEY_PREFIXES

__all__ = [
    "FieldDef",
    "ObjectDef",
    "Schema",
    "audit_fields",
    "fld",
    "make_object",
    "pick",
    "picklist",
    "ref",
    "ro",
]

_SOAP = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "int": "xsd:int",
    "double": "xsd:double",
    "datetime": "xsd:dateTime",
    "date": "xsd:date",
    "anyType": "xsd:anyType",
}
TEXT_TYPES = {"string", "textarea", "picklist", "multipicklist", "email", "phone", "url", "combobox"}


def picklist(values: Iterable[str | tuple[str, str]], default: str | None = None) -> list[JSON]:
    """Describe's ``picklistValues``: ``[{"value", "label", "active", "defaultValue", "validFor"}]``."""
    out = []
    for v in values:
        value, label = v if isinstance(v, tuple) else (v, v)
        out.append(
            {
                "active": True,
                "defaultValue": value == default,
                "label": label,
                "validFor": None,
                "value": value,
            }
        )
    return out


@dataclass
class FieldDef:
    """One field of an sObject, as ``describe`` reports it and as writes are checked against it."""

    name: str
    type: str
    label: str = ""
    length: int = 0
    createable: bool = True
    updateable: bool = True
    nillable: bool = True
    custom: bool = False
    external_id: bool = False
    unique: bool = False
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    picklist_values: list[JSON] = field(default_factory=list)
    restricted: bool = False
    precision: int = 0
    scale: int = 0
    required: bool = False  # on create: REQUIRED_FIELD_MISSING when absent
    default: Any = None  # the value a create gets when the field is absent
    name_field: bool = False
    fls: bool = False  # field-level security applies (custom fields made through the Tooling API)
    help: str | None = None
    description: str | None = None

    def __post_init__(self) -> None:
        if not self.label:
            base = self.name[:-3] if self.name.endswith("__c") else self.name
            if base.endswith("Id") and self.type == "reference":
                base = base[:-2] + " ID"
            self.label = base.replace("_", " ")
        if self.type in ("string", "email", "phone", "url") and not self.length:
            self.length = {"email": 80, "phone": 40}.get(self.type, 255)
        if self.type in ("picklist", "multipicklist") and not self.length:
            self.length = 255
        if self.type in ("id", "reference") and not self.length:
            self.length = 18

    @property
    def values(self) -> list[str]:
        return [str(p["value"]) for p in self.picklist_values if p.get("active", True)]

    @property
    def system(self) -> bool:
        """Never writable by the API: ids, audit fields, derived flags."""
        return not self.createable and not self.updateable

    def describe(self, updateable: bool | None = None, createable: bool | None = None) -> JSON:
        """Describe's field entry; ``updateable``/``createable`` apply the user's field access."""
        is_text = self.type in TEXT_TYPES
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "soapType": _SOAP.get(self.type, "xsd:string"),
            "length": self.length if is_text or self.type == "textarea" else 0,
            "byteLength": self.length * 3 if is_text else (18 if self.type in ("id", "reference") else 0),
            "digits": 9 if self.type == "int" else 0,
            "precision": self.precision,
            "scale": self.scale,
            "createable": self.createable if createable is None else createable,
            "updateable": self.updateable if updateable is None else updateable,
            "nillable": self.nillable,
            "defaultedOnCreate": self.default is not None or self.type == "boolean" or self.system,
            "custom": self.custom,
            "externalId": self.external_id,
            "unique": self.unique,
            "idLookup": self.type == "id" or self.external_id or self.unique,
            "nameField": self.name_field,
            "calculated": False,
            "filterable": self.type != "textarea" or self.length <= 255,
            "sortable": self.type not in ("textarea", "multipicklist") or self.length <= 255,
            "groupable": self.type not in ("textarea", "datetime", "double"),
            "referenceTo": list(self.reference_to),
            "relationshipName": self.relationship_name,
            "polymorphicForeignKey": len(self.reference_to) > 1,
            "picklistValues": [dict(p) for p in self.picklist_values],
            "restrictedPicklist": self.restricted,
            "inlineHelpText": self.help,
            "defaultValue": self.default if self.type == "boolean" else None,
        }


@dataclass
class ObjectDef:
    """One sObject: its fields (in describe order) and what the API may do with it."""

    name: str
    label: str
    label_plural: str
    key_prefix: str
    fields: dict[str, FieldDef]
    createable: bool = True
    updateable: bool = True
    deletable: bool = True
    queryable: bool = True
    custom_fields: bool = False  # may the admin (or the Tooling API) add custom fields
    tooling: bool = False  # only through /tooling/
    _lower: dict[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._lower = {n.lower(): n for n in self.fields}

    def field(self, name: str) -> FieldDef | None:
        real = self._lower.get(name.lower())
        return self.fields[real] if real else None

    def relationship(self, name: str) -> FieldDef | None:
        """The lookup field behind a relationship name (``Owner`` → ``OwnerId``)."""
        low = name.lower()
        return next(
            (f for f in self.fields.values() if f.relationship_name and f.relationship_name.lower() == low),
            None,
        )

    def add_field(self, fdef: FieldDef) -> None:
        self.fields[fdef.name] = fdef
        self._lower[fdef.name.lower()] = fdef.name

    def remove_field(self, name: str) -> None:
        real = self._lower.pop(name.lower(), None)
        if real:
            del self.fields[real]

    def summary(self, version: str) -> JSON:
        """The global describe entry."""
        base = f"/services/data/v{version}/sobjects/{self.name}"
        return {
            "name": self.name,
            "label": self.label,
            "labelPlural": self.label_plural,
            "keyPrefix": self.key_prefix,
            "custom": False,
            "createable": self.createable,
            "updateable": self.updateable,
            "deletable": self.deletable,
            "queryable": self.queryable,
            "retrieveable": True,
            "replicateable": self.queryable,
            "searchable": self.name in ("Lead", "Contact", "Account", "Campaign", "User"),
            "layoutable": self.createable,
            "triggerable": self.createable,
            "urls": {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"},
        }

    def describe(self, version: str, fields: Sequence[JSON]) -> JSON:
        out = self.summary(version)
        out.update(fields=list(fields), childRelationships=[], recordTypeInfos=[], supportedScopes=[])
        out["urls"] = {**out["urls"], "uiDetailTemplate": None}
        return out


class Schema:
    """The org's sObjects by name (case-insensitive), data objects and Tooling objects apart."""

    def __init__(self, objects: Iterable[ObjectDef]) -> None:
        self.objects: dict[str, ObjectDef] = {}
        self._lower: dict[str, str] = {}
        for obj in objects:
            self.objects[obj.name] = obj
            self._lower[obj.name.lower()] = obj.name

    def get(self, name: str, tooling: bool = False) -> ObjectDef | None:
        real = self._lower.get(name.lower())
        obj = self.objects[real] if real else None
        return obj if obj is not None and obj.tooling == tooling else None

    def data_objects(self) -> list[ObjectDef]:
        return [o for o in self.objects.values() if not o.tooling]


# -- building blocks for object definitions (sandbox_model, sandbox_model_setup) ---------------


def fld(name: str, ftype: str, **kw: Any) -> FieldDef:
    return FieldDef(name, ftype, **kw)


def ro(name: str, ftype: str, **kw: Any) -> FieldDef:
    """A field the API can read but never write."""
    return FieldDef(name, ftype, createable=False, updateable=False, **kw)


def ref(name: str, to: tuple[str, ...], rel: str, **kw: Any) -> FieldDef:
    """A lookup: ``ref("OwnerId", ("User",), "Owner")``."""
    return FieldDef(name, "reference", reference_to=to, relationship_name=rel, **kw)


def pick(name: str, values: list[str], restricted: bool = False, **kw: Any) -> FieldDef:
    values_json = picklist(values, kw.get("default"))
    return FieldDef(name, "picklist", picklist_values=values_json, restricted=restricted, **kw)


def audit_fields(owner: tuple[str, ...] | None = ("User",)) -> list[FieldDef]:
    """Id, IsDeleted, the created/modified stamps and, with ``owner``, OwnerId."""
    fields = [
        ro("Id", "id", nillable=False, label="Record ID"),
        ro("IsDeleted", "boolean", nillable=False, label="Deleted"),
        ro("CreatedDate", "datetime", nillable=False),
        ref("CreatedById", ("User",), "CreatedBy", createable=False, updateable=False),
        ro("LastModifiedDate", "datetime", nillable=False),
        ref("LastModifiedById", ("User",), "LastModifiedBy", createable=False, updateable=False),
        ro("SystemModstamp", "datetime", nillable=False),
    ]
    if owner:
        fields.insert(1, ref("OwnerId", owner, "Owner", nillable=False, label="Owner ID"))
    return fields


def make_object(name: str, fields: list[FieldDef], plural: str = "", **kw: Any) -> ObjectDef:
    label = kw.pop("label", name)
    return ObjectDef(
        name, label, plural or label + "s", KEY_PREFIXES[name], {f.name: f for f in fields}, **kw
    )
