"""Cursors as leadsync stored them before the shared codec (``leadsync.api.CursorCodec``) still
resume, and a cursor of a newer version is refused with an error that says so.

The ``STORED`` strings were written by the adapters at 8b3b9be (before the codec), reading the
sandboxes below; Salesforce's and Zoho's layouts are version 1 still, HubSpot's ``hs1:<ms>:<id>``
is read as version 2 (JSON) now.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from leadsync.adapters.hubspot.adapter import from_options as hubspot_adapter
from leadsync.adapters.hubspot.paging import SearchCursor
from leadsync.adapters.salesforce.reads import SfCursor
from leadsync.adapters.zoho.adapter import from_options as zoho_adapter
from leadsync.adapters.zoho.reads import ZohoCursor
from leadsync.api import Contact, CrmError, Page
from leadsync.sandboxes.hubspot.sandbox import HubSpotSandbox, RateLimits
from leadsync.sandboxes.salesforce.sandbox import SalesforceSandbox
from leadsync.sandboxes.zoho.sandbox import SECRET_ENV, ZohoSandbox
from leadsync.testing import SleepRecorder
from tests.sandbox.sf_support import NOW, sandbox_adapter
from tests.sandbox.zoho_support import open_leads

STORED = {
    "salesforce": [
        'sf1:{"o":{"Lead":["2026-11-23T01:16:56Z","00Q5g00000jC0eTEAS"],"Contact":["2026-11-21T05:52:23Z",'
        '"0035g00000jC0e0AAC"]},"q":"2026-11-23T10:00:00Z","a":"2026-11-23T10:00:00Z","d":"2026-11-23T10:00:00Z"}',
    ],
    "zoho": [
        'zc1:{"a":"2026-11-23T10:00:00+00:00","d":{"Leads":"2026-11-23T10:00:00+00:00","Contacts":'
        '"2026-11-23T10:00:00+00:00"},"l":{"Leads":["","2026-11-23T09:55:00+00:00","5725767000000400164"]}}',
        'zc1:{"m":{"Leads":["2026-11-23T09:55:00+00:00"]},"a":"2026-11-23T10:00:00+00:00","d":{"Leads":'
        '"2026-11-23T10:00:00+00:00","Contacts":"2026-11-23T10:00:00+00:00"},"l":{"Contacts":["",'
        '"2026-11-23T09:55:00+00:00","5725767000000400189"]},"r":{"Leads":[]}}',
        'zc1:{"m":{"Leads":["2026-11-23T09:55:00+00:00"],"Contacts":["2026-11-23T09:55:00+00:00"]},"a":'
        '"2026-11-23T10:00:00+00:00","d":{"Leads":"2026-11-23T10:00:00+00:00","Contacts":'
        '"2026-11-23T10:00:00+00:00"},"r":{"Leads":[],"Contacts":[]}}',
    ],
    "hubspot": ["hs1:1796390755430:1024"],
}


def ids_of(pages: Iterable[Page[Contact]]) -> list[str]:
    return [c.id for p in pages for c in p.records]


def newer(text: str) -> str:
    """``text`` as a later leadsync might write it: the next version, the same body."""
    tag, _, body = text.partition(":")
    return f"{tag[:2]}{int(tag[2:]) + 1}:{body}"


class TestTheLayoutsAreKept:
    @pytest.mark.parametrize("text", STORED["salesforce"])
    def test_salesforce_encodes_as_it_did(self, text: str) -> None:
        assert SfCursor.decode(text).encode() == text

    @pytest.mark.parametrize("text", STORED["zoho"])
    def test_zoho_encodes_as_it_did(self, text: str) -> None:
        assert ZohoCursor.decode(text).encode() == text

    def test_hubspot_reads_its_first_layout(self) -> None:
        cursor = SearchCursor.decode(STORED["hubspot"][0])
        assert cursor == SearchCursor(1796390755430, 1024)
        assert cursor.encode() == 'hs2:{"t":1796390755430,"i":1024}'
        assert SearchCursor.decode(cursor.encode()) == cursor

    @pytest.mark.parametrize(
        ("decode", "text"),
        [
            (SfCursor.decode, newer(STORED["salesforce"][0])),
            (ZohoCursor.decode, newer(STORED["zoho"][0])),
            (SearchCursor.decode, 'hs3:{"t":1,"i":2}'),
        ],
    )
    def test_a_newer_version_is_refused(self, decode: Any, text: str) -> None:
        with pytest.raises(ValueError, match=r"newer than this leadsync reads .*upgrade leadsync"):
            decode(text)


class TestStoredCursorsResume:
    def test_salesforce(self) -> None:
        with SalesforceSandbox(port=0, seed=3, leads=30, now=NOW) as sb:
            stored = STORED["salesforce"][0]
            lead = json.loads(stored[4:])["o"]["Lead"][1]
            sb.advance(600)
            sb.set_field("Lead", lead, "Title", "Edited after the cursor was stored")
            assert lead in ids_of(sandbox_adapter(sb).read_contacts(stored))
            with pytest.raises(CrmError, match="newer"):
                list(sandbox_adapter(sb).read_contacts(newer(stored)))

    @pytest.fixture
    def zoho(self, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ZohoSandbox, dict[str, Any]]]:
        with ZohoSandbox(seed=3, leads=30, now=NOW) as sb:
            monkeypatch.setenv(SECRET_ENV, sb.credentials.client_secret)
            c = sb.credentials
            options = {
                "accounts_url": sb.accounts_url,
                "api_url": sb.url,
                "client_id": c.client_id,
                "client_secret_env": SECRET_ENV,
                "token": c.refresh_token,
                "retry": SleepRecorder().policy(),
                "clock": sb.clock,
            }
            yield sb, options

    def test_zoho_mid_listing_and_after(self, zoho: tuple[ZohoSandbox, dict[str, Any]]) -> None:
        sb, options = zoho
        leads = {str(r["id"]) for r in open_leads(sb)}
        contacts = set(ids_of(zoho_adapter(options).read_contacts(None))) - leads
        # Stored half-way through listing Leads: the leads after the last one read, then every contact.
        listed_to = int(json.loads(STORED["zoho"][0][4:])["l"]["Leads"][2])
        resumed = ids_of(zoho_adapter(options).read_contacts(STORED["zoho"][0]))
        assert set(resumed) == {i for i in leads if int(i) > listed_to} | contacts
        after = STORED["zoho"][2]  # both modules listed
        sb.advance(600)
        lead = min(leads)
        sb.touch("Leads", lead, {"Designation": "Edited after the cursor was stored"})
        assert lead in ids_of(zoho_adapter(options).read_contacts(after))
        with pytest.raises(CrmError, match="newer"):
            list(zoho_adapter(options).read_contacts(newer(after)))

    def test_hubspot(self) -> None:
        limits = RateLimits(ten_second_max=100_000, search_per_second=10_000)
        with HubSpotSandbox(port=0, token="pat-x", contacts=30, engagements=False, limits=limits) as sb:
            options = {
                "base_url": sb.url,
                "token": "pat-x",
                "retry": SleepRecorder().policy(),
                "rate_per_10s": 10_000,
                "search_per_s": 1_000,
            }
            pages = list(hubspot_adapter(options).read_contacts(None))
            last = SearchCursor.decode(str(pages[-1].cursor))
            stored = f"hs1:{last.ts_ms}:{last.last_id}"  # as 8b3b9be wrote this read's cursor
            contact = ids_of(pages)[0]
            sb.set_property(contact, "jobtitle", "Edited after the cursor was stored")
            from_stored = ids_of(hubspot_adapter(options).read_contacts(stored))
            assert contact in from_stored
            assert from_stored == ids_of(hubspot_adapter(options).read_contacts(last.encode()))
            with pytest.raises(CrmError, match="newer"):
                list(hubspot_adapter(options).read_contacts('hs3:{"t":1,"i":2}'))
