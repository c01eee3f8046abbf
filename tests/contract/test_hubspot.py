"""HubSpot passes leadsync.testing's two suites, on the local HubSpot portal (127.0.0.1 only)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from leadsync.sandboxes.hubspot.sandbox import HubSpotSandbox
from leadsync.testing import AdapterContract, SyncContract
from tests.harnesses.hubspot import FAST, TOKEN, HubSpotAdapterHarness, HubSpotSyncHarness


class TestHubSpotContract(AdapterContract):
    """HubSpot passes the adapter contract."""

    @pytest.fixture
    def harness(self) -> Iterator[HubSpotAdapterHarness]:
        with HubSpotSandbox(port=0, token=TOKEN, contacts=0, engagements=False, limits=FAST) as sandbox:
            yield HubSpotAdapterHarness(sandbox)


class TestHubSpotSync(SyncContract):
    """HubSpot passes the sync contract, on SQLite and PostgreSQL."""

    @pytest.fixture(scope="class")
    @classmethod
    def sync_harness(cls) -> HubSpotSyncHarness:
        return HubSpotSyncHarness()
