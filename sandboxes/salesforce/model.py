"""The org's data model: the standard objects leadsync touches, with Salesforce's standard picklist
values, plus the BANT custom fields the customer's admin made on Lead and Contact.

Lead, Contact (and their field history, LeadHistory and ContactHistory: ``history``),
Account, Task, Event, Campaign, CampaignMember(Status), the read-only setup objects (Organization,
User, Group, LeadStatus, AssignmentRule), the permission objects (PermissionSet,
FieldPermissions, PermissionSetAssignment) and, for the Tooling API, CustomField. Field lists
follow the object reference (https://developer.salesforce.com/docs/platform/object-reference/),
trimmed to what a lead-scoring sync reads or writes.
"""

from __future__ import annotations

from leadsync.sandboxes.salesforce.history import history_objects
from leadsync.sandboxes.salesforce.model_setup import setup_objects
from leadsync.sandboxes.salesforce.schema import (
    FieldDef,
    ObjectDef,
    Schema,
    audit_fields,
    fld,
    make_object,
    pick,
    picklist,
    ref,
    ro,
)

__all__ = [
    "BANT",
    "CAMPAIGN_TYPES",
    "INDUSTRIES",
    "LEAD_SOURCES",
    "LEAD_STATUSES",
    "STOCK_LEAD_STATUSES",
    "standard_schema",
]

INDUSTRIES = [
    "Agriculture",
    "Apparel",
    "Banking",
    "Biotechnology",
    "Chemicals",
    "Communications",
    "Construction",
    "Consulting",
    "Education",
    "Electronics",
    "Energy",
    "Engineering",
    "Entertainment",
    "Environmental",
    "Finance",
    "Food & Beverage",
    "Government",
    "Healthcare",
    "Hospitality",
    "Insurance",
    "Machinery",
    "Manufacturing",
    "Media",
    "Not For Profit",
    "Other",
    "Recreation",
    "Retail",
    "Shipping",
    "Technology",
    "Telecommunications",
    "Transportation",
    "Utilities",
]
LEAD_SOURCES = [
    "Web",
    "Phone Inquiry",
    "Partner Referral",
    "Purchased List",
    "Advertisement",
    "Employee Referral",
    "External Referral",
    "Trade Show",
    "Webinar",
    "Other",
]
# (ApiName, IsConverted); the first is the default
LEAD_STATUSES = [
    ("Open - Not Contacted", False),
    ("Working - Contacted", False),
    ("Marketing Qualified", False),
    ("Sales Qualified", False),
    ("Nurture", False),
    ("Closed - Not Converted", False),
    ("Closed - Converted", True),
]
STOCK_LEAD_STATUSES = [
    ("Open - Not Contacted", False),
    ("Working - Contacted", False),
    ("Closed - Converted", True),
    ("Closed - Not Converted", False),
]
CAMPAIGN_TYPES = [
    "Advertisement",
    "Banner Ads",
    "Conference",
    "Content Syndication",
    "Direct Mail",
    "Email",
    "Partners",
    "Public Relations",
    "Referral Program",
    "Seminar / Conference",
    "Telemarketing",
    "Trade Show",
    "Webinar",
    "Other",
]
MEMBER_STATUSES = ["Sent", "Responded", "Registered", "Attended", "No Show", "Downloaded", "Visited Booth"]
BANT = {
    "Budget_Status__c": ["approved", "estimating", "no_budget", "unknown"],
    "Buying_Role__c": [
        "economic_buyer",
        "decision_maker",
        "technical_decision_maker",
        "influencer",
        "end_user",
    ],
    "Timeline__c": ["this_quarter", "next_quarter", "this_year", "next_year", "no_timeline"],
}


def _bant() -> list[FieldDef]:
    fields = [
        pick(name, values, restricted=True, custom=True, label=name[:-3].replace("_", " "))
        for name, values in BANT.items()
    ]
    fields.insert(2, fld("Need__c", "string", length=255, custom=True, label="Need"))
    return fields


def _person(country: str, city: str) -> list[FieldDef]:
    return [
        pick("Salutation", ["Mr.", "Ms.", "Mrs.", "Dr.", "Prof."]),
        fld("FirstName", "string", length=40),
        fld("LastName", "string", length=80, nillable=False, required=True),
        ro("Name", "string", length=121, name_field=True, label="Full Name"),
        fld("Title", "string", length=128),
        fld("Email", "email"),
        fld("Phone", "phone"),
        fld("MobilePhone", "phone"),
        fld(city, "string", length=40),
        fld(country, "string", length=80),
        pick("LeadSource", LEAD_SOURCES),
        fld("HasOptedOutOfEmail", "boolean", nillable=False, default=False, label="Email Opt Out"),
        fld("Description", "textarea", length=32000),
        ro("LastActivityDate", "date"),
    ]


def _lead(statuses: list[str], default_status: str) -> ObjectDef:
    fields = audit_fields(("Group", "User"))
    fields += _person("Country", "City")
    fields += [
        fld("Company", "string", length=255, nillable=False, required=True),
        pick("Industry", INDUSTRIES),
        fld("NumberOfEmployees", "int", label="Employees"),
        fld("AnnualRevenue", "double", precision=18, scale=0),
        fld("Website", "url"),
        pick("Rating", ["Hot", "Warm", "Cold"]),
        pick(
            "Status", statuses, restricted=True, nillable=False, default=default_status, label="Lead Status"
        ),
        ro("IsConverted", "boolean", nillable=False, label="Converted"),
        ro("ConvertedDate", "date"),
        FieldDef(
            "ConvertedContactId",
            "reference",
            createable=False,
            updateable=False,
            reference_to=("Contact",),
            relationship_name="ConvertedContact",
        ),
        FieldDef(
            "ConvertedAccountId",
            "reference",
            createable=False,
            updateable=False,
            reference_to=("Account",),
            relationship_name="ConvertedAccount",
        ),
        fld("IsUnreadByOwner", "boolean", nillable=False, default=True, label="Unread By Owner"),
    ]
    return make_object("Lead", fields + _bant(), custom_fields=True)


