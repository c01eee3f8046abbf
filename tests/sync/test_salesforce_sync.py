"""The sync loop with the Salesforce adapter: what only Salesforce does, on SQLite and PostgreSQL.

What every CRM does under the loop (crash and resume, manual changes, the API budget, partial
failures, conversions and deletions) is leadsync.testing's sync contract, which Salesforce runs in
tests/contract/test_salesforce.py (127.0.0.1 only).
"""

from __future__ import annotations

from datetime import timedelta

from leadsync.sandboxes.salesforce.sandbox import SalesforceSandbox
from leadsync.sync.state import StateStore
from leadsync.testing.sync_suite import run
from tests.harnesses.salesforce import SalesforceSyncHarness, sandbox
from tests.sandbox.sf_support import sandbox_adapter

COLLECTION_CREATE = "POST /services/data/vXX.X/composite/sobjects"


def test_a_runs_tasks_go_in_one_collection_call(store: StateStore) -> None:
    harness = SalesforceSyncHarness()
    box = sandbox(visitors=3)
    try:
        box.reset_stats()
        result = run(harness, box, store)
        calls = box.stats()["by_endpoint"]
    finally:
        box.stop()
    assert result.counts.get("tasks_created") == 3
    assert calls[COLLECTION_CREATE] == 1  # one sObject Collections create for the three
    assert not [e for e in calls if e.endswith("/sobjects/Task")], "no task created alone"


def test_a_run_rereads_five_minutes_of_changes() -> None:
    """Each run reads the last minutes before its cursor again, for changes committed late: the
    overlap the sync contract's idle run shows to cost nothing."""
    with SalesforceSandbox(port=0, leads=0, activities=False) as sb:
        assert timedelta(minutes=5) == sandbox_adapter(sb).overlap
