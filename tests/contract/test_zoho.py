"""Zoho CRM passes leadsync.testing's two suites, on the local Zoho org (127.0.0.1 only)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from leadsync.api import TaskRequest
from leadsync.sandboxes.zoho.sandbox import ZohoSandbox
from leadsync.testing import AdapterContract, SyncContract
from tests.harnesses.zoho import ZohoAdapterHarness, ZohoSyncHarness


class TestZohoContract(AdapterContract):
    """Zoho CRM passes the adapter contract."""

    @pytest.fixture
    def harness(self, monkeypatch: pytest.MonkeyPatch) -> Iterator[ZohoAdapterHarness]:
        with ZohoSandbox(port=0, leads=0, contacts=0, activities=False) as sandbox:
            yield ZohoAdapterHarness(sandbox, monkeypatch)

    def test_create_tasks_many_a_call_each_once(self, harness: ZohoAdapterHarness) -> None:
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


class TestZohoSync(SyncContract):
    """Zoho CRM passes the sync contract, on SQLite and PostgreSQL."""

    @pytest.fixture(scope="class")
    @classmethod
    def sync_harness(cls) -> ZohoSyncHarness:
        return ZohoSyncHarness()
