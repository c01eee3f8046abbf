"""Deterministic, realistic seed data for the Salesforce sandbox: an org of leads and their history.

Same ``seed`` and ``now`` → same org. Users (reps in several time zones, two who left, the
``Leadsync Integration`` user the tokens run as, an admin), queues (``Inbound Leads`` is where the
active Lead assignment rule sends leads), the lead statuses, campaigns with their member statuses
(webinars, an ebook, a newsletter, a trade show, ads). Leads are ``leadsync.sandboxes.kit.people``:
statuses mostly open or working, owners mostly reps (new web leads sit in the queue, a few with a
rep who left), BANT answered on some, created over 18 months; imports and mass updates give many
leads the same ``CreatedDate``/``LastModifiedDate``. In the last 120 days: calls with
dispositions, emails (``TaskSubtype`` Email), follow-up tasks, meetings (Events) and campaign
responses (a webinar attended, an ebook downloaded). Field history: each lead's ``created`` and,
if not in the default status, the change to it at its last edit. About one lead in ten is already
converted (a Contact at an Account) and a few are in the recycle bin.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any

from leadsync.sandboxes.kit.people import (
    COUNTRIES,
    NEEDS,
    OWNER_NAMES,
    Person,
    ascii_name,
    person,
    pick,
    table,
    weights,
    words,
)
from leadsync.sandboxes.salesforce.auth import Auth
from leadsync.sandboxes.salesforce.backdoor import convert_lead
from leadsync.sandboxes.salesforce.model import BANT
from leadsync.sandboxes.salesforce.store import Org, Record

__all__ = ["CALL_DISPOSITIONS", "DOMAIN", "Seeder", "seed_org"]

DOMAIN = "leadsync-demo.com"
CALL_DISPOSITIONS = ["Connected", "Left Voicemail", "No Answer", "Wrong Number", "Busy"]
_DISPOSITION_W = weights("Connected:35, Left Voicemail:20, No Answer:30, Busy:8, Wrong Number:7")
_STATUS_W = weights(
    "Open - Not Contacted:34, Working - Contacted:24, Marketing Qualified:9, Sales Qualified:5, Nurture:12, "
    "Closed - Not Converted:8"
)
_STOCK = {"Marketing Qualified": "Working - Contacted", "Sales Qualified": "Working - Contacted"}
_STOCK["Nurture"] = "Open - Not Contacted"
_SOURCE_W = weights(
    "Web:35, Webinar:12, Trade Show:6, Advertisement:10, Phone Inquiry:6, Partner Referral:6, "
    "Employee Referral:3, External Referral:4, Purchased List:10, Other:8"
)
_INDUSTRY = {
    "Logistics": "Transportation",
    "Textile": "Apparel",
    "Financial Services": "Finance",
    "Computer Software": "Technology",
    "Legal Services": "Consulting",
}
_ZONES = words("Europe/Madrid Europe/Madrid Europe/Paris America/New_York Europe/London Europe/Berlin")
# name | type | status | active | days ago it started | member statuses (label:responded:default);
# the last three are web-to-lead forms: every submission is a responded member of the form's campaign.
_CAMPAIGNS = [
    (name, ctype, status, active == "1", int(days), statuses)
    for name, ctype, status, active, days, statuses in table("""
