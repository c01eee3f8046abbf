"""Salesforce passes leadsync.testing's two suites, on the local Salesforce org (127.0.0.1 only)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from leadsync.sandboxes.salesforce.sandbox import SalesforceSandbox
from leadsync.testing import AdapterContract, SyncContract
from tests.harnesses.salesforce import SalesforceAdapterHarness, SalesforceSyncHarness


class TestSalesforceContract(AdapterContract):
    """Salesforce passes the adapter contract."""

    @pytest.fixture
    def harness(self) -> Iterator[SalesforceAdapterHarness]:
        with SalesforceSandbox(port=0, leads=0, activities=False) as sandbox:
            yield SalesforceAdapterHarness(sandbox)


class TestSalesforceSync(SyncContract):
    """Salesforce passes the sync contract, on SQLite and PostgreSQL."""

    @pytest.fixture(scope="class")
    @classmethod
    def sync_harness(cls) -> SalesforceSyncHarness:
        return SalesforceSyncHarness()
