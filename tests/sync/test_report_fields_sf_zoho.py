"""Salesforce's and Zoho's own reports can show SLA compliance: `leadsync setup` creates the first
touch time (Date/Time) and whether it met the SLA (a pick-list `true`/`false`: a checkbox is never
empty, and an open SLA is neither) on leads and contacts, and a sync writes them for each handed-off
contact, as `leadsync report` counts them; the next sync writes nothing (local sandboxes)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest

from leadsync.sandboxes.salesforce.sandbox import SalesforceSandbox
from leadsync.sandboxes.zoho.sandbox import ZohoSandbox
from leadsync.sync.state import StateStore
from leadsync.testing.sync_suite import run
from tests.harnesses.salesforce import NOW, SalesforceSyncHarness
from tests.harnesses.zoho import ZohoSyncHarness


def _sf_mql(sb: SalesforceSandbox, name: str, mql_at: datetime, call_at: datetime) -> str:
    """A lead made an MQL by leadsync at ``mql_at``, owned by a rep who called it at ``call_at``."""
    org = sb.org
    rep = next(u["Id"] for u in sb.users(active=True) if u["Id"] != org.api_user)
    lead = {
        "FirstName": name,
        "LastName": "Touch",
        "Email": f"{name}@example.com",
        "Company": "Example",
        "Status": "Marketing Qualified",
        "OwnerId": rep,
        "Leadsync_MQL_At__c": mql_at,
        "Leadsync_Assigned_At__c": mql_at,
    }
    made = org.insert("Lead", lead, at=mql_at - timedelta(days=5))
    call = {
        "WhoId": made["Id"],
        "OwnerId": rep,
        "Subject": f"Call with {name}",
        "TaskSubtype": "Call",
        "Type": "Call",
        "Status": "Completed",
        "CallDisposition": "Connected",
        "CompletedDateTime": call_at,
        "ActivityDate": call_at.date(),
    }
    org.insert("Task", call, at=call_at)
    return str(made["Id"])


def _zoho_mql(sb: ZohoSandbox, name: str, mql_at: datetime, call_at: datetime) -> str:
    org = sb.org
    rep = next(u["id"] for u in sb.users() if org.active(u["id"]) and u["id"] != org.api_user)
    lead = {
        "First_Name": name,
        "Last_Name": "Touch",
        "Email": f"{name}@example.com",
        "Company": "Example",
        "Lead_Status": "Marketing Qualified",
        "Owner": rep,
        "Leadsync_MQL_At": mql_at,
        "Leadsync_Assigned_At": mql_at,
    }
    call = {
        "Subject": f"Call with {name}",
        "Call_Type": "Outbound",
        "Call_Start_Time": call_at,
        "Call_Duration": "05:00",
        "Call_Duration_in_seconds": 300,
        "Call_Result": "Interested",
        "Outgoing_Call_Status": "Completed",
        "Owner": rep,
    }
    with org.lock:
        made = org.insert("Leads", lead, org.api_user, mql_at - timedelta(days=5))
        org.insert("Calls", {**call, "What_Id": made["id"], "$se_module": "Leads"}, rep, call_at)
    return str(made["id"])


@dataclass(frozen=True)
class Crm:
    harness: Any
    mql: Callable[[Any, str, datetime, datetime], str]
    object: str  # where the fields are checked
    first_touch: str
    sla_met: str


CRMS = {
    "salesforce": Crm(
        SalesforceSyncHarness(), _sf_mql, "Lead", "Leadsync_First_Touch_At__c", "Leadsync_SLA_Met__c"
    ),
    "zoho": Crm(ZohoSyncHarness(), _zoho_mql, "Leads", "Leadsync_First_Touch_At", "Leadsync_SLA_Met"),
}


@pytest.fixture(params=sorted(CRMS))
def crm(request: pytest.FixtureRequest) -> Iterator[tuple[Crm, Any]]:
    c = CRMS[request.param]
    sandbox = c.harness.start(people=5, hot=0)
    try:
        yield c, sandbox
    finally:
        c.harness.stop(sandbox)


def _fields(c: Crm, sandbox: Any) -> dict[str, Any]:
    """The two fields' metadata as the CRM describes them."""
    if isinstance(sandbox, SalesforceSandbox):
        described = sandbox.org.obj(c.object).fields
        return {name: described[name] for name in (c.first_touch, c.sla_met)}
    module = sandbox.org.modules[c.object].fields
    return {name: module[name] for name in (c.first_touch, c.sla_met)}


def test_setup_creates_the_fields(crm: tuple[Crm, Any]) -> None:
    c, sandbox = crm
    first, met = _fields(c, sandbox).values()
    if isinstance(sandbox, SalesforceSandbox):
        assert first.type == "datetime" and (met.type, met.restricted, met.nillable) == (
            "picklist",
            True,
            True,
        )
        assert [(v["value"], v["label"]) for v in met.picklist_values] == [("true", "Yes"), ("false", "No")]
    else:
        assert (first.data_type, met.data_type, met.picklist) == ("datetime", "picklist", ["true", "false"])


def test_written_as_the_report_counts_them(crm: tuple[Crm, Any], leadsync_store: StateStore) -> None:
    c, sandbox = crm
    h = c.harness
    # 24 hours of calendar time (both playbooks): one call after 2 hours, one after 2 days.
    on_time = c.mql(sandbox, "ontime", NOW - timedelta(hours=3), NOW - timedelta(hours=1))
    late = c.mql(sandbox, "late", NOW - timedelta(days=3), NOW - timedelta(hours=2))
    first = run(h, sandbox, leadsync_store)
    assert first.status == "ok"
    for person, met, touched in (
        (on_time, "true", NOW - timedelta(hours=1)),
        (late, "false", NOW - timedelta(hours=2)),
    ):
        record = h.record(sandbox, person)
        assert str(record[c.sla_met]).lower() == met, (person, record)
        assert h.value(sandbox, person, "stage") in ("mql", "sql")
        written = record[c.first_touch]
        at = written if isinstance(written, datetime) else datetime.fromisoformat(str(written))
        assert at == touched
    assert not any(h.record(sandbox, p).get(c.sla_met) for p in h.people(sandbox) if p not in (on_time, late))
    second = run(h, sandbox, leadsync_store)
    assert second.counts.get("contacts_written", 0) == 0
