"""The Zoho sandbox's modules and fields: what ``GET /settings/fields`` and ``/settings/modules``
describe (``describe`` writes the JSON) and what writes are checked against.

Standard API names are Zoho's (``Lead_Status``, ``Designation``, ``What_Id`` ...); a custom field's
API name comes from its label (``Leadsync Score`` → ``Leadsync_Score``) with ``custom_field: true``
(https://www.zoho.com/crm/developer/docs/api/v8/field-meta.html). Every field is described with
all the keys ``fields.json`` requires, nulls where the schema allows them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leadsync.sandboxes.zoho.common import IdMaker

__all__ = [
    "BANT",
    "DATA_TYPES",
    "LEAD_STATUSES",
    "MODULES",
    "STOCK_LEAD_STATUSES",
    "Field",
    "Module",
    "api_name_for",
    "standard_modules",
]

# Zoho's stock Lead_Status values (shared/notes §2.3); the default org adds two stages of its own.
STOCK_LEAD_STATUSES = [
    "Attempted to Contact",
    "Contact in Future",
    "Contacted",
    "Junk Lead",
    "Lost Lead",
    "Not Contacted",
    "Pre-Qualified",
    "Not Qualified",
]
LEAD_STATUSES = [*STOCK_LEAD_STATUSES, "Marketing Qualified", "Sales Qualified"]
LEAD_SOURCES = [
    "Advertisement", "Cold Call", "Employee Referral", "External Referral", "Online Store", "Partner",
    "Public Relations", "Seminar Partner", "Trade Show", "Web Download", "Web Research", "Chat",
]  # fmt: skip
INDUSTRIES = [
    "Computer Software", "Construction", "Consulting", "Education", "Financial Services", "Government",
    "Healthcare", "Insurance", "Legal Services", "Logistics", "Machinery", "Manufacturing", "Retail",
    "Textile", "Utilities",
]  # fmt: skip
RATINGS = ["Acquired", "Active", "Market Failed", "Project Cancelled", "Shut Down"]
CALL_RESULTS = [
    "Interested", "Not interested", "No response/Busy", "Requested more info", "Requested call back",
    "Invalid number",
]  # fmt: skip
# data type → (json_type, ui_type, length)
DATA_TYPES: dict[str, tuple[str, int, int]] = {
    "text": ("string", 1, 255),
    "textarea": ("string", 3, 32000),
    "email": ("string", 25, 100),
    "phone": ("string", 33, 30),
    "website": ("string", 21, 255),
    "picklist": ("string", 2, 120),
    "integer": ("integer", 32, 9),
    "bigint": ("string", 37, 18),
    "double": ("double", 36, 16),
    "boolean": ("boolean", 301, 5),
    "date": ("string", 24, 20),
    "datetime": ("string", 333, 120),
    "lookup": ("jsonobject", 133, 120),
    "ownerlookup": ("jsonobject", 8, 120),
    "jsonarray": ("jsonarray", 1, 0),
}
CREATABLE = {"text", "textarea", "email", "phone", "website", "picklist", "integer", "bigint", "double"}
CREATABLE |= {"boolean", "date", "datetime"}


@dataclass
class Field:
    api_name: str
    label: str
    data_type: str
    id: str = ""
    mandatory: bool = False
    read_only: bool = False
    custom: bool = False
    picklist: list[str] = field(default_factory=list)
    unique: bool = False
    case_sensitive: bool = False
    lookup: str | None = None  # the module a lookup points at ("" for What_Id: from $se_module)
    created: datetime | None = None


@dataclass
class Module:
    api_name: str
    singular: str
    id: str
    fields: dict[str, Field]
    display: str  # the field a lookup shows as its name

    def field(self, name: str) -> Field | None:
        return self.fields.get(name)


def _f(api: str, dt: str = "text", **kw: Any) -> Field:
    return Field(api, api.replace("_", " "), dt, **kw)


_STAMPS = [
    _f("Owner", "ownerlookup", lookup="users"),
    _f("Created_By", "ownerlookup", read_only=True, lookup="users"),
    _f("Modified_By", "ownerlookup", read_only=True, lookup="users"),
    _f("Created_Time", "datetime", read_only=True),
    _f("Modified_Time", "datetime", read_only=True),
]
_PERSON = [
    _f("First_Name"),
    _f("Last_Name", mandatory=True),
    _f("Full_Name", read_only=True),
    _f("Email", "email"),
    _f("Phone", "phone"),
    _f("Mobile", "phone"),
    _f("Lead_Source", "picklist", picklist=LEAD_SOURCES),
    _f("Email_Opt_Out", "boolean"),
    _f("Description", "textarea"),
    _f("Last_Activity_Time", "datetime", read_only=True),
]
# The BANT answers the customer's admin added to Leads and Contacts (custom fields, as leadsync's
# Zoho mapping expects them).
BANT = {
    "Budget_Status": ["approved", "estimating", "no_budget", "unknown"],
    "Buying_Role": ["economic_buyer", "decision_maker", "technical_decision_maker", "influencer", "end_user"],
    "Timeline": ["this_quarter", "next_quarter", "this_year", "next_year", "no_timeline"],
}
_BANT = [
    *(_f(name, "picklist", custom=True, picklist=values) for name, values in BANT.items()),
    _f("Need", custom=True),
]
_RELATED = [
    _f("What_Id", "lookup", lookup=""),
    _f("Who_Id", "lookup", lookup="Contacts"),
    _f("Description", "textarea"),
]
_SPECS: dict[str, tuple[str, str, list[Field]]] = {
    "Leads": (
        "Lead",
        "Full_Name",
        [
            *_PERSON,
            _f("Company"),
            _f("Designation"),
            _f("Website", "website"),
            _f("Lead_Status", "picklist", picklist=LEAD_STATUSES),
            _f("Industry", "picklist", picklist=INDUSTRIES),
            _f("Rating", "picklist", picklist=RATINGS),
            _f("No_of_Employees", "integer"),
            _f("City"),
            _f("Country"),
            _f("Converted__s", "boolean", read_only=True),
            _f("Converted_Date_Time", "datetime", read_only=True),
            *_BANT,
        ],
    ),
    "Contacts": (
        "Contact",
        "Full_Name",
        [
            *_PERSON,
            _f("Account_Name", "lookup", lookup="Accounts"),
            _f("Title"),
            _f("Department"),
            _f("Mailing_City"),
            _f("Mailing_Country"),
            *_BANT,
        ],
    ),
    "Accounts": (
        "Account",
        "Account_Name",
        [
            _f("Account_Name", mandatory=True),
            _f("Website", "website"),
            _f("Industry", "picklist", picklist=INDUSTRIES),
        ],
    ),
    "Tasks": (
        "Task",
        "Subject",
        [
            _f("Subject", mandatory=True),
            _f("Due_Date", "date"),
            _f("Status", "picklist", picklist=["Not Started", "Deferred", "In Progress", "Completed"]),
            _f("Priority", "picklist", picklist=["Highest", "High", "Normal", "Low", "Lowest"]),
            _f("Closed_Time", "datetime", read_only=True),
            *_RELATED,
        ],
    ),
    "Calls": (
        "Call",
        "Subject",
        [
            _f("Subject", mandatory=True),
            _f("Call_Type", "picklist", mandatory=True, picklist=["Outbound", "Inbound", "Missed"]),
            _f("Call_Start_Time", "datetime", mandatory=True),
            _f("Call_Duration"),
            _f("Call_Duration_in_seconds", "integer", read_only=True),
            _f("Call_Purpose", "picklist", picklist=["Prospecting", "Administrative", "Negotiation", "Demo"]),
            _f("Call_Result", "picklist", picklist=CALL_RESULTS),
            _f(
                "Outgoing_Call_Status",
                "picklist",
                picklist=["Scheduled", "Completed", "Overdue", "Cancelled"],
            ),
            *_RELATED,
        ],
    ),
    "Events": (
        "Meeting",
        "Event_Title",
        [
            _f("Event_Title", mandatory=True),
            _f("Start_DateTime", "datetime", mandatory=True),
            _f("End_DateTime", "datetime", mandatory=True),
            _f("All_day", "boolean"),
            _f("Venue"),
            _f("Participants", "jsonarray"),
            *_RELATED,
        ],
    ),
    "Notes": (
        "Note",
        "Note_Title",
        [
            _f("Note_Title"),
            _f("Note_Content", "textarea", mandatory=True),
            _f("Parent_Id", "lookup", mandatory=True, lookup=""),
        ],
    ),
}
MODULES = list(_SPECS)


def standard_modules(ids: IdMaker, statuses: list[str], at: datetime) -> dict[str, Module]:
    """Fresh module definitions (each org gets its own, so custom fields stay in that org)."""
    out: dict[str, Module] = {}
    for name, (singular, display, own) in _SPECS.items():
        fields: dict[str, Field] = {}
        for proto in [*_STAMPS, *own]:
            f = Field(**{**proto.__dict__, "picklist": list(proto.picklist)})
            f.id, f.created = ids(), at
            if f.api_name == "Lead_Status":
                f.picklist = list(statuses)
            fields[f.api_name] = f
        out[name] = Module(name, singular, ids(), fields, display)
    return out


def api_name_for(label: str) -> str:
    """Zoho's API name for a new field: the label's words joined by ``_`` (``Leadsync Score`` →
    ``Leadsync_Score``)."""
    return re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9]+", "_", label.strip())).strip("_")
