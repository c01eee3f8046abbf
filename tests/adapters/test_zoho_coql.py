"""Reading Zoho past Get Records' 100,000-record cap (lowered here): COQL from the last id read."""

from __future__ import annotations

from datetime import timedelta

import pytest

from leadsync.adapters.zoho.auth import ZohoSetupError
from leadsync.adapters.zoho.coql import coql_query
from leadsync.adapters.zoho.reads import ZohoCursor
from leadsync.api import CrmError
from tests.adapters.test_zoho_fake import BASE, FakeZoho, make_adapter, zoho_fixture  # noqa: F401


def ids(pages: list) -> list[str]:  # type: ignore[type-arg]
    return [c.id for p in pages for c in p.records]


def coql_sent(zoho: FakeZoho) -> list[str]:
    return [s.body["select_query"] for s in zoho.sent if s.path == "/crm/v8/coql"]


def test_the_query_is_a_keyset_by_id_with_the_watermark() -> None:
    assert coql_query("Leads", "57001", "2026-11-20T09:59:59+05:30") == (
        "select id, Modified_Time from Leads where (id > 57001 and Modified_Time >= "
        "'2026-11-20T09:59:59+05:30') order by id asc limit 2000"
    )
    assert coql_query("Contacts", "9", None).endswith("where id > 9 order by id asc limit 2000")
    with pytest.raises(CrmError):
        coql_query("Leads", "9 or 1=1", None)


class TestPastTheCap:
    def test_a_first_read_continues_by_coql_from_the_last_id(self, zoho: FakeZoho) -> None:
        seeded = zoho.add("Leads", 2600)
        zoho.cap = 2200  # Zoho's 100,000
        pages = list(make_adapter().read_contacts(None))
        assert ids(pages) == seeded, "every lead once, in id order"
        queries = coql_sent(zoho)
        assert len(queries) == 1 and f"where id > {seeded[2199]} order by" in queries[0]
        by_id = [s for s in zoho.sent if s.path == "/crm/v8/Leads" and "ids" in s.query]
        assert len(by_id) == 4 and all(s.query["converted"] == ["false"] for s in by_id)
        assert all(len(s.query["ids"][0].split(",")) <= 100 for s in by_id)
        assert all(len(s.query["fields"][0].split(",")) <= 50 for s in by_id)

    def test_a_resumed_listing_starts_in_coql(self, zoho: FakeZoho) -> None:
        seeded = zoho.add("Leads", 2600)
        zoho.cap = 2200
        crm = make_adapter()
        pages = crm.read_contacts(None)
        read: list[str] = []
        for page in pages:
            read += [c.id for c in page.records]
            if len(read) > 2300:
                cursor = page.cursor
                break
        assert cursor is not None
        listing = ZohoCursor.decode(cursor).listing["Leads"]
        assert listing[2:] == [read[-1], "coql"]
        zoho.sent.clear()
        rest = list(make_adapter().read_contacts(cursor))
        assert read + ids(rest) == seeded
        lists = [s for s in zoho.sent if s.path == "/crm/v8/Leads" and "ids" not in s.query]
        assert lists == [], "no Get Records listing from the start again"
        assert f"where id > {read[-1]} order by" in coql_sent(zoho)[0]

    def test_an_incremental_run_past_the_cap_keeps_the_watermark_and_converted_leads(
        self, zoho: FakeZoho
    ) -> None:
        seeded = zoho.add("Leads", 30)
        started = BASE + timedelta(hours=1)
        final = list(make_adapter(clock=lambda: started).read_contacts(None))[-1].cursor
        later = started + timedelta(minutes=10)
        for rid in seeded[5:]:
            zoho.touch("Leads", rid, later)
        contact = zoho.add("Contacts", 1)[0]
        zoho.touch("Contacts", contact, later)  # made by the conversion
        lead = next(r for r in zoho.records["Leads"] if r["id"] == seeded[20])
        lead.update({"Converted__s": True, "$converted_detail": {"contact": {"id": contact}}})
        zoho.cap = 10
        zoho.sent.clear()
        pages = list(make_adapter(clock=lambda: later).read_contacts(final))
        assert sorted(ids(pages)) == sorted({*seeded[5:], contact} - {seeded[20]})
        assert any(p.moved == {seeded[20]: contact} for p in pages), "converted lead moves to its contact"
        (query,) = [q for q in coql_sent(zoho) if "from Leads" in q]
        assert "Modified_Time >= '" in query
        by_id = [s for s in zoho.sent if s.path == "/crm/v8/Leads" and "ids" in s.query]
        assert by_id and all(s.query["converted"] == ["both"] for s in by_id)

    def test_without_the_coql_scope_the_error_names_it(self, zoho: FakeZoho) -> None:
        zoho.add("Leads", 12)
        zoho.cap = 5
        crm = make_adapter()
        pages = crm.read_contacts(None)
        next(pages)
        mismatch = {
            "code": "OAUTH_SCOPE_MISMATCH",
            "details": {},
            "message": "invalid oauth scope",
            "status": "error",
        }
        zoho.faults.append((401, mismatch))  # the GET refused past the cap comes first
        zoho.faults.insert(
            0, (400, {"code": "PAGINATION_LIMIT_EXCEEDED", "details": {}, "message": "x", "status": "error"})
        )
        with pytest.raises(ZohoSetupError, match=r"ZohoCRM\.coql\.READ"):
            list(pages)
