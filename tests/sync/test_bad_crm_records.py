"""Issue 13, defect 2, under the loop, for the three CRMs and both state stores: a person whose
CRM record holds a timestamp leadsync cannot compute with (``9999-12-31T23:59:59.999Z``,
``0001-01-01T00:00:00+14:00``) is refused alone: a dead letter with the CRM's text, the run
decides and writes the others and ends, and the next runs do not crash either. Once the CRM's
value is fixed the person is decided again. (127.0.0.1 only.)"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from leadsync.sync.state import StateStore
from leadsync.testing.sync_suite import CONNECTION, run
from tests.harnesses.hubspot import HubSpotSyncHarness
from tests.harnesses.salesforce import SalesforceSyncHarness
from tests.harnesses.zoho import ZohoSyncHarness

GOOD = "2026-11-20T10:00:00Z"


def _hubspot(crm: Any, person: str, value: str) -> None:
    crm.set_property(person, "leadsync_mql_at", value)


def _salesforce(crm: Any, person: str, value: str) -> None:
    crm.set_field("Lead", person, "Leadsync_MQL_At__c", datetime.fromisoformat(value))


def _zoho(crm: Any, person: str, value: str) -> None:
    crm.advance(60)
    crm.touch("Leads", person, {"Leadsync_MQL_At": datetime.fromisoformat(value)})


CRMS: dict[str, tuple[Any, Callable[[Any, str, str], None], str]] = {
    "hubspot": (HubSpotSyncHarness(), _hubspot, "9999-12-31T23:59:59.999Z"),
    "salesforce": (SalesforceSyncHarness(), _salesforce, "9999-12-31T23:59:59.999+00:00"),
    "zoho": (ZohoSyncHarness(), _zoho, "0001-01-01T00:00:00+14:00"),
}


@pytest.mark.parametrize("crm_name", sorted(CRMS))
def test_a_date_leadsync_cannot_compute_with_is_a_dead_letter_not_a_crash(
    store: StateStore, crm_name: str
) -> None:
    harness, poison, bad = CRMS[crm_name]
    crm = harness.start(people=12, hot=1)
    try:
        run(harness, crm, store)
        person = harness.people(crm)[0]
        poison(crm, person, bad)
        other = harness.people(crm)[1]
        harness.rep_edit(crm, other)  # read in the same run, and decided
        result = run(harness, crm, store)
        assert result.counts.get("records_refused") == 1, result.counts
        assert result.counts.get("contacts_decided", 0) >= 1
        letters = [d for d in store.recent_dead_letters(CONNECTION) if d.kind == "read"]
        assert [d.contact_id for d in letters] == [person]
        shown = bad.replace("+00:00", "")  # as the CRM wrote it (Salesforce: +0000)
        assert shown[:19] in letters[0].error and "outside what leadsync can compute with" in letters[0].error
        assert letters[0].payload["record"]  # the CRM's record, for a person to look at
        run(harness, crm, store)  # the next run does not crash (it may read the record again)
        before = [d.id for d in store.recent_dead_letters(CONNECTION, 100) if d.kind == "read"]
        assert {d.contact_id for d in store.recent_dead_letters(CONNECTION, 100) if d.kind == "read"} == {
            person
        }
        poison(crm, person, GOOD)
        again = run(harness, crm, store)
        assert again.counts.get("records_refused") is None and again.counts.get("contacts_decided", 0) >= 1
        assert [d.id for d in store.recent_dead_letters(CONNECTION, 100) if d.kind == "read"] == before
    finally:
        harness.stop(crm)