def _activity_fields() -> list[FieldDef]:
    return [
        fld("Subject", "combobox", length=255),
        ref("WhoId", ("Contact", "Lead"), "Who", label="Name ID"),
        ref("WhatId", ("Account", "Campaign"), "What", label="Related To ID"),
        fld("Description", "textarea", length=32000),
        pick("Type", ["Call", "Email", "Meeting", "Other"]),
    ]


def _task() -> ObjectDef:
    fields = audit_fields(("User",)) + _activity_fields()
    fields += [
        fld("ActivityDate", "date", label="Due Date Only"),
        pick(
            "Status",
            ["Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred"],
            restricted=True,
            nillable=False,
            default="Not Started",
        ),
        pick("Priority", ["High", "Normal", "Low"], restricted=True, nillable=False, default="Normal"),
        FieldDef(
            "TaskSubtype",
            "picklist",
            updateable=False,
            restricted=True,
            default="Task",
            picklist_values=picklist(["Task", "Email", "ListEmail", "Cadence", "Call", "LinkedIn"]),
        ),
        fld("CallDisposition", "string", length=255, label="Call Result"),
        pick("CallType", ["Inbound", "Outbound", "Internal"], restricted=True),
        fld("CallDurationInSeconds", "int", label="Call Duration"),
        ro("IsClosed", "boolean", nillable=False, label="Closed"),
        ro("CompletedDateTime", "datetime", label="Completed Date/Time"),
    ]
    return make_object("Task", fields, custom_fields=True)


def _event() -> ObjectDef:
    fields = audit_fields(("User",)) + _activity_fields()
    fields += [
        fld("StartDateTime", "datetime", label="Start"),
        fld("EndDateTime", "datetime", label="End"),
        fld("ActivityDateTime", "datetime", label="Due Date Time"),
        fld("ActivityDate", "date", label="Due Date Only"),
        fld("DurationInMinutes", "int", label="Duration"),
        fld("IsAllDayEvent", "boolean", nillable=False, default=False, label="All-Day Event"),
        fld("Location", "string", length=255),
        FieldDef(
            "EventSubtype",
            "picklist",
            updateable=False,
            restricted=True,
            default="Event",
            picklist_values=picklist(["Event"]),
        ),
    ]
    return make_object("Event", fields, custom_fields=True)


def _contact() -> ObjectDef:
    fields = audit_fields(("User",)) + _person("MailingCountry", "MailingCity")
    fields += [
        ref("AccountId", ("Account",), "Account", label="Account ID"),
        fld("Department", "string", length=80),
    ]
    return make_object("Contact", fields + _bant(), custom_fields=True)


def _account() -> ObjectDef:
    fields = [
        *audit_fields(("User",)),
        fld(
            "Name", "string", length=255, nillable=False, required=True, name_field=True, label="Account Name"
        ),
        fld("Website", "url"),
        pick("Industry", INDUSTRIES),
        fld("NumberOfEmployees", "int", label="Employees"),
        pick("Type", ["Prospect", "Customer - Direct", "Customer - Channel", "Partner", "Other"]),
        fld("BillingCity", "string", length=40),
        fld("BillingCountry", "string", length=80),
        fld("Phone", "phone"),
    ]
    return make_object("Account", fields, custom_fields=True)


def _campaign() -> ObjectDef:
    fields = [
        *audit_fields(("User",)),
        fld("Name", "string", length=80, nillable=False, required=True, name_field=True),
        pick("Type", CAMPAIGN_TYPES),
        pick("Status", ["Planned", "In Progress", "Completed", "Aborted"]),
        fld("IsActive", "boolean", nillable=False, default=False, label="Active"),
        fld("StartDate", "date"),
        fld("EndDate", "date"),
    ]
    return make_object("Campaign", fields, custom_fields=True)


def _members() -> list[ObjectDef]:
    member = [
        *audit_fields(None),
        ref("CampaignId", ("Campaign",), "Campaign", updateable=False, nillable=False, required=True),
        ref("LeadId", ("Lead",), "Lead", updateable=False),
        ref("ContactId", ("Contact",), "Contact", updateable=False),
        pick("Status", MEMBER_STATUSES),
        ro("HasResponded", "boolean", nillable=False, label="Responded"),
        ro("FirstRespondedDate", "date"),
    ]
    status = [
        *audit_fields(None),
        ref("CampaignId", ("Campaign",), "Campaign", updateable=False, nillable=False, required=True),
        fld("Label", "string", length=765, nillable=False, required=True),
        fld("HasResponded", "boolean", nillable=False, default=False),
        fld("IsDefault", "boolean", nillable=False, default=False),
        fld("SortOrder", "int"),
    ]
    return [
        make_object("CampaignMember", member, custom_fields=True),
        make_object(
            "CampaignMemberStatus", status, "Campaign Member Statuses", label="Campaign Member Status"
        ),
    ]


def standard_schema(statuses: list[tuple[str, bool]]) -> Schema:
    """A fresh org's schema; ``statuses`` is LeadStatus as (ApiName, IsConverted), default first."""
    names = [s for s, _ in statuses]
    lead, contact = _lead(names, names[0]), _contact()
    return Schema(
        [
            lead,
            contact,
            *history_objects([lead, contact]),
            _account(),
            _task(),
            _event(),
            _campaign(),
            *_members(),
            *setup_objects(names),
        ]
    )