Webinar: Pipeline Reviews (Sep)|Webinar|Completed|0|75|Registered:0:1, Attended:1:0, No Show:0:0
Webinar: Lead Scoring 101 (Nov)|Webinar|In Progress|1|20|Registered:0:1, Attended:1:0, No Show:0:0
Ebook: CRM Buyer's Guide|Content Syndication|In Progress|1|110|Sent:0:1, Downloaded:1:0
Newsletter: October|Email|Completed|0|45|Sent:0:1, Responded:1:0
Trade Show: Logistics Expo Madrid|Trade Show|Completed|0|60|Sent:0:1, Visited Booth:1:0
Google Ads: Pricing|Advertisement|In Progress|1|90|Sent:0:1, Responded:1:0
Website: Demo Request|Other|In Progress|1|365|Submitted:1:1
Website: Pricing Enquiry|Other|In Progress|1|365|Submitted:1:1
Website: Case Study Download|Content Syndication|In Progress|1|365|Downloaded:1:1
""")
]
_FORMS = 3  # the last campaigns above: what new inbound leads come from
_SUBJECTS = ["Quick question", "Re: pricing", "Following up", "Demo next week?", "Intro: leadsync"]
_ACTIVITY_W = weights("call:35, email:30, meeting:10, task:10, campaign:15")
_ACTIVITIES = {  # lead status → (min, max) activities in the last 120 days
    "Open - Not Contacted": (1, 3),
    "Working - Contacted": (1, 4),
    "Nurture": (0, 3),
    "Marketing Qualified": (1, 4),
    "Sales Qualified": (3, 7),
    "Closed - Not Converted": (1, 3),
}


class Seeder:
    """Seeds an org: users, queues and campaigns, then leads and what was done to them."""

    def __init__(self, org: Org, rng: random.Random, now: datetime) -> None:
        self.org, self.rng, self.now = org, rng, now
        self.reps: list[str] = []
        self.gone: list[str] = []
        self.queues: dict[str, str] = {}
        self.campaigns: list[tuple[Record, list[str]]] = []

    def ago(self, days: float) -> datetime:
        return self.now - timedelta(days=days)

    def users(self, count: int, auth: Auth) -> None:
        org, rng = self.org, self.rng
        people: list[tuple[str, ...]] = [
            ("Carmen", "Ruiz", "Salesforce Administrator"),
            ("Leadsync", "Integration", "Integration User"),
        ]
        people += [(*OWNER_NAMES[i % len(OWNER_NAMES)].split(), "Account Executive") for i in range(count)]
        for i, (first, last, title) in enumerate(people):
            gone = count >= 4 and i >= len(people) - 2
            username = f"{ascii_name(first)}.{ascii_name(last)}@{DOMAIN}"
            user = org.insert(
                "User",
                {
                    "Username": username,
                    "FirstName": first,
                    "LastName": last,
                    "Email": username,
                    "Alias": (ascii_name(first)[:1] + ascii_name(last)[:4]),
                    "IsActive": not gone,
                    "TimeZoneSidKey": "Europe/Madrid" if i < 2 else _ZONES[i % len(_ZONES)],
                    "Title": title,
                    "Department": "Sales" if i >= 2 else "IT",
                    "UserType": "Standard",
                },
                at=self.ago(rng.randint(420, 900)),
            )
            if i == 0:
                org.admin_user = user["Id"]
                for rec in org.table("User").values():
                    rec.update(CreatedById=user["Id"], LastModifiedById=user["Id"])
            elif i == 1:
                org.api_user = user["Id"]
                auth.passwords[username.lower()] = ("Sandbox-Pass-1", "SbxSecurityToken42")
            else:
                (self.gone if gone else self.reps).append(user["Id"])
        admin = org.get("User", org.admin_user) or {}
        auth.passwords[str(admin.get("Username", "")).lower()] = ("Admin-Pass-1", "SbxAdminToken42")
        org.created = min(u["CreatedDate"] for u in org.rows("User"))

    def setup(self, statuses: list[tuple[str, bool]]) -> None:
        org = self.org
        at = org.created
        for name, kind in (
            ("Inbound Leads", "Queue"),
            ("Enterprise Leads", "Queue"),
            ("Sales Team", "Regular"),
        ):
            dev = name.replace(" ", "_")
            group = org.insert("Group", {"Name": name, "DeveloperName": dev, "Type": kind}, at=at)
            self.queues[name] = group["Id"]
        for i, (api, converted) in enumerate(statuses, 1):
            values = {"ApiName": api, "MasterLabel": api, "IsDefault": i == 1, "IsConverted": converted}
            org.insert("LeadStatus", {**values, "SortOrder": i}, at=at)
        rule = org.insert(
            "AssignmentRule", {"Name": "Inbound lead routing", "SobjectType": "Lead", "Active": True}, at=at
        )
        org.assignment_rule, org.assignment_owner = rule["Id"], self.queues["Inbound Leads"]
        for obj in ("Lead", "Contact"):
            for name in [*BANT, "Need__c"]:
                f = org.obj(obj).fields[name]
                meta: dict[str, Any] = {
                    "label": f.label,
                    "type": "Picklist" if f.type == "picklist" else "Text",
                }
                if f.type == "picklist":
                    options = [{"fullName": v, "label": v, "default": False} for v in f.values]
                    meta["valueSet"] = {
                        "restricted": True,
                        "valueSetDefinition": {"sorted": False, "value": options},
                    }
                else:
                    meta["length"] = f.length
                org.insert(
                    "CustomField",
                    {
                        "DeveloperName": name[:-3],
                        "TableEnumOrId": obj,
                        "FullName": f"{obj}.{name}",
                        "Metadata": meta,
                    },
                    at=at,
                )
        for name, ctype, status, active, days, member_statuses in _CAMPAIGNS:
            start = self.ago(days)
            values = {
                "Name": name,
                "Type": ctype,
                "Status": status,
                "IsActive": active,
                "OwnerId": org.admin_user,
            }
            camp = org.insert(
                "Campaign", {**values, "StartDate": start.date()}, at=start - timedelta(days=10)
            )
            labels = []
            for j, item in enumerate(member_statuses.split(", ")):
                label, responded, default = item.split(":")
                labels.append(label)
                org.insert(
                    "CampaignMemberStatus",
                    {
                        "CampaignId": camp["Id"],
                        "Label": label,
                        "HasResponded": responded == "1",
                        "IsDefault": default == "1",
                        "SortOrder": j + 1,
                    },
                    at=start - timedelta(days=10),
                )
            self.campaigns.append((camp, labels))

    def lead(self, p: Person, status: str, created: datetime) -> Record:
        rng = self.rng
        low, _, high = p.size.partition("-")
        employees = rng.randint(int(low.rstrip("+")), int(high or 20_000))
        country, code = COUNTRIES[p.country]
        values: Record = {
            "FirstName": p.first,
            "LastName": p.last,
            "Email": p.email,
            "Phone": f"{code} {rng.randint(600, 999)} {rng.randint(100, 999)} {rng.randint(100, 999)}",
            "Title": p.title or None,
            "Company": p.company if p.with_company else "[not provided]",
            "Country": country,
            "City": p.city,
            "LeadSource": pick(rng, _SOURCE_W),
            "Rating": pick(rng, weights("Hot:10, Warm:25, Cold:25, :40")) or None,
            "Status": status,
            "HasOptedOutOfEmail": rng.random() < 0.05,
        }
        if p.with_company:
            values.update(Industry=_INDUSTRY.get(p.industry, p.industry), NumberOfEmployees=employees)
        if p.with_website:
            values["Website"] = f"https://www.{p.domain}"
        if rng.random() < {
            "Marketing Qualified": 0.6,
            "Sales Qualified": 0.7,
            "Working - Contacted": 0.25,
        }.get(status, 0.08):
            values.update({name: rng.choice(options) for name, options in BANT.items()})
            values["Need__c"] = rng.choice(NEEDS) or None
        queue = status == "Open - Not Contacted" and rng.random() < 0.65
        if queue:
            values["OwnerId"] = self.queues["Enterprise Leads" if rng.random() < 0.1 else "Inbound Leads"]
        else:
            stale = self.gone and rng.random() < 0.03
            values["OwnerId"] = rng.choice(self.gone if stale else self.reps)
        return self.org.insert("Lead", values, at=created, by=self.org.admin_user)

    def activities(self, lead: Record, status: str) -> datetime | None:
        rng, org = self.rng, self.org
        low, high = _ACTIVITIES.get(status, (0, 2))
        start = max(lead["CreatedDate"], self.ago(120))
        latest = None
        joined: set[str] = set()
        for n in range(rng.randint(low, high)):
            ts = start + (self.now - start) * rng.random()
            if n == 0 and lead["CreatedDate"] > self.ago(2):  # the web form that created the lead
                ts = lead["CreatedDate"] + timedelta(seconds=rng.randint(5, 300))
            owner = lead["OwnerId"] if lead["OwnerId"].startswith("005") else rng.choice(self.reps)
            # New inbound leads: mostly what marketing brought in (forms, webinars), no sales touch yet.
            fresh = status == "Open - Not Contacted" and rng.random() < 0.8
            kind = "campaign" if fresh else pick(rng, _ACTIVITY_W)
            base: Record = {"WhoId": lead["Id"], "OwnerId": owner}
            if kind == "call":
                outcome = pick(rng, _DISPOSITION_W)
                seconds = rng.randint(60, 1800) if outcome == "Connected" else rng.randint(0, 40)
                base.update(
                    Subject="Call",
                    TaskSubtype="Call",
                    Type="Call",
                    Status="Completed",
                    CallDisposition=outcome,
                )
                base.update(
                    CallType="Inbound" if rng.random() < 0.15 else "Outbound", CallDurationInSeconds=seconds
                )
                base["ActivityDate"] = ts.date()
                org.insert("Task", base, at=ts, by=owner)
            elif kind == "email":
                base.update(Subject=f"Email: {rng.choice(_SUBJECTS)}", TaskSubtype="Email", Type="Email")
                org.insert(
                    "Task", {**base, "Status": "Completed", "ActivityDate": ts.date()}, at=ts, by=owner
                )
            elif kind == "task":
                due: date = (ts + timedelta(days=rng.randint(1, 10))).date()
                done = due < self.now.date() and rng.random() < 0.7
                base.update(Subject=f"Follow up with {lead['FirstName']}", TaskSubtype="Task", Type="Other")
                base.update(Status="Completed" if done else "Not Started", ActivityDate=due)
                org.insert(
                    "Task", {**base, "Priority": rng.choice(["High", "Normal", "Normal"])}, at=ts, by=owner
                )
            elif kind == "meeting":
                begin = ts.replace(minute=0, second=0, microsecond=0) + timedelta(
                    days=rng.choice([0, 0, 0, 7])
                )
                base.update(Subject=f"Discovery call: {lead['Company']}", Type="Meeting", StartDateTime=begin)
                org.insert(
                    "Event",
                    {**base, "EndDateTime": begin + timedelta(minutes=rng.choice([30, 45, 60]))},
                    at=ts,
                    by=owner,
                )
            else:
                pool = self.campaigns[-_FORMS:] if fresh and rng.random() < 0.6 else self.campaigns
                camp, labels = rng.choice(pool)
                if camp["Id"] in joined or camp["StartDate"] > ts.date():
                    continue
                joined.add(camp["Id"])
                roll = rng.random()  # labels: default, responded, then others (a webinar's No Show)
                label = (
                    labels[0]
                    if len(labels) == 1
                    else labels[1]
                    if roll < 0.6
                    else labels[2]
                    if roll < 0.75 and len(labels) > 2
                    else labels[0]
                )
                org.insert(
                    "CampaignMember",
                    {"CampaignId": camp["Id"], "LeadId": lead["Id"], "Status": label},
                    at=ts,
                    by=org.admin_user,
                )
            latest = max(latest or ts, ts)
        return latest


def _status_change(org: Org, lead: Record, default: str) -> None:
    """A seeded lead's last edit took it from the default status to its own (no randomness used)."""
    if "Status" in org.tracked.get("Lead", ()) and lead["Status"] != default:
        before = {"Status": default}
        org.record_changes("Lead", lead, before, lead["LastModifiedById"], lead["LastModifiedDate"])


