"""The adapter contract, bound to Salesforce through the local sandbox (127.0.0.1 only)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from leadsync.adapters.salesforce.adapter import SalesforceAdapter, from_options
from leadsync.adapters.salesforce.convert import contact_from_record
from leadsync.api import RetryPolicy
from leadsync.model import BUILTIN_REASONS
from leadsync.sandboxes.salesforce.sandbox import SalesforceSandbox
from leadsync.testing import AdapterContract, SleepRecorder


class SalesforceHarness:
    """The contract suite's view of a Salesforce sandbox."""

    reason_labels = BUILTIN_REASONS

    def __init__(self, sandbox: SalesforceSandbox) -> None:
        self.sb = sandbox
        self._edits = itertools.count(1)
        self._mapping = self.make_adapter().mapping

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
        kind = "Lead" if contact_id.startswith("00Q") else "Contact"
        record = self.sb.records_json(kind)[contact_id]
        return contact_from_record({**record, "attributes": {"type": kind}}, self._mapping).get(field)

    def task_count(self, key: str) -> int:
        return sum(
            1 for t in self.sb.records("Task", deleted=False).values() if t.get("Leadsync_Key__c") == key
        )

    def expected_owners(self) -> dict[str, bool]:
        owners = {str(u["Id"]): bool(u["IsActive"]) for u in self.sb.users()}
        owners.update({qid: False for qid in self.sb.queues().values()})  # queues: holding
        return owners


class TestSalesforceContract(AdapterContract):
    """Salesforce passes the adapter contract."""

    @pytest.fixture
    def harness(self) -> Iterator[SalesforceHarness]:
        with SalesforceSandbox(port=0, leads=0, activities=False) as sandbox:
            yield SalesforceHarness(sandbox)
