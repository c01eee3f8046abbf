"""Fault soak, one per CRM, on SQLite and PostgreSQL (see ``tests/soak/soak.py``).

A multi-batch backfill with about a third of all requests faulted (5xx, dropped connections,
answers lost after the CRM applied the request), its runs repeated until one is quiet, ends as
an undisturbed backfill: every field of every person the same, each task once, no dead letter the
undisturbed run did not have. Owners included: unlike a kill -9 in a backfill (README, Safety), no
run here handed a routed person to another owner, so the soak keeps no exception for round robin.
A run may fail only because a call ran out of retries, never on an error a retry or the next run
should have absorbed.
"""

from __future__ import annotations

import functools

import pytest

from leadsync.adapters.hubspot.errors import MaybeSent
from leadsync.errors import RetryableError
from tests.harnesses.hubspot import HubSpotSyncHarness
from tests.harnesses.salesforce import SalesforceSyncHarness
from tests.harnesses.zoho import ZohoSyncHarness
from tests.soak.soak import Outcome, SoakRun, backfill, soak

SOAKS = {
    # The CRMs read 100 (HubSpot) or 200 (Salesforce, Zoho) people a page and batches are whole
    # pages: 3 to 4 decision batches each. Small write batches make more calls to fault.
    "hubspot": SoakRun(
        HubSpotSyncHarness(),
        people=300,
        decide_batch=40,
        options={"batch_size": 25},
        # A task batch whose answer was lost is not sent again in that run: the next run looks
        # for the tasks first (adapters/hubspot/README.md).
        may_fail_with=(MaybeSent,),
    ),
    "salesforce": SoakRun(
        SalesforceSyncHarness(), people=500, decide_batch=150, options={"query_batch": 200, "batch_size": 25}
    ),
    "zoho": SoakRun(ZohoSyncHarness(), people=500, decide_batch=150),
}


@functools.cache
def undisturbed(crm: str) -> Outcome:
    return backfill(SOAKS[crm])


@pytest.mark.parametrize("crm", ["hubspot", "salesforce", "zoho"])
def test_a_backfill_with_a_third_of_requests_faulted_ends_as_an_undisturbed_one(
    crm: str, leadsync_store_url: str
) -> None:
    expected = undisturbed(crm)
    assert len(expected.task_keys) > 100
    got = soak(SOAKS[crm], leadsync_store_url)
    print(f"{crm}: {got.faulted}/{got.requests} requests faulted {got.faults}; runs {got.runs}")
    assert got.faulted >= 0.25 * got.requests, got.faults
    assert len(got.task_keys) == len(set(got.task_keys)), "a task was created twice"
    assert got.dead_letters <= expected.dead_letters, got.dead_letters - expected.dead_letters
    assert got.state == expected.state
    allowed: tuple[type[Exception], ...] = (RetryableError, *SOAKS[crm].may_fail_with)
    assert [str(e) for e in got.failures if not isinstance(e, allowed)] == []