def seed_org(
    org: Org,
    auth: Auth,
    *,
    leads: int = 300,
    users: int = 8,
    seed: int = 1,
    now: datetime | None = None,
    activities: bool = True,
    statuses: list[tuple[str, bool]],
) -> None:
    """Fill an empty org; the same arguments always give the same org."""
    rng = random.Random(seed)
    s = Seeder(org, rng, (now or org.now()))
    s.users(users, auth)
    org.insert(
        "Organization",
        {
            "Name": "Leadsync Demo Co",
            "TimeZoneSidKey": "Europe/Madrid",
            "DefaultLocaleSidKey": "es_ES",
            "LanguageLocaleKey": "en_US",
            "OrganizationType": "Enterprise Edition",
            "InstanceName": "EU45",
            "Country": "Spain",
            "IsSandbox": True,
        },
        at=org.created,
    )
    org.org_id = next(iter(org.table("Organization")))
    s.setup(statuses)
    names = [n for n, _ in statuses]
    bulk = sorted(s.ago(rng.uniform(1, 90)) for _ in range(max(3, leads // 25)))
    # Most leads arrived over 18 months; 6% in the last two days, from web forms, not yet worked.
    created = sorted(
        s.ago(rng.uniform(0.02, 2) if rng.random() < 0.06 else rng.uniform(0.05, 540)) for _ in range(leads)
    )
    emails: set[str] = set()
    for i in range(leads):
        if i and rng.random() < 0.1:
            created[i] = created[i - 1]  # one import, one CreatedDate
        status = pick(rng, _STATUS_W) if created[i] < s.ago(2) else "Open - Not Contacted"
        status = _STOCK.get(status, status) if status not in names else status
        lead = s.lead(person(rng, emails), status, created[i])
        latest = s.activities(lead, status) if activities else None
        later = [b for b in bulk if b >= created[i]]
        modified = (
            rng.choice(later)
            if later and rng.random() < 0.45
            else created[i] + (s.now - created[i]) * rng.random()
        ).replace(microsecond=0)  # Salesforce's stamps are to the second
        lead.update(LastModifiedDate=modified, LastModifiedById=rng.choice([org.admin_user, *s.reps]))
        lead["SystemModstamp"] = max(modified, latest or modified).replace(microsecond=0)
        lead["LastActivityDate"] = org.last_activity(lead["Id"], s.now)
        _status_change(org, lead, names[0])
        roll = rng.random()
        if roll < 0.1 and status != "Closed - Not Converted":
            convert_lead(org, lead, at=max(lead["SystemModstamp"], s.ago(rng.uniform(0.5, 60))))
        elif roll > 0.98:
            org.delete(
                "Lead", lead, org.admin_user, at=max(lead["SystemModstamp"], s.ago(rng.uniform(0.1, 25)))
            )
