"""What people and automation do in the Salesforce sandbox's org behind the API's back: a person's
edit, a workflow's touch, and lead conversion.

Lead conversion as Salesforce does it
(https://help.salesforce.com/s/articleView?id=sf.leads_convert.htm): an Account named after the
company (an existing one with that name is reused), a Contact copying the person (name, e-mail,
phone, title, source, country and city into the mailing address, owner) and every custom field
that has the same API name on Contact; the lead becomes ``IsConverted`` with the converted status,
``ConvertedDate`` and the new ids (its field history gains a ``leadConverted`` row); its tasks and
events move to the contact (and the account when they had no related-to) and its campaign
memberships gain the contact.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from leadsync.sandboxes.salesforce.common import SfError
from leadsync.sandboxes.salesforce.store import Org, Record

__all__ = ["convert_lead", "edit"]

_TO_CONTACT = {
    "Salutation": "Salutation",
    "FirstName": "FirstName",
    "LastName": "LastName",
    "Email": "Email",
    "Phone": "Phone",
    "MobilePhone": "MobilePhone",
    "Title": "Title",
    "LeadSource": "LeadSource",
    "Country": "MailingCountry",
    "City": "MailingCity",
    "HasOptedOutOfEmail": "HasOptedOutOfEmail",
    "Description": "Description",
}
_TO_ACCOUNT = {"Website": "Website", "Industry": "Industry", "NumberOfEmployees": "NumberOfEmployees"}
_TO_ACCOUNT.update(Country="BillingCountry", City="BillingCity")


def human(org: Org, rec: Record | None = None) -> str:
    """The person behind a manual change: the record's owner when an active user, else the admin."""
    owner = (rec or {}).get("OwnerId")
    user = org.get("User", owner) if owner else None
    return str(user["Id"]) if user is not None and user.get("IsActive") else org.admin_user


def edit(org: Org, otype: str, rec: Record, values: dict[str, Any], system: bool = False) -> None:
    """A person's edit (``LastModifiedDate``/``ById`` move) or, with ``system``, automation's
    (only ``SystemModstamp`` moves). No API rules: no field access, no assignment rule."""
    with org.lock:
        if system:
            rec.update(values)
            org.derive(otype, rec, org.now())
            org.touch(rec)
            org.rollup(otype, rec, org.now())
        else:
            org.save(otype, rec, values, human(org, rec))


def convert_lead(
    org: Org,
    lead: Record,
    *,
    at: datetime | None = None,
    by: str | None = None,
    status: str | None = None,
    account_id: str | None = None,
) -> dict[str, str]:
    """Convert as a person would in Salesforce; returns the contact's and account's ids."""
    with org.lock:
        if lead.get("IsConverted"):
            raise SfError(400, "CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")
        if lead.get("IsDeleted"):
            raise SfError(404, "ENTITY_IS_DELETED", "entity is deleted")
        at = at or org.now()
        by = by or human(org, lead)
        owner = lead["OwnerId"] if str(lead.get("OwnerId", "")).startswith("005") else by
        converted = [s for s in org.rows("LeadStatus") if s["IsConverted"]]
        if status is None:
            if not converted:
                raise SfError(400, "INVALID_STATUS", "no converted lead status")
            status = converted[0]["ApiName"]
        elif status not in {s["ApiName"] for s in converted}:
            raise SfError(400, "INVALID_STATUS", f"invalid converted status: {status}")
        account = _account(org, lead, account_id, owner, at, by)
        contact_values: Record = {dst: lead.get(src) for src, dst in _TO_CONTACT.items()}
        contact_obj = org.obj("Contact")
        for name, f in org.obj("Lead").fields.items():
            target = contact_obj.field(name)
            if f.custom and target is not None:
                contact_values[target.name] = lead.get(name)
        contact_values.update(AccountId=account["Id"], OwnerId=owner)
        contact = org.insert("Contact", contact_values, at=at, by=by)
        org.save(
            "Lead",
            lead,
            {
                "IsConverted": True,
                "Status": status,
                "ConvertedDate": at.date(),
                "ConvertedContactId": contact["Id"],
                "ConvertedAccountId": account["Id"],
            },
            by,
            at,
        )
        org.record_event("Lead", lead, "leadConverted", by, at)
        for otype in ("Task", "Event"):
            for activity in org.related(lead["Id"], otype):
                if activity["WhoId"] == lead["Id"]:
                    activity.update(WhoId=contact["Id"], WhatId=activity.get("WhatId") or account["Id"])
                    org.relink(otype, activity, {"WhoId": lead["Id"]})
                    org.touch(activity, at)
                    org.rollup(otype, activity, at, {"WhoId": lead["Id"]})
        for member in org.related(lead["Id"], "CampaignMember"):
            if member["LeadId"] == lead["Id"] and not member["ContactId"]:
                member["ContactId"] = contact["Id"]
                org.relink("CampaignMember", member, {"LeadId": lead["Id"]})
                org.touch(member, at)
        return {"ContactId": contact["Id"], "AccountId": account["Id"]}


def _account(org: Org, lead: Record, account_id: str | None, owner: str, at: datetime, by: str) -> Record:
    if account_id:
        found = org.get("Account", account_id)
        if found is None:
            raise SfError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
        return found
    name = str(lead.get("Company") or lead.get("LastName"))
    for acc in org.rows("Account"):
        if str(acc["Name"]).casefold() == name.casefold():
            return acc
    values: Record = {dst: lead.get(src) for src, dst in _TO_ACCOUNT.items()}
    values.update(Name=name, OwnerId=owner, Type="Prospect")
    return org.insert("Account", values, at=at, by=by)
