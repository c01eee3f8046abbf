"""Fixtures for the HubSpot and Salesforce sandbox tests (the Zoho sandbox's tests keep their own)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from leadsync.sandboxes.hubspot.sandbox import HubSpotSandbox
from leadsync.sandboxes.salesforce.sandbox import SalesforceSandbox
from tests.sandbox.hubspot_support import NOW as HS_NOW
from tests.sandbox.hubspot_support import RELAXED
from tests.sandbox.sf_support import NOW, Api, token


@pytest.fixture
def sf_sb() -> Iterator[SalesforceSandbox]:
    """A fresh org for a test that changes it (120 leads; Bulk jobs run 50 ms after closing)."""
    with SalesforceSandbox(seed=7, leads=120, now=NOW, bulk_delay=0.05) as sb:
        yield sb


@pytest.fixture
def sf_api(sf_sb: SalesforceSandbox) -> Api:
    return Api(sf_sb, token(sf_sb))


@pytest.fixture(scope="module")
def sf_ro() -> Iterator[SalesforceSandbox]:
    """One org per module for tests that only read (300 leads)."""
    with SalesforceSandbox(seed=11, leads=300, now=NOW) as sb:
        yield sb


@pytest.fixture(scope="module")
def ro_api(sf_ro: SalesforceSandbox) -> Api:
    return Api(sf_ro, token(sf_ro))


@pytest.fixture
def sb() -> Iterator[HubSpotSandbox]:
    """A fresh HubSpot portal (120 contacts, limits relaxed)."""
    with HubSpotSandbox(seed=7, contacts=120, now=HS_NOW, limits=RELAXED) as sandbox:
        yield sandbox


@pytest.fixture
def hs(sb: HubSpotSandbox) -> Any:
    """hubspot-api-client 12 on that portal."""
    from hubspot import HubSpot

    return HubSpot(access_token=sb.token, host=sb.url)
