"""Zoho CRM under leadsync.testing's suites: the adapter on the local Zoho org.

``ZohoAdapterHarness`` serves the adapter contract; ``ZohoSyncHarness`` the sync contract, on an
org set up for leadsync where web visitors just answered every BANT question (``sandbox``). The
Zoho-only sync tests (tests/sync/test_zoho_sync.py) use the same org and adapter.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from leadsync.adapters.zoho.adapter import ZohoAdapter, from_options
from leadsync.adapters.zoho.convert import contact_from_record
from leadsync.api import RetryPolicy
from leadsync.model import BUILTIN_REASONS
from leadsync.sandboxes.zoho.sandbox import SECRET_ENV, ZohoSandbox
from leadsync.testing import CallTap, QuotaStop, SleepRecorder, SyncHarness, example_playbook, http_calls
from tests.harnesses import reason_labels

__all__ = [
    "NOW",
    "ZohoAdapterHarness",
    "ZohoSyncHarness",
    "adapter",
    "capped",
    "people",
    "sandbox",
    "task_keys",
]

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # Monday 11:00 in Madrid
# The demo's playbook: Zoho records BANT answers, and knows calls and meetings, not page views.
PLAYBOOK = "bant.yaml"
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
# Zoho's 429 (the concurrency cap, the day's credits) comes from the CRM API, never from Zoho
# Accounts: rate-limit faults are kept off the token endpoint.
API_ONLY = r"^\w+ /crm/"


def adapter(sb: ZohoSandbox, **options: Any) -> ZohoAdapter:
    """The adapter on ``sb`` (its clock, retries that never wait); ``options`` add or replace."""
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


def _canonical(sb: ZohoSandbox, record_id: str, field: str, crm: ZohoAdapter) -> Any:
    for module in ("Leads", "Contacts"):
        found = [r for r in sb.records_json(module) if r["id"] == record_id]
        if found:
            return contact_from_record(found[0], crm.mapping.modules[module]).get(field)
    raise KeyError(record_id)


class ZohoAdapterHarness:
    """The adapter contract's view of a Zoho sandbox."""

    reason_labels = BUILTIN_REASONS

    def __init__(self, sandbox: ZohoSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sb = sandbox
        monkeypatch.setenv(SECRET_ENV, sandbox.credentials.client_secret)
        self._edits = itertools.count(1)
        self._adapter = self.make_adapter()

    def make_adapter(self, retry: RetryPolicy | None = None) -> ZohoAdapter:
        c = self.sb.credentials
        options: dict[str, Any] = {
            "accounts_url": self.sb.accounts_url,
            "api_url": self.sb.url,
            "client_id": c.client_id,
            "client_secret_env": SECRET_ENV,
            "token": c.refresh_token,
            "retry": retry or SleepRecorder().policy(),
            "clock": self.sb.clock,
        }
        return from_options(options)

    def seed_contacts(self, n: int, *, equal_timestamps: bool = False) -> list[str]:
        """``n`` open leads created a day ago: three to a second, or all in one."""
        self.sb.seed(leads=0, contacts=0, users=8, activities=False)
        org = self.sb.org
        base = org.now() - timedelta(days=1)
        ids = []
        with org.lock:
            for i in range(n):
                at = base if equal_timestamps else base + timedelta(seconds=i // 3)
                values = {
                    "Email": f"lead{i}@example{i % 40}.com",
                    "First_Name": f"Lead{i}",
                    "Last_Name": "Contract",
                    "Company": f"Example {i % 40}",
                    "Lead_Status": "Not Contacted",
                    "Owner": org.api_user,
                }
                ids.append(str(org.insert("Leads", values, org.api_user, at)["id"]))
        return ids

    def touch(self, contact_id: str) -> None:
        self.sb.touch("Leads", contact_id, {"Designation": f"Edited {next(self._edits)}"})

    def inject(self, fault: str, times: int = 1) -> None:
        if fault == "rate_limit":  # the concurrency cap's 429, which has no Retry-After
            self.sb.set_faults(storm=times, match=API_ONLY)
        elif fault == "server_error":
            self.sb.set_faults(fail_next=times)
        elif fault == "unauthorized":  # an admin revoked the refresh token: no token works or mints
            self.sb.revoke_refresh_token(self.sb.credentials.refresh_token)
            self.sb.expire_tokens()
        else:
            raise ValueError(f"unknown fault {fault!r}")

    def call_count(self) -> int:
        return int(self.sb.stats()["requests"])

    def reject_writes_for(self, contact_id: str) -> None:
        self.sb.reject_writes("Leads", contact_id)

    def contact_value(self, contact_id: str, field: str) -> Any:
        return _canonical(self.sb, contact_id, field, self._adapter)

    def task_count(self, key: str) -> int:
        return sum(1 for t in self.sb.records("Tasks").values() if t.get("Leadsync_Key") == key)

    def expected_owners(self) -> dict[str, bool]:
        return {str(u["id"]): self.sb.org.active(str(u["id"])) for u in self.sb.users()}


# -- the sync contract ---------------------------------------------------------------------------


def sandbox(leads: int = 40, qualified: int = 1) -> ZohoSandbox:
    """A fresh org set up for leadsync, where ``qualified`` visitors' web forms answered every BANT
    question (each an SQL, and a task for its owner)."""
    sb = ZohoSandbox(port=0, seed=3, leads=leads, now=NOW).start()
    adapter(sb).setup(reason_labels(PLAYBOOK))
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


def task_keys(sb: ZohoSandbox) -> list[str]:
    return sorted(str(t["Leadsync_Key"]) for t in sb.records("Tasks").values() if t.get("Leadsync_Key"))


def open_leads(sb: ZohoSandbox) -> list[str]:
    """The ids of the unconverted leads, sorted."""
    return sorted(r["id"] for r in sb.records_json("Leads") if not r["$converted"])


class ZohoSyncHarness(SyncHarness[ZohoSandbox]):
    """The sync contract's view of a Zoho org; it has every capability."""

    now = NOW
    resends_lost_tasks = True  # the CRM refuses a second task with the same key

    def __init__(self) -> None:
        self._mapping_adapter: ZohoAdapter | None = None

    def start(self, people: int = 40, hot: int = 1) -> ZohoSandbox:
        return sandbox(leads=people, qualified=hot)

    def stop(self, crm: ZohoSandbox) -> None:
        crm.stop()

    def adapter(self, crm: ZohoSandbox, **options: Any) -> ZohoAdapter:
        return adapter(crm, **options)

    def playbook(self, crm: ZohoSandbox) -> str:
        users = crm.users()
        return example_playbook(
            PLAYBOOK, [u["id"] for u in users if crm.org.active(u["id"]) and u["id"] != crm.org.api_user]
        )

    def advance(self, crm: ZohoSandbox, seconds: float) -> None:
        crm.advance(seconds)

    def state(self, crm: ZohoSandbox) -> dict[str, Any]:
        """Leadsync's fields on every lead and contact, and its tasks."""
        everyone = {
            r["id"]: tuple(str(r.get(f)) for f in WRITTEN)
            for module in ("Leads", "Contacts")
            for r in crm.records_json(module)
        }
        tasks = sorted(
            tuple(
                str(t.get(f)) for f in ("Leadsync_Key", "What_Id", "Who_Id", "Owner", "Subject", "Due_Date")
            )
            for t in crm.records_json("Tasks")
            if t.get("Leadsync_Key")
        )
        return {"people": everyone, "tasks": tasks}

    def people(self, crm: ZohoSandbox) -> list[str]:
        return open_leads(crm)

    def record(self, crm: ZohoSandbox, person_id: str) -> Mapping[str, Any]:
        module = "Leads" if person_id in crm.records("Leads") else "Contacts"
        return crm.record(module, person_id)

    def value(self, crm: ZohoSandbox, person_id: str, field: str) -> Any:
        if self._mapping_adapter is None:
            self._mapping_adapter = self.adapter(crm)
        return _canonical(crm, person_id, field, self._mapping_adapter)

    def task_keys(self, crm: ZohoSandbox) -> list[str]:
        return task_keys(crm)

    def calls(self, crm: ZohoSandbox, tap: CallTap) -> AbstractContextManager[None]:
        return http_calls(crm.url, tap)

    def rep_edit(self, crm: ZohoSandbox, person_id: str) -> Mapping[str, Any]:
        before = crm.record("Leads", person_id)
        rep = next(
            u["id"]
            for u in crm.users()
            if crm.org.active(u["id"]) and u["id"] not in (before["Owner"], crm.org.api_user)
        )
        status = "Contact in Future" if before["Lead_Status"] != "Contact in Future" else "Contacted"
        crm.advance(60)  # a minute later, in the Zoho UI
        crm.touch("Leads", person_id, {"Lead_Status": status, "Owner": rep}, by=rep)
        return {"Lead_Status": status, "Owner": rep}

    def refuse(self, crm: ZohoSandbox, person_id: str, refuse: bool = True) -> Sequence[str]:
        crm.reject_writes(
            "Leads", person_id, reject=refuse, alert="Partner leads are edited by the partner team"
        )
        return ["INVALID_DATA", "partner team"]

    def reset_calls(self, crm: ZohoSandbox) -> None:
        crm.clear_writes()
        crm.reset_stats()

    def write_calls(self, crm: ZohoSandbox) -> list[str]:
        calls = crm.stats()["by_endpoint"].items()
        return [e for e, n in calls if e.startswith(("PUT", "POST /crm")) for _ in range(n)]

    def automation(self, crm: ZohoSandbox) -> Mapping[str, bool]:
        """Each write and whether it let workflow rules, approvals or blueprints run (``trigger``)."""
        return {f"{w.method} {w.module} #{i}": w.trigger != [] for i, w in enumerate(crm.writes())}

    def lock(self, crm: ZohoSandbox, person_id: str) -> None:
        crm.lock("Leads", person_id)  # an approval: still locked after the retries

    def unlock(self, crm: ZohoSandbox, person_id: str) -> None:
        crm.unlock("Leads", person_id)

    def lock_briefly(self, crm: ZohoSandbox, person_id: str, sleeps: SleepRecorder) -> None:
        crm.lock("Leads", person_id)  # released while the adapter backs off (its retry policy's sleep)
        sleeps.then.append(lambda _seconds: crm.unlock("Leads", person_id))

    def exhaust_quota(self, crm: ZohoSandbox) -> QuotaStop:
        crm.set_credits(used=59_000)  # of 60,000: 1,000 left, what leadsync leaves to others
        return QuotaStop("credit_floor")

    def use_up_quota(self, crm: ZohoSandbox) -> QuotaStop:
        crm.set_credits(used=60_000)
        return QuotaStop("24 hours", {"credit_floor": 0})

    def restore_quota(self, crm: ZohoSandbox) -> None:
        crm.set_credits(used=0)  # a day later

    def convert(self, crm: ZohoSandbox, person_id: str) -> str:
        return crm.convert_lead(person_id)

    def delete(self, crm: ZohoSandbox, person_id: str) -> None:
        crm.delete("Leads", person_id)
