"""HubSpot's own reports can show SLA compliance: where the mapping names them, `leadsync setup`
creates `leadsync_first_touch_at` (datetime) and `leadsync_sla_met` (a single checkbox, bool), and a
sync writes each handed-off contact's first touch and whether it met the SLA, as `leadsync report`
counts them; the next sync writes nothing (against the local HubSpot portal)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from leadsync.sandboxes.hubspot.data import CALL_DISPOSITIONS
from leadsync.sandboxes.hubspot.sandbox import HubSpotSandbox
from leadsync.sync.state import StateStore
from leadsync.testing.sync_suite import run
from tests.harnesses import reason_labels
from tests.harnesses.hubspot import NOW, PLAYBOOK, HubSpotSyncHarness

HARNESS = HubSpotSyncHarness()
MS = 1000


def _iso(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%S.000Z")


@pytest.fixture
def portal() -> Iterator[HubSpotSandbox]:
    sb = HARNESS.start(people=0, hot=1)  # one visitor: an MQL now, not touched yet (open)
    try:
        yield sb
    finally:
        HARNESS.stop(sb)


def _mql(sb: HubSpotSandbox, name: str, mql_at: datetime, call_at: datetime | None) -> str:
    """An MQL handed to an owner at ``mql_at``, called by that owner at ``call_at``."""
    store = sb.store
    owner = str(next(o["id"] for o in sb.owners if not o["archived"]))
    values = {
        "email": f"{name}@example.com",
        "firstname": name,
        "lifecyclestage": "marketingqualifiedlead",
        "hubspot_owner_id": owner,
        "leadsync_mql_at": _iso(mql_at),
        "leadsync_assigned_at": _iso(mql_at),
    }
    rec = store.add("contacts", values, int((mql_at - timedelta(days=5)).timestamp() * MS), source="FORM")
    if call_at is not None:
        call: dict[str, Any] = {
            "hs_timestamp": _iso(call_at),
            "hubspot_owner_id": owner,
            "hs_call_disposition": CALL_DISPOSITIONS["connected"],
            "hs_call_status": "COMPLETED",
            "hs_call_direction": "OUTBOUND",
            "hs_call_duration": "300000",
            "hs_call_title": f"Call with {name}",
        }
        done = store.add("calls", call, int(call_at.timestamp() * MS))
        store.link(rec.id, "calls", done.id)
    return str(rec.id)


def test_setup_creates_the_fields_with_hubspot_types(portal: HubSpotSandbox) -> None:
    schema = portal.store.schema
    first, met = schema.get("contacts", "leadsync_first_touch_at"), schema.get("contacts", "leadsync_sla_met")
    assert (first.type, first.field_type) == ("datetime", "date")
    assert (met.type, met.field_type, met.option_values()) == ("bool", "booleancheckbox", ["true", "false"])
    again = HARNESS.adapter(portal).setup(reason_labels(PLAYBOOK))  # idempotent
    assert "contact property `leadsync_first_touch_at`: already there" in again
    assert "contact property `leadsync_sla_met`: already there, options up to date" in again


def test_first_touch_and_sla_met_written_once(portal: HubSpotSandbox, leadsync_store: StateStore) -> None:
    # NOW is Monday 11:00 in Madrid; the playbook gives 2 office hours (Mon-Fri 09:00-18:00).
    on_time = _mql(portal, "ontime", NOW - timedelta(hours=1), NOW - timedelta(minutes=30))
    late = _mql(portal, "late", NOW - timedelta(days=3), NOW - timedelta(hours=1))  # from Friday 11:00
    visitor = next(p for p in HARNESS.people(portal) if p not in (on_time, late))

    first = run(HARNESS, portal, leadsync_store)
    assert first.status == "ok"
    props = {cid: portal.contacts[cid].properties for cid in (on_time, late, visitor)}
    assert props[on_time]["leadsync_sla_met"] == "true"
    assert HARNESS.value(portal, on_time, "stage") == "mql"
    assert props[late]["leadsync_sla_met"] == "false"
    first_touch = {cid: props[cid].get("leadsync_first_touch_at") for cid in (on_time, late)}
    assert first_touch == {
        on_time: _iso(NOW - timedelta(minutes=30)),
        late: _iso(NOW - timedelta(hours=1)),
    }
    # The visitor's SLA is open: nothing to write in either field.
    assert not props[visitor].get("leadsync_sla_met") and not props[visitor].get("leadsync_first_touch_at")

    second = run(HARNESS, portal, leadsync_store)
    assert second.counts.get("contacts_written", 0) == 0
