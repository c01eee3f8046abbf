"""Salesforce under leadsync.testing's suites: the adapter on the local Salesforce org.

``SalesforceAdapterHarness`` serves the adapter contract; ``SalesforceSyncHarness`` the sync
contract, on an org set up for leadsync where web visitors just asked for a demo (``sandbox``).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

from leadsync.adapters.salesforce.adapter import SalesforceAdapter, from_options
from leadsync.adapters.salesforce.convert import contact_from_record
from leadsync.api import RetryPolicy
from leadsync.model import BUILTIN_REASONS
from leadsync.sandboxes.salesforce.sandbox import SalesforceSandbox
from leadsync.testing import CallTap, QuotaStop, SleepRecorder, SyncHarness, example_playbook, http_calls
from tests.harnesses import reason_labels
from tests.sandbox.sf_support import sandbox_adapter

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # Monday 11:00 in Madrid
PLAYBOOK = "qualification-matrix.yaml"
WRITTEN = (
    "Status", "OwnerId", "Leadsync_Score__c", "Leadsync_Reason__c", "Leadsync_SLA_Status__c",
    "Leadsync_SLA_Due__c", "Leadsync_MQL_At__c", "Leadsync_SQL_At__c", "Leadsync_Assigned_At__c",
)  # fmt: skip
VISITORS = [("Marta", "Vidal"), ("Jon", "Arrieta"), ("Laura", "Ferrer")]


def _kind(record_id: str) -> str:
    return "Lead" if record_id.startswith("00Q") else "Contact"


def _canonical(sb: SalesforceSandbox, record_id: str, field: str, adapter: SalesforceAdapter) -> Any:
    kind = _kind(record_id)
    record = sb.records_json(kind)[record_id]
    return contact_from_record({**record, "attributes": {"type": kind}}, adapter.mapping).get(field)


class SalesforceAdapterHarness:
    """The adapter contract's view of a Salesforce sandbox."""

    reason_labels = BUILTIN_REASONS

    def __init__(self, sandbox: SalesforceSandbox) -> None:
        self.sb = sandbox
        self._edits = itertools.count(1)
        self._adapter = self.make_adapter()

    def make_adapter(self, retry: RetryPolicy | None = None) -> SalesforceAdapter:
        options: dict[str, Any] = {
            "login_url": self.sb.url,
            "auth": "client_credentials",
            "client_id": self.sb.credentials.client_id,
            "token": self.sb.credentials.client_secret,
            "ca_file": self.sb.ca_file,
            "retry": retry or SleepRecorder().policy(),
        }
        return from_options(options)

    def seed_contacts(self, n: int, *, equal_timestamps: bool = False) -> list[str]:
        """``n`` open leads created a day ago: three to a second, or all in one."""
        self.sb.seed(leads=0, users=8, activities=False)
        org = self.sb.org
        base = org.now() - timedelta(days=1)
        ids = []
        for i in range(n):
            at = base if equal_timestamps else base + timedelta(seconds=i // 3)
            values = {
                "Email": f"lead{i}@example{i % 40}.com",
                "FirstName": f"Lead{i}",
                "LastName": "Contract",
                "Company": f"Example {i % 40}",
                "Status": "Open - Not Contacted",
                "OwnerId": org.api_user,
            }
            ids.append(str(org.insert("Lead", values, at)["Id"]))
        return ids

    def touch(self, contact_id: str) -> None:
        self.sb.set_field("Lead", contact_id, "Title", f"Edited {next(self._edits)}")

    def inject(self, fault: str, times: int = 1) -> None:
        if fault == "rate_limit":  # Salesforce has no short-window limit; a 503 storm is its nearest
            self.sb.set_faults(storm=times)
        elif fault == "server_error":
            self.sb.set_faults(fail_next=times)
        elif fault == "unauthorized":  # the connected app's secret rotated, the session expired
            self.sb.credentials.client_secret = "rotated-" + self.sb.credentials.client_secret
            self.sb.expire_sessions()
        else:
            raise ValueError(f"unknown fault {fault!r}")

    def call_count(self) -> int:
        return int(self.sb.stats()["requests"])

    def reject_writes_for(self, contact_id: str) -> None:
        self.sb.reject_writes(contact_id)

    def contact_value(self, contact_id: str, field: str) -> Any:
        return _canonical(self.sb, contact_id, field, self._adapter)

    def task_count(self, key: str) -> int:
        return sum(
            1 for t in self.sb.records("Task", deleted=False).values() if t.get("Leadsync_Key__c") == key
        )

    def expected_owners(self) -> dict[str, bool]:
        owners = {str(u["Id"]): bool(u["IsActive"]) for u in self.sb.users()}
        owners.update({qid: False for qid in self.sb.queues().values()})  # queues: holding
        return owners


# -- the sync contract ---------------------------------------------------------------------------


def sandbox(leads: int = 40, visitors: int = 1) -> SalesforceSandbox:
    """A fresh org, set up for leadsync, where ``visitors`` (up to 3) just asked for a demo on the
    website (each an MQL, and a task for its owner)."""
    sb = SalesforceSandbox(port=0, seed=3, leads=leads, now=NOW).start()
    sandbox_adapter(sb).setup(reason_labels(PLAYBOOK))
    for first, last in VISITORS[:visitors]:
        _web_visitor(sb, first, last)
    return sb


def _web_visitor(sb: SalesforceSandbox, first: str, last: str) -> None:
    """A CEO of a Spanish energy company who read, watched and asked: an MQL, waiting in a queue."""
    org = sb.org
    web = {
        "FirstName": first,
        "LastName": last,
        "Email": f"{first.lower()}.{last.lower()}@energia-norte.es",
        "Company": "Energía Norte",
        "Title": "CEO",
        "Country": "ES",
        "Industry": "Energy",
        "Status": "Open - Not Contacted",
        "LeadSource": "Web",
        "OwnerId": sb.queues()["Inbound Leads"],
    }
    lead = org.insert("Lead", web, at=NOW - timedelta(days=3))
    campaigns = {c["Name"]: c["Id"] for c in sb.records_json("Campaign").values()}
    # 15 (Spain, energy) + 20 (a case study) + 25 (a whole webinar) + 50 (a demo request): an MQL.
    for name, status, ago in (
        ("Website: Case Study Download", "Downloaded", timedelta(days=3)),
        ("Webinar: Lead Scoring 101 (Nov)", "Attended", timedelta(days=2)),
        ("Website: Demo Request", "Submitted", timedelta(minutes=9)),
    ):
        member = {"CampaignId": campaigns[name], "LeadId": lead["Id"], "Status": status}
        org.insert("CampaignMember", member, at=NOW - ago)


def task_keys(sb: SalesforceSandbox) -> list[str]:
    return sorted(
        str(t["Leadsync_Key__c"]) for t in sb.records_json("Task").values() if t.get("Leadsync_Key__c")
    )


class SalesforceSyncHarness(SyncHarness[SalesforceSandbox]):
    """The sync contract's view of a Salesforce org; it has every capability."""

    now = NOW
    resends_lost_tasks = True  # the CRM refuses a second task with the same key

    def __init__(self) -> None:
        self._mapping_adapter: SalesforceAdapter | None = None

    def start(self, people: int = 40, hot: int = 1) -> SalesforceSandbox:
        return sandbox(leads=people, visitors=hot)

    def stop(self, crm: SalesforceSandbox) -> None:
        crm.stop()

    def adapter(self, crm: SalesforceSandbox, **options: Any) -> SalesforceAdapter:
        return sandbox_adapter(crm, **options)

    def playbook(self, crm: SalesforceSandbox) -> str:
        staff = (crm.org.api_user, crm.org.admin_user)
        return example_playbook(PLAYBOOK, [u["Id"] for u in crm.users(active=True) if u["Id"] not in staff])

    def advance(self, crm: SalesforceSandbox, seconds: float) -> None:
        crm.advance(seconds)

    def state(self, crm: SalesforceSandbox) -> dict[str, Any]:
        """Leadsync's fields on every lead, and its tasks."""
        leads = {rid: tuple(str(r.get(f)) for f in WRITTEN) for rid, r in crm.records_json("Lead").items()}
        tasks = sorted(
            (
                t.get("Leadsync_Key__c"),
                t.get("WhoId"),
                t.get("OwnerId"),
                t.get("Subject"),
                t.get("ActivityDate"),
            )
            for t in crm.records_json("Task").values()
            if t.get("Leadsync_Key__c")
        )
        return {"leads": leads, "tasks": tasks}

    def people(self, crm: SalesforceSandbox) -> list[str]:
        return sorted(crm.records_json("Lead"))

    def record(self, crm: SalesforceSandbox, person_id: str) -> Mapping[str, Any]:
        return crm.records_json(_kind(person_id))[person_id]

    def value(self, crm: SalesforceSandbox, person_id: str, field: str) -> Any:
        if self._mapping_adapter is None:
            self._mapping_adapter = self.adapter(crm)
        return _canonical(crm, person_id, field, self._mapping_adapter)

    def task_keys(self, crm: SalesforceSandbox) -> list[str]:
        return task_keys(crm)

    def calls(self, crm: SalesforceSandbox, tap: CallTap) -> AbstractContextManager[None]:
        return http_calls(crm.url, tap)

    def rep_edit(self, crm: SalesforceSandbox, person_id: str) -> Mapping[str, Any]:
        before = crm.records_json("Lead")[person_id]
        rep = next(
            u["Id"] for u in crm.users(active=True) if u["Id"] not in (before["OwnerId"], crm.org.api_user)
        )
        status = "Nurture" if before["Status"] != "Nurture" else "Working - Contacted"
        crm.set_field("Lead", person_id, "Status", status)
        crm.set_field("Lead", person_id, "OwnerId", rep)
        return {"Status": status, "OwnerId": rep}

    def refuse(self, crm: SalesforceSandbox, person_id: str, refuse: bool = True) -> Sequence[str]:
        crm.reject_writes(person_id, reject=refuse)  # a validation rule
        return ["FIELD_CUSTOM_VALIDATION_EXCEPTION"]

    def reset_calls(self, crm: SalesforceSandbox) -> None:
        crm.reset_stats()

    def write_calls(self, crm: SalesforceSandbox) -> list[str]:
        calls = crm.stats()["by_endpoint"].items()
        return [e for e, n in calls if "composite" in e or "PATCH" in e for _ in range(n)]

    def automation(self, crm: SalesforceSandbox) -> Mapping[str, bool]:
        """Each write's Sforce-Auto-Assign: the Lead assignment rule runs unless it is FALSE."""
        return {k: not k.endswith(": FALSE") for k in crm.stats()["auto_assign"]}

    def lock(self, crm: SalesforceSandbox, person_id: str) -> None:
        crm.lock_rows(ids=[person_id])  # a long lock: still locked after the retries

    def unlock(self, crm: SalesforceSandbox, person_id: str) -> None:
        crm.lock_rows(unlock=True)

    def lock_briefly(self, crm: SalesforceSandbox, person_id: str, sleeps: SleepRecorder) -> None:
        crm.lock_rows(n=2)  # a passing lock: the next two record writes, retried within the call

    def exhaust_quota(self, crm: SalesforceSandbox) -> QuotaStop:
        crm.set_api_usage(used=79_990, maximum=100_000)  # leadsync stops at 80% (api_budget)
        return QuotaStop("80%")

    def use_up_quota(self, crm: SalesforceSandbox) -> QuotaStop:
        crm.set_api_usage(used=100_000, maximum=100_000)
        return QuotaStop("REQUEST_LIMIT_EXCEEDED", {"api_budget": 1.0})

    def restore_quota(self, crm: SalesforceSandbox) -> None:
        crm.set_api_usage(used=0)

    def convert(self, crm: SalesforceSandbox, person_id: str) -> str:
        return str(crm.convert_lead(person_id)["ContactId"])

    def delete(self, crm: SalesforceSandbox, person_id: str) -> None:
        crm.delete(person_id)
