"""Issue 13, defect 5 (Zoho): the daemon's clock runs ahead of Zoho's. Watermarks follow Zoho's
clock (its ``Date`` header), so a person's edit made after the last run is read; the skew is
logged. Against the Zoho sandbox, whose clock (and Date header) is Zoho's (127.0.0.1 only)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from structlog.testing import capture_logs

from leadsync.adapters.zoho.adapter import ZohoAdapter
from leadsync.api import FakeClock
from leadsync.sandboxes.zoho.sandbox import ZohoSandbox
from tests.harnesses.zoho import NOW, adapter, sandbox


@pytest.fixture
def sb() -> Iterator[ZohoSandbox]:
    box = sandbox(leads=12)
    yield box
    box.stop()


def _read_all(crm: ZohoAdapter, cursor: str | None) -> tuple[set[str], str | None]:
    ids: set[str] = set()
    for page in crm.read_contacts(cursor):
        ids.update(c.id for c in page.records)
        cursor = page.cursor or cursor
    return ids, cursor


@pytest.mark.parametrize("ahead", [timedelta(minutes=10), timedelta(hours=3)])
def test_edits_are_read_when_this_clock_runs_ahead_of_zohos(sb: ZohoSandbox, ahead: timedelta) -> None:
    local = FakeClock(sb.clock() + ahead)
    crm = adapter(sb, clock=local)
    with capture_logs() as logs:
        first, cursor = _read_all(crm, None)
    assert len(first) >= 12
    sb.advance(120)  # two minutes later, on Zoho's clock, a rep edits a lead
    local.sleep(120)
    edited = sorted(first)[0]
    sb.touch("Leads", edited, {"Designation": "VP Operations"})
    again, _ = _read_all(adapter(sb, clock=local), cursor)
    assert edited in again
    skew = [e for e in logs if e["event"] == "zoho_clock_skew"]
    assert skew and abs(skew[0]["skew_seconds"] + ahead.total_seconds()) < 5


def test_no_skew_no_warning(sb: ZohoSandbox) -> None:
    crm = adapter(sb)
    with capture_logs() as logs:
        _read_all(crm, None)
    assert not [e for e in logs if e["event"] == "zoho_clock_skew"]
    assert crm.client.skew is not None and abs(crm.client.skew) < timedelta(seconds=2)
    assert sb.clock() - NOW < timedelta(minutes=5)
