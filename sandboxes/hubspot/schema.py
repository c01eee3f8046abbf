"""Property definitions and groups of the HubSpot sandbox, and validation of written values.

Mirrors ``/crm/v3/properties/{objectType}``: the defaults a fresh portal has for the properties
leadsync reads (contacts and the five engagement types), the BANT custom properties, and the
rules HubSpot applies when a value is written (unknown and read-only properties, enumeration
options, numbers, datetimes) — https://developers.hubspot.com/docs/api/crm/properties
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from leadsync.sandboxes.hubspot.common import JSON, ApiError, iso_from_ms, ms_from_value, validation_error

__all__ = ["LIFECYCLE", "OBJECT_TYPES", "PropertyDef", "Schema"]

OBJECT_TYPES = ("contacts", "calls", "emails", "meetings", "notes", "tasks")
_TYPES = {"bool", "date", "datetime", "enumeration", "number", "phone_number", "string"}

LIFECYCLE = [
    ("subscriber", "Subscriber"),
    ("lead", "Lead"),
    ("marketingqualifiedlead", "Marketing Qualified Lead"),
    ("salesqualifiedlead", "Sales Qualified Lead"),
    ("opportunity", "Opportunity"),
    ("customer", "Customer"),
    ("evangelist", "Evangelist"),
    ("other", "Other"),
]
LEAD_STATUS = ["NEW", "OPEN", "IN_PROGRESS", "OPEN_DEAL", "UNQUALIFIED", "ATTEMPTED_TO_CONTACT", "CONNECTED"]
LEAD_STATUS += ["BAD_TIMING"]
EMPLOYEE_RANGES = ["1-5", "5-25", "25-50", "50-100", "100-500", "500-1000", "1000+"]
ANALYTICS_SOURCES = ["ORGANIC_SEARCH", "PAID_SEARCH", "EMAIL_MARKETING", "SOCIAL_MEDIA", "REFERRALS"]
ANALYTICS_SOURCES += ["OTHER_CAMPAIGNS", "DIRECT_TRAFFIC", "OFFLINE", "PAID_SOCIAL", "AI_REFERRALS"]
BANT = {
    "budget_status": ["approved", "estimating", "no_budget", "unknown"],
    "buying_role": ["economic_buyer", "technical_decision_maker", "decision_maker", "influencer", "end_user"],
    "timeline": ["this_quarter", "next_quarter", "this_year", "next_year", "no_timeline"],
}
_ENUMS: dict[str, list[str]] = {
    "hs_call_direction": ["INBOUND", "OUTBOUND"],
    "hs_call_status": ["BUSY", "CANCELED", "COMPLETED", "FAILED", "IN_PROGRESS", "MISSED", "NO_ANSWER"],
    "hs_email_direction": ["EMAIL", "INCOMING_EMAIL", "FORWARDED_EMAIL"],
    "hs_email_status": ["BOUNCED", "FAILED", "SCHEDULED", "SENDING", "SENT"],
    "hs_meeting_outcome": ["SCHEDULED", "COMPLETED", "RESCHEDULED", "NO_SHOW", "CANCELED"],
    "hs_meeting_source": ["CRM_UI", "MEETINGS_PUBLIC", "INTEGRATION", "BIDIRECTIONAL_API"],
    "hs_task_status": ["NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED"],
    "hs_task_priority": ["NONE", "LOW", "MEDIUM", "HIGH"],
    "hs_task_type": ["CALL", "EMAIL", "LINKED_IN_CONNECT", "LINKED_IN_MESSAGE", "TODO"],
}
_FIELD = {"string": "text", "number": "number", "datetime": "date", "date": "date", "bool": "booleancheckbox"}


def _options(values: Sequence[str | tuple[str, str]]) -> list[JSON]:
    out = []
    for i, v in enumerate(values):
        if isinstance(v, tuple):
            value, label = v
        else:
            value, label = v, v.replace("_", " ").capitalize()
        out.append({"label": label, "value": value, "displayOrder": i, "hidden": False})
    return out


@dataclass
class PropertyDef:
    """One property: what ``GET /crm/v3/properties/{objectType}/{name}`` describes."""

    name: str
    type: str
    group: str
    label: str = ""
    field_type: str = ""
    options: list[JSON] = field(default_factory=list)
    read_only: bool = False
    hubspot_defined: bool = True
    external_options: bool = False
    description: str = ""
    hidden: bool = False
    display_order: int = -1
    unique: bool = False  # hasUniqueValue: set at creation only, never changed after
    created_ms: int = 0
    updated_ms: int = 0

    def __post_init__(self) -> None:
        self.label = self.label or self.name.replace("_", " ").capitalize()
        self.field_type = self.field_type or _FIELD.get(self.type, "select")
        if self.type == "bool" and not self.options:
            self.options = [
                {"label": "True", "value": "true", "displayOrder": 0, "hidden": False},
                {"label": "False", "value": "false", "displayOrder": 1, "hidden": False},
            ]

    def option_values(self) -> list[str]:
        ordered = sorted(self.options, key=lambda o: (o.get("displayOrder", 0), self.options.index(o)))
        return [str(o["value"]) for o in ordered]

    def to_json(self) -> JSON:
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "description": self.description,
            "groupName": self.group,
            "options": [dict(o) for o in self.options],
            "displayOrder": self.display_order,
            "calculated": False,
            "externalOptions": self.external_options,
            "hasUniqueValue": self.unique,
            "hidden": self.hidden,
            "hubspotDefined": self.hubspot_defined,
            "modificationMetadata": {
                "archivable": not self.hubspot_defined,
                "readOnlyDefinition": self.hubspot_defined and self.name not in _EDITABLE_DEFS,
                "readOnlyValue": self.read_only,
            },
            "formField": not self.read_only,
            "dataSensitivity": "non_sensitive",
            "archived": False,
            "createdAt": iso_from_ms(self.created_ms),
            "updatedAt": iso_from_ms(self.updated_ms),
        }


_GROUP_LABELS = {
    "analyticsinformation": "Web analytics history",
    "sales_properties": "Sales properties",
    "qualification": "Qualification (BANT)",
    "sandbox": "Sandbox",
}
# HubSpot-defined properties whose options an account may edit (custom lifecycle stages, lead status).
_EDITABLE_DEFS = {"lifecyclestage", "hs_lead_status"}


def _contact_defs() -> list[PropertyDef]:
    ci, ai, cv = "contactinformation", "analyticsinformation", "conversioninformation"
    defs = [
        PropertyDef("email", "string", ci, "Email"),
        PropertyDef("firstname", "string", ci, "First Name"),
        PropertyDef("lastname", "string", ci, "Last Name"),
        PropertyDef("jobtitle", "string", ci, "Job Title"),
        PropertyDef("company", "string", ci, "Company Name"),
        PropertyDef("industry", "string", ci, "Industry"),
        PropertyDef("country", "string", ci, "Country/Region"),
        PropertyDef("city", "string", ci, "City"),
        PropertyDef("website", "string", ci, "Website URL"),
        PropertyDef(
            "numemployees", "enumeration", ci, "Number of Employees", options=_options(EMPLOYEE_RANGES)
        ),
        PropertyDef("lifecyclestage", "enumeration", ci, "Lifecycle Stage", "radio", _options(LIFECYCLE)),
        PropertyDef("hs_lead_status", "enumeration", "sales_properties", "Lead Status", "radio"),
        PropertyDef(
            "hubspot_owner_id", "enumeration", "sales_properties", "Contact owner", external_options=True
        ),
        PropertyDef("createdate", "datetime", ci, "Create Date", read_only=True),
        PropertyDef("lastmodifieddate", "datetime", ci, "Last Modified Date", read_only=True),
        PropertyDef("hs_object_id", "number", ci, "Record ID", read_only=True),
        PropertyDef("hs_analytics_source", "enumeration", ai, "Original Traffic Source", read_only=True),
        PropertyDef("hs_analytics_last_url", "string", ai, "Last Page Seen", read_only=True),
        PropertyDef(
            "hs_analytics_last_visit_timestamp", "datetime", ai, "Time of Last Session", read_only=True
        ),
        PropertyDef(
            "notes_last_updated", "datetime", "sales_properties", "Last Activity Date", read_only=True
        ),
        PropertyDef("recent_conversion_event_name", "string", cv, "Recent Conversion", read_only=True),
        PropertyDef("recent_conversion_date", "datetime", cv, "Recent Conversion Date", read_only=True),
        PropertyDef("first_conversion_event_name", "string", cv, "First Conversion", read_only=True),
        PropertyDef("first_conversion_date", "datetime", cv, "First Conversion Date", read_only=True),
        PropertyDef("need", "string", "qualification", "Need", "textarea", hubspot_defined=False),
        PropertyDef("sandbox_reject_writes", "bool", "sandbox", "Sandbox: reject API writes", hidden=True),
    ]
    for value, label in LIFECYCLE:  # "Became a … Date", set by HubSpot when the stage is entered
        name = f"hs_lifecyclestage_{value}_date"
        defs.append(PropertyDef(name, "datetime", ci, f"Became a {label} Date", read_only=True))
    by_name = {d.name: d for d in defs}
    by_name["hs_lead_status"].options = _options(LEAD_STATUS)
    by_name["hs_analytics_source"].options = _options(ANALYTICS_SOURCES)
    by_name["sandbox_reject_writes"].hubspot_defined = False
    for name, values in BANT.items():
        defs.append(
            PropertyDef(name, "enumeration", "qualification", options=_options(values), hubspot_defined=False)
        )
    return defs


def _engagement_defs(otype: str) -> list[PropertyDef]:
    group = f"{otype[:-1]}information"
    common = [
        PropertyDef("hs_timestamp", "datetime", group, "Activity date"),
        PropertyDef("hubspot_owner_id", "enumeration", group, "Activity assigned to", external_options=True),
        PropertyDef("hs_createdate", "datetime", group, "Create date", read_only=True),
        PropertyDef("hs_lastmodifieddate", "datetime", group, "Last modified date", read_only=True),
        PropertyDef("hs_object_id", "number", group, "Record ID", read_only=True),
    ]
    own: dict[str, list[tuple[str, str]]] = {
        "calls": [("hs_call_title", "string"), ("hs_call_body", "string"), ("hs_call_duration", "number")],
        "emails": [("hs_email_subject", "string"), ("hs_email_text", "string")],
        "meetings": [("hs_meeting_title", "string"), ("hs_meeting_body", "string")],
        "notes": [("hs_note_body", "string")],
        "tasks": [("hs_task_subject", "string"), ("hs_task_body", "string")],
    }
    defs = common + [PropertyDef(n, t, group) for n, t in own[otype]]
    if otype == "calls":
        defs.append(PropertyDef("hs_call_disposition", "string", group, "Call outcome"))
    if otype == "meetings":
        defs += [PropertyDef(n, "datetime", group) for n in ("hs_meeting_start_time", "hs_meeting_end_time")]
    if otype == "tasks":
        defs.append(PropertyDef("hs_task_completion_date", "datetime", group, read_only=True))
    prefix = {"calls": "hs_call_", "emails": "hs_email_", "meetings": "hs_meeting_", "tasks": "hs_task_"}
    for name, values in _ENUMS.items():
        if otype in prefix and name.startswith(prefix[otype]):
            defs.append(PropertyDef(name, "enumeration", group, options=_options(values)))
    return defs


class Schema:
    """Properties and property groups per object type; not locked (the store's lock covers it)."""

    def __init__(self, now_ms: int) -> None:
        self.props: dict[str, dict[str, PropertyDef]] = {}
        self.groups: dict[str, dict[str, JSON]] = {}
        for otype in OBJECT_TYPES:
            defs = _contact_defs() if otype == "contacts" else _engagement_defs(otype)
            self.props[otype] = {}
            self.groups[otype] = {}
            for i, d in enumerate(defs):
                d.created_ms = d.updated_ms = now_ms
                d.display_order = d.display_order if d.display_order >= 0 else i
                self.props[otype][d.name] = d
                if d.group not in self.groups[otype]:
                    label = (
                        _GROUP_LABELS.get(d.group)
                        or d.group.replace("information", " information").capitalize()
                    )
                    self.groups[otype][d.group] = {"name": d.group, "label": label}
        for group in self.groups.values():
            for i, g in enumerate(group.values()):
                g.update(displayOrder=i, archived=False)

    # -- reading -------------------------------------------------------------------------------

    def object_props(self, otype: str) -> dict[str, PropertyDef]:
        if otype not in self.props:
            raise ApiError(400, "VALIDATION_ERROR", f"Unable to infer object type from: {otype}")
        return self.props[otype]

    def get(self, otype: str, name: str) -> PropertyDef:
        prop = self.object_props(otype).get(name)
        if prop is None:
            singular = otype.upper().rstrip("S")
            raise ApiError(
                404, "OBJECT_NOT_FOUND", f"Unable to find property {name} for object type {singular}"
            )
        return prop

    def list_groups(self, otype: str) -> list[JSON]:
        self.object_props(otype)
        return [dict(g) for g in self.groups[otype].values()]

    def get_group(self, otype: str, name: str) -> JSON:
        self.object_props(otype)
        if name not in self.groups[otype]:
            raise ApiError(404, "OBJECT_NOT_FOUND", f"Unable to find property group {name}")
        return dict(self.groups[otype][name])

    # -- changing definitions ------------------------------------------------------------------

    def create_group(self, otype: str, body: JSON) -> JSON:
        self.object_props(otype)
        groups = self.groups[otype]
        name, label = body.get("name"), body.get("label")
        if not isinstance(name, str) or not name or not isinstance(label, str):
            raise validation_error("Property group name and label are required")
        if name in groups:
            raise ApiError(
                409, "OBJECT_ALREADY_EXISTS", f"A property group with name '{name}' already exists."
            )
        order = body.get("displayOrder", len(groups))
        groups[name] = {"name": name, "label": label, "displayOrder": order, "archived": False}
        return dict(groups[name])

    def create(self, otype: str, body: JSON, now_ms: int) -> PropertyDef:
        props = self.object_props(otype)
        missing = [k for k in ("name", "label", "type", "fieldType", "groupName") if not body.get(k)]
        if missing:
            raise validation_error(f"Missing required fields: {', '.join(missing)}")
        name = str(body["name"])
        if name in props:
            raise ApiError(409, "OBJECT_ALREADY_EXISTS", f"Property named '{name}' already exists.")
        if body["type"] not in _TYPES:
            raise validation_error(f"Invalid property type: {body['type']}")
        if body["groupName"] not in self.groups[otype]:
            raise validation_error(f"Property group {body['groupName']} does not exist")
        options = self._check_options(body.get("options"), body["type"])
        prop = PropertyDef(
            name=name,
            type=str(body["type"]),
            group=str(body["groupName"]),
            label=str(body["label"]),
            field_type=str(body["fieldType"]),
            options=options,
            hubspot_defined=False,
            description=str(body.get("description") or ""),
            hidden=bool(body.get("hidden", False)),
            display_order=int(body.get("displayOrder", -1)),
            unique=body.get("hasUniqueValue") is True,
            created_ms=now_ms,
            updated_ms=now_ms,
        )
        props[name] = prop
        return prop

    def update(self, otype: str, name: str, body: JSON, now_ms: int) -> PropertyDef:
        prop = self.get(otype, name)
        if prop.hubspot_defined and name not in _EDITABLE_DEFS:
            raise validation_error(f"Property {name} is a HubSpot-defined property and cannot be modified")
        if "options" in body:  # the new list replaces the old one
            prop.options = self._check_options(body["options"], prop.type)
        if "groupName" in body:
            if body["groupName"] not in self.groups[otype]:
                raise validation_error(f"Property group {body['groupName']} does not exist")
            prop.group = str(body["groupName"])
        for key, attr in (("label", "label"), ("description", "description"), ("fieldType", "field_type")):
            if key in body:
                setattr(prop, attr, str(body[key]))
        if "hidden" in body:
            prop.hidden = bool(body["hidden"])
        if "displayOrder" in body:
            prop.display_order = int(body["displayOrder"])
        prop.updated_ms = now_ms
        return prop

    @staticmethod
    def _check_options(options: Any, ptype: str) -> list[JSON]:
        if ptype != "enumeration":
            return [] if not options else [dict(o) for o in options]
        if not isinstance(options, list) or not options:
            raise validation_error("Enumeration properties must have at least one option")
        out = []
        for i, o in enumerate(options):
            if not isinstance(o, dict) or not o.get("value") or "label" not in o:
                raise validation_error(f"Option {i} needs a label and a value")
            item = {"label": o["label"], "value": str(o["value"])}
            item.update(displayOrder=o.get("displayOrder", i), hidden=bool(o.get("hidden", False)))
            if "description" in o:
                item["description"] = o["description"]
            out.append(item)
        if len({o["value"] for o in out}) != len(out):
            raise validation_error("Option values must be unique")
        return out

    # -- writing values ------------------------------------------------------------------------

    def normalise(self, otype: str, values: Any, allow_read_only: bool = False) -> dict[str, str]:
        """Values as HubSpot stores them (strings); 400 listing every invalid property otherwise."""
        if not isinstance(values, dict):
            raise validation_error("properties must be an object")
        props = self.object_props(otype)
        out: dict[str, str] = {}
        invalid: list[JSON] = []
        for name, raw in values.items():
            prop = props.get(name)
            text = "" if raw is None else ("true" if raw is True else "false" if raw is False else str(raw))
            problem = self._problem(prop, name, text, allow_read_only)
            if problem:
                message, code = problem
                invalid.append({"isValid": False, "message": message, "error": code, "name": name})
                invalid[-1]["localizedErrorMessage"] = message
            elif prop is not None:
                out[name] = self._canonical(prop, text)
        if invalid:
            # HubSpot fails the whole request, naming every bad property in a JSON-in-text message.
            raise validation_error(f"Property values were not valid: {json.dumps(invalid)}")
        return out

    @staticmethod
    def _problem(prop: PropertyDef | None, name: str, text: str, allow_ro: bool) -> tuple[str, str] | None:
        if prop is None:
            return f'Property "{name}" does not exist', "PROPERTY_DOESNT_EXIST"
        if prop.read_only and not allow_ro:
            return f'"{name}" is a read only property; its value cannot be set.', "READ_ONLY_VALUE"
        if text == "":
            return None
        if prop.type in ("enumeration", "bool") and not prop.external_options:
            allowed = prop.option_values()
            chosen = text.split(";") if prop.field_type == "checkbox" else [text]
            bad = [c for c in chosen if c not in allowed]
            if bad:
                return f"{bad[0]} was not one of the allowed options: {allowed}", "INVALID_OPTION"
        if prop.type == "number":
            try:
                float(text)
            except ValueError:
                return f"{text} is not a valid number", "INVALID_FLOAT"
        if prop.type in ("datetime", "date") and ms_from_value(text) is None:
            return f"{text} is not a valid date or epoch milliseconds", "INVALID_DATE"
        return None

    @staticmethod
    def _canonical(prop: PropertyDef, text: str) -> str:
        if text and prop.type == "datetime":
            return iso_from_ms(ms_from_value(text) or 0)
        if text and prop.type == "date":
            return iso_from_ms(ms_from_value(text) or 0)[:10]
        return text
