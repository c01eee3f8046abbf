"""The adapter contract, bound to HubSpot through the local sandbox (127.0.0.1 only)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from leadsync.adapters.hubspot.adapter import HubSpotAdapter, from_options
from leadsync.adapters.hubspot.convert import contact_from_record
from leadsync.api import RetryPolicy
from leadsync.model import BUILTIN_REASONS
from leadsync.sandboxes.hubspot.sandbox import HubSpotSandbox, RateLimits
from leadsync.testing import AdapterContract, SleepRecorder

TOKEN = "pat-contract"
# The sandbox enforces HubSpot's real limits by default; the adapter's limiter is raised to match,
# so the 10,500-contact read takes seconds, not the 11 s that 5 searches a second would.
FAST = RateLimits(ten_second_max=100_000, search_per_second=10_000)
DAY_MS = 86_400_000


class HubSpotHarness:
    """The contract suite's view of a HubSpot sandbox."""

    reason_labels = BUILTIN_REASONS

    def __init__(self, sandbox: HubSpotSandbox) -> None:
        self.sb = sandbox
        self._edits = itertools.count(1)
        self._mapping = self.make_adapter().mapping

    def make_adapter(self, retry: RetryPolicy | None = None) -> HubSpotAdapter:
        options: dict[str, Any] = {
            "base_url": self.sb.url,
            "token": TOKEN,
            "retry": retry or SleepRecorder().policy(),
            "rate_per_10s": 10_000,
            "search_per_s": 1_000,
        }
        return from_options(options)

    def seed_contacts(self, n: int, *, equal_timestamps: bool = False) -> list[str]:
        """``n`` leads created a day ago: three to a timestamp, or all at one."""
        self.sb.seed(contacts=0, owners=8, engagements=False)
        store = self.sb.store
        base = store.now_ms() - DAY_MS
        ids = []
        for i in range(n):
            at = base if equal_timestamps else base + (i // 3) * 1000
            values = {
                "email": f"lead{i}@example{i % 40}.com",
                "firstname": f"Lead{i}",
                "lifecyclestage": "lead",
            }
            ids.append(str(store.add("contacts", values, at).id))
        return ids

    def touch(self, contact_id: str) -> None:
        self.sb.set_property(contact_id, "jobtitle", f"Edited {next(self._edits)}")

    def inject(self, fault: str, times: int = 1) -> None:
        if fault == "rate_limit":
            self.sb.set_faults(storm=times)
        elif fault == "server_error":
            self.sb.set_faults(fail_next=times)
        elif fault == "unauthorized":
            self.sb.expire_token(TOKEN)
        else:
            raise ValueError(f"unknown fault {fault!r}")

    def call_count(self) -> int:
        return int(self.sb.stats()["requests"])

    def reject_writes_for(self, contact_id: str) -> None:
        self.sb.reject_writes(contact_id)

    def contact_value(self, contact_id: str, field: str) -> Any:
        record = self.sb.contacts[contact_id]
        contact = contact_from_record(
            {"id": contact_id, "properties": dict(record.properties)}, self._mapping
        )
        return contact.get(field)

    def task_count(self, key: str) -> int:
        tasks = self.sb.objects("tasks")
        return sum(1 for tid in tasks if tasks[tid].properties.get("leadsync_action_key") == key)

    def expected_owners(self) -> dict[str, bool]:
        return {str(o["id"]): not o["archived"] for o in self.sb.owners}


class TestHubSpotContract(AdapterContract):
    """HubSpot passes the adapter contract."""

    @pytest.fixture
    def harness(self) -> Iterator[HubSpotHarness]:
        with HubSpotSandbox(port=0, token=TOKEN, contacts=0, engagements=False, limits=FAST) as sandbox:
            yield HubSpotHarness(sandbox)
