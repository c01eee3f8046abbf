"""The adapter contract, bound to Zoho CRM through the local sandbox (127.0.0.1 only)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from leadsync.adapters.zoho.adapter import ZohoAdapter, from_options
from leadsync.adapters.zoho.convert import contact_from_record
from leadsync.api import RetryPolicy, TaskRequest
from leadsync.model import BUILTIN_REASONS
from leadsync.sandboxes.zoho.sandbox import SECRET_ENV, ZohoSandbox
from leadsync.testing import AdapterContract, SleepRecorder

# Zoho's 429 (the concurrency cap, the day's credits) comes from the CRM API, never from Zoho
# Accounts: the rate-limit fault is kept off the token endpoint.
API_ONLY = r"^\w+ /crm/"


class ZohoHarness:
    """The contract suite's view of a Zoho sandbox."""

    reason_labels = BUILTIN_REASONS

    def __init__(self, sandbox: ZohoSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sb = sandbox
        monkeypatch.setenv(SECRET_ENV, sandbox.credentials.client_secret)
        self._edits = itertools.count(1)
        self._mapping = self.make_adapter().mapping

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
        for module in ("Leads", "Contacts"):
            found = [r for r in self.sb.records_json(module) if r["id"] == contact_id]
            if found:
                return contact_from_record(found[0], self._mapping.modules[module]).get(field)
        raise KeyError(contact_id)

    def task_count(self, key: str) -> int:
        return sum(1 for t in self.sb.records("Tasks").values() if t.get("Leadsync_Key") == key)

    def expected_owners(self) -> dict[str, bool]:
        return {str(u["id"]): self.sb.org.active(str(u["id"])) for u in self.sb.users()}


class TestZohoContract(AdapterContract):
    """Zoho CRM passes the adapter contract."""

    @pytest.fixture
    def harness(self, monkeypatch: pytest.MonkeyPatch) -> Iterator[ZohoHarness]:
        with ZohoSandbox(port=0, leads=0, contacts=0, activities=False) as sandbox:
            yield ZohoHarness(sandbox, monkeypatch)

    def test_create_tasks_many_a_call_each_once(self, harness: ZohoHarness) -> None:
        """``create_tasks``: one insert, one result per task in order, a key made before found."""
        ids = harness.seed_contacts(3)
        adapter = harness.make_adapter()
        adapter.setup(harness.reason_labels)
        owner = next(o for o, active in harness.expected_owners().items() if active)
        due = datetime.now(UTC) + timedelta(hours=2)
        tasks = [TaskRequest(f"stage_sql:{c}:x", c, owner, "Call (SLA)", due, may_exist=False) for c in ids]
        before = adapter.create_task(tasks[1])
        ghost = TaskRequest("stage_sql:ghost:x", "5725767999999999999", owner, "Call", due)
        harness.sb.reset_stats()
        results = harness.make_adapter().create_tasks([*tasks, ghost])
        assert [r.key for r in results] == [*(t.key for t in tasks), ghost.key]
        assert [r.created for r in results] == [True, False, True, False]
        assert results[1].crm_id == before.crm_id and results[3].crm_id is None and results[3].error
        assert all(harness.task_count(t.key) == 1 for t in tasks) and harness.task_count(ghost.key) == 0
        assert harness.sb.stats()["by_endpoint"].get("POST /crm/v8/{module}") == 1, "one insert"
