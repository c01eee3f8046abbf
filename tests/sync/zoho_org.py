"""A Zoho org for the sync tests: the local sandbox set up for leadsync, the adapter, the rules, a
job, and what a person would see in the org (127.0.0.1 only)."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from leadsync.adapters.zoho.adapter import ZohoAdapter, from_options
from leadsync.adapters.zoho.client import ZohoClient
from leadsync.demo import _with_owners
from leadsync.rules.loader import load_rules, rules_from_source
from leadsync.rules.yamlsource import load_yaml_text
from leadsync.sandboxes.zoho.sandbox import SECRET_ENV, ZohoSandbox
from leadsync.sync.loop import SyncJob
from leadsync.sync.state import StateStore
from leadsync.testing import SleepRecorder
from tests.sync.fake_crm import Crash

__all__ = [
    "NAME",
    "NOW",
    "adapter",
    "capped",
    "crashing",
    "crm_state",
    "job",
    "people",
    "sandbox",
    "task_keys",
]

NAME = "zoho"
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # Monday 11:00 in Madrid
# The demo's playbook: Zoho records BANT answers, and knows calls and meetings, not page views.
PLAYBOOK = Path(__file__).parents[2] / "examples" / "rules" / "bant.yaml"
WRITTEN = (
    "Lead_Status", "Owner", "Leadsync_Score", "Leadsync_Score_Breakdown", "Leadsync_Reason",
    "Leadsync_SLA_Status", "Leadsync_SLA_Due", "Leadsync_MQL_At", "Leadsync_SQL_At",
    "Leadsync_Assigned_At", "Leadsync_Stage",
)  # fmt: skip
QUALIFIED = {  # all four BANT answers qualify: an SQL, and a task for its owner
    "Budget_Status": "approved",
    "Buying_Role": "economic_buyer",
    "Need": "Replace three spreadsheets and a shared inbox",
    "Timeline": "this_quarter",
}


def sandbox(leads: int = 40, qualified: int = 1) -> ZohoSandbox:
    """A fresh org set up for leadsync, where ``qualified`` visitors' web forms answered every BANT
    question (each an SQL, and a task for its owner)."""
    sb = ZohoSandbox(port=0, seed=3, leads=leads, now=NOW).start()
    adapter(sb).setup(load_rules(PLAYBOOK).reason_labels)
    org = sb.org
    web = {
        "First_Name": "Marta",
        "Last_Name": "Vidal",
        "Email": "marta.vidal@energia-norte.es",
        "Company": "Energía Norte",
        "Designation": "CEO",
        "Country": "ES",
        "Industry": "Energy",
        "No_of_Employees": 1200,
        "Lead_Status": "Not Contacted",
        "Lead_Source": "Web Download",
        **QUALIFIED,
    }
    # The web form's default owner has left (deactivated): routing finds the lead a rep.
    web["Owner"] = next(u["id"] for u in sb.users() if u["status"] == "disabled")
    with org.lock:
        org.insert("Leads", web, org.api_user, NOW - timedelta(days=3))
        for i in range(1, qualified):
            other = {**web, "First_Name": f"Visitor {i}", "Email": f"visitor{i}@energia-norte.es"}
            org.insert("Leads", other, org.api_user, NOW - timedelta(days=3))
    return sb


def adapter(sb: ZohoSandbox, **options: Any) -> ZohoAdapter:
    os.environ[SECRET_ENV] = sb.credentials.client_secret  # the sandbox's own, nobody's secret
    c = sb.credentials
    return from_options(
        {
            "accounts_url": sb.accounts_url,
            "api_url": sb.url,
            "client_id": c.client_id,
            "client_secret_env": SECRET_ENV,
            "token": c.refresh_token,
            "retry": SleepRecorder().policy(),
            "clock": sb.clock,
            **options,
        }
    )


def rules_for(sb: ZohoSandbox) -> Any:
    reps = [u["id"] for u in sb.users() if sb.org.active(u["id"]) and u["id"] != sb.org.api_user]
    return rules_from_source(
        load_yaml_text(_with_owners(PLAYBOOK.read_text(encoding="utf-8"), reps), "rules")
    )


def job(sb: ZohoSandbox, store: StateStore, crm: ZohoAdapter | None = None, **kw: Any) -> SyncJob:
    return SyncJob(NAME, crm or adapter(sb), rules_for(sb), store, clock=lambda: NOW, **kw)


def crm_state(sb: ZohoSandbox) -> dict[str, Any]:
    """What a person would see in Zoho: leadsync's fields on every lead and contact, and its tasks."""
    people = {
        r["id"]: tuple(str(r.get(f)) for f in WRITTEN)
        for module in ("Leads", "Contacts")
        for r in sb.records_json(module)
    }
    tasks = sorted(
        (
            str(t["Leadsync_Key"]),
            str(t.get("What_Id")),
            str(t.get("Who_Id")),
            str(t.get("Owner")),
            str(t.get("Subject")),
            str(t.get("Due_Date")),
        )
        for t in sb.records_json("Tasks")
        if t.get("Leadsync_Key")
    )
    return {"people": people, "tasks": tasks}


def task_keys(sb: ZohoSandbox) -> list[str]:
    return sorted(str(t["Leadsync_Key"]) for t in sb.records("Tasks").values() if t.get("Leadsync_Key"))


def crashing(sb: ZohoSandbox, at: int) -> ZohoAdapter:
    """An adapter whose process dies at its ``at``-th Zoho API call (before sending it)."""
    crm = adapter(sb)
    client = crm.client
    real: Callable[..., Any] = ZohoClient._once

    def once(self: ZohoClient, method: str, path: str, *args: Any, **kw: Any) -> Any:
        if self.calls + 1 >= at:
            raise Crash(f"{method} {path}")
        return real(self, method, path, *args, **kw)

    client._once = once.__get__(client)  # type: ignore[method-assign]
    return crm


def capped(cap: int, leads: int) -> ZohoSandbox:
    """An org whose Get Records listings stop at ``cap`` records (Zoho's is 100,000), as
    ``sandbox`` sets it up: past the cap the adapter must list through COQL."""
    sb = sandbox(leads=leads)
    sb.set_limits(listing_cap=cap)
    return sb


def people(sb: ZohoSandbox) -> list[str]:
    """The ids of every unconverted lead and every contact: what a sync decides."""
    leads = [r["id"] for r in sb.records_json("Leads") if not r["$converted"]]
    return sorted(leads + [r["id"] for r in sb.records_json("Contacts")])
