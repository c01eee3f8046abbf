"""Issue 13, defect 1, under the loop, on SQLite and PostgreSQL: a query_more batch the org served
whose answer was lost (a 502, a dropped connection) leaves the same state as a clean sync: the
same SLA, stage and reason written, stage history still on (127.0.0.1 only)."""

from __future__ import annotations

from typing import Any

import pytest

from leadsync.sandboxes.salesforce import subquery
from leadsync.sync.state import StateStore, open_store
from leadsync.testing.sync_suite import run
from tests.harnesses.salesforce import SalesforceSyncHarness, sandbox

HARNESS = SalesforceSyncHarness()


def _sync(store: StateStore, **faults: Any) -> tuple[object, dict[str, Any], set[str]]:
    box = sandbox(leads=30, visitors=2)
    try:
        adapter = HARNESS.adapter(box)
        box.set_faults(**faults)
        result = run(HARNESS, box, store, adapter)
        box.clear_faults()
        run(HARNESS, box, store, adapter)  # and the next run finds nothing left to fix
        return HARNESS.state(box), {**box.stats()["faults"], **result.counts}, adapter._history.unavailable
    finally:
        box.stop()


@pytest.mark.parametrize("lose_status", [502, 0])
def test_a_lost_query_more_answer_changes_nothing(
    store: StateStore, monkeypatch: pytest.MonkeyPatch, lose_status: int
) -> None:
    monkeypatch.setattr(subquery, "CHILD_BATCH", 2)  # child lists page through query_more
    expected, clean, _ = _sync(open_store("sqlite://"))
    state, counts, unavailable = _sync(
        store, lose_next=1, lose_status=lose_status, match=r"GET /services/data/vXX\.X/query/\{locator\}"
    )
    assert counts.get("lost") == 1
    assert not unavailable, "stage history was turned off"
    assert state == expected
    assert counts.get("contacts_written") == clean.get("contacts_written")
