"""The org both sides hold: a small one in our sandbox, set up for leadsync, copied into mockforce.

Not collected by the main test run (``testpaths = ["tests"]``): simple-mockforce pins
``responses<0.21`` and ``pyparsing<3``, so these tests run in their own virtual environment
(``.ci/run``'s second step).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from leadsync.adapters.salesforce.adapter import SalesforceAdapter
from leadsync.api import Activity
from leadsync.model import BUILTIN_REASONS
from leadsync.sandboxes.salesforce.sandbox import SalesforceSandbox
from tests_mockforce.support import NOW, sandbox_adapter

DAY = timedelta(days=1)


@dataclass
class Org:
    """The sandbox, an adapter on it, and who is who."""

    sb: SalesforceSandbox
    adapter: SalesforceAdapter
    rep: str  # an active sales user
    leads: dict[str, str] = field(default_factory=dict)  # a: O'Brien, b, c (converted), d (deleted), f
    contact: str = ""  # c's contact
    expected: list[Activity] = field(default_factory=list)  # a, b and the contact's, by hand


def _seed(sb: SalesforceSandbox, adapter: SalesforceAdapter) -> Org:
    org = sb.org
    rep = next(
        u["Id"]
        for u in sorted(sb.users(active=True), key=lambda u: str(u["Id"]))
        if u["Id"] not in (org.api_user, org.admin_user)
    )
    out = Org(sb, adapter, rep)

    def lead(key: str, first: str, last: str, company: str, **values: Any) -> str:
        base = {"FirstName": first, "LastName": last, "Company": company, "Status": "Open - Not Contacted"}
        base.update(Email=f"{first.lower()}@{company.split()[0].lower()}.example", OwnerId=rep)
        rid = str(org.insert("Lead", {**base, **values}, at=NOW - 30 * DAY + len(out.leads) * DAY)["Id"])
        out.leads[key] = rid
        return rid

    def task(who: str, ago: timedelta, **values: Any) -> str:
        return str(org.insert("Task", {"WhoId": who, "OwnerId": rep, **values}, at=NOW - ago, by=rep)["Id"])

    def expect(kind: str, rid: str, who: str, typ: str, ago: timedelta, **props: Any) -> None:
        at = (NOW - ago).replace(microsecond=0)
        out.expected.append(Activity(f"{kind}:{rid}", who, typ, at, rep, props))

    a = lead("a", "Aoife", "O'Brien", "Brien & Sons", LeadSource="Web", Country="IE", Title="CTO")
    b = lead("b", "Bruno", "Keller", "Keller AG", LeadSource="Partner Referral", NumberOfEmployees=80)
    c = lead("c", "Chen", "Wu", "Wu Trading Ltd", Country="SG")
    d = lead("d", "Dora", "Lind", "Lind Oy", Country="FI")
    f = lead("f", "Femi", "Adeyemi", "Adeyemi Labs", Country="NG", Status="Working - Contacted")

    call = {"Subject": "Call", "TaskSubtype": "Call", "Type": "Call", "Status": "Completed"}
    details = {"CallDisposition": "Left Voicemail", "CallType": "Outbound", "CallDurationInSeconds": 25}
    rid = task(a, 3 * DAY, **call, **details)
    expect("task", rid, a, "call", 3 * DAY, outcome="voicemail", duration_s=25.0, direction="outbound")
    task(a, 2 * DAY, **{**call, "Status": "Not Started"}, CallDisposition="Connected")  # an open call: none
    rid = task(a, 2 * DAY, Subject="Email: pricing", TaskSubtype="Email", Type="Email", Status="Completed")
    expect("task", rid, a, "email_sent", 2 * DAY)
    task(a, 2 * DAY, Subject="Newsletter", TaskSubtype="ListEmail", Status="Completed")  # marketing's: none
    # a call logged as a plain task: Type Call; the Call Result is free text, read case-insensitively
    rang = {"Subject": "Rang back", "TaskSubtype": "Task", "Type": "Call", "Status": "Completed"}
    rid = task(a, timedelta(hours=40), **rang, CallDisposition=" CONNECTED ")
    expect("task", rid, a, "call", timedelta(hours=40), outcome="connected")
    plain = {"TaskSubtype": "Task", "Type": "Other"}
    rid = task(a, DAY, **plain, Subject="Send the case study", Status="Completed")
    expect("task", rid, a, "task_done", DAY)
    task(a, DAY, **plain, Subject="Follow up", Status="Not Started", ActivityDate=(NOW + DAY).date())  # open
    # leadsync's own task, completed: never an activity
    task(a, DAY, **plain, Subject="leadsync: call", Status="Completed", Leadsync_Key__c="sla:cross-check:1")
    start = (NOW - DAY).replace(hour=15, minute=0)
    event = {"WhoId": b, "OwnerId": rep, "Subject": "Discovery", "Type": "Meeting", "StartDateTime": start}
    event["EndDateTime"] = start + timedelta(minutes=45)
    rid = str(org.insert("Event", event, at=NOW - 3 * DAY)["Id"])
    out.expected.append(Activity(f"event:{rid}", b, "meeting", start, rep, {}))
    task(b, DAY, Subject="Email: intro", TaskSubtype="Email", Status="Not Started")  # a draft: none
    task(f, DAY, **call, CallDisposition="Connected")  # f's: not asked for
    task(d, 5 * DAY, **call, CallDisposition="No Answer")
    sb.delete(d)  # takes its task along
    task(c, 6 * DAY, **call, CallDisposition="No Answer")  # moves to the contact on conversion
    out.contact = sb.convert_lead(c)["ContactId"]
    rid = next(str(t["Id"]) for t in org.rows("Task") if t["WhoId"] == out.contact)
    expect("task", rid, out.contact, "call", 6 * DAY, outcome="no_answer")
    rid = task(out.contact, timedelta(hours=4), **call, CallDisposition="Busy")  # a result not mapped
    expect("task", rid, out.contact, "call", timedelta(hours=4))
    out.expected.sort(key=lambda x: (x.at, x.id))
    return out


@pytest.fixture
def org() -> Iterator[Org]:
    """A fresh org per test (a test may write to it)."""
    with SalesforceSandbox(seed=5, leads=0, users=4, activities=False, now=NOW) as sb:
        adapter = sandbox_adapter(sb)
        adapter.setup(BUILTIN_REASONS)  # Leadsync_Key__c on Task, leadsync's fields on Lead
        yield _seed(sb, adapter)
