"""What reading costs: contacts just read bring their page views and conversions along."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from leadsync.adapters.hubspot.adapter import HubSpotAdapter, from_options
from leadsync.api import Activity
from leadsync.sandboxes.hubspot.sandbox import HubSpotSandbox, RateLimits

TOKEN = "pat-reads"
BATCH_READ = "POST /crm/v3/objects/contacts/batch/read"


@pytest.fixture(scope="module")
def sb() -> Iterator[HubSpotSandbox]:
    limits = RateLimits(ten_second_max=100_000, search_per_second=10_000)
    with HubSpotSandbox(port=0, token=TOKEN, contacts=250, seed=11, limits=limits) as sandbox:
        yield sandbox


def _adapter(sb: HubSpotSandbox) -> HubSpotAdapter:
    return from_options({"base_url": sb.url, "token": TOKEN, "rate_per_10s": 10_000, "search_per_s": 1_000})


def _signals(activities: list[Activity]) -> list[str]:
    return sorted(a.id for a in activities if a.id.startswith(("view:", "conv:")))


def test_activities_of_contacts_just_read_cost_no_contact_batch_read(sb: HubSpotSandbox) -> None:
    adapter = _adapter(sb)
    ids = [c.id for page in adapter.read_contacts(None) for c in page.records]
    sb.reset_stats()
    activities = adapter.read_activities(ids)
    assert int(sb.stats()["by_endpoint"].get(BATCH_READ, 0)) == 0
    fresh = _adapter(sb).read_activities(ids)  # a new adapter has read nothing: it batch-reads
    assert _signals(activities) == _signals(fresh) and _signals(fresh)


def test_remembered_signals_are_used_once(sb: HubSpotSandbox) -> None:
    adapter = _adapter(sb)
    ids = [c.id for c in next(iter(adapter.read_contacts(None))).records][:10]
    adapter.read_activities(ids)
    sb.reset_stats()
    adapter.read_activities(ids)  # read again later: the properties may have moved, so ask HubSpot
    assert int(sb.stats()["by_endpoint"].get(BATCH_READ, 0)) == 1
