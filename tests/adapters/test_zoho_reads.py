"""Reading Zoho: paging past 2,000, resuming, ties, 304, converted leads, deletions, activities."""

from __future__ import annotations

from datetime import timedelta

from leadsync.adapters.zoho.reads import OVERLAP
from tests.adapters.test_zoho_fake import BASE, FakeZoho, _ts, make_adapter, zoho_fixture  # noqa: F401


def ids(pages: list) -> list[str]:  # type: ignore[type-arg]
    return [c.id for p in pages for c in p.records]


class TestRecords:
    def test_reads_past_2000_with_page_token_and_never_both(self, zoho: FakeZoho) -> None:
        seeded = zoho.add("Leads", 2300)
        pages = list(make_adapter().read_contacts(None))
        assert ids(pages) == seeded
        lists = [s for s in zoho.sent if s.path == "/crm/v8/Leads"]
        assert [s.query.get("page", [None])[0] for s in lists[:10]] == [str(n) for n in range(1, 11)]
        assert lists[10].query["page_token"] == ["tok2000"] and "page" not in lists[10].query
        first = lists[0].query
        assert first["sort_by"] == ["id"] and first["sort_order"] == ["asc"]
        assert first["per_page"] == ["200"] and first["converted"] == ["false"]
        assert len(first["fields"][0].split(",")) <= 50

    def test_records_written_between_pages_are_never_skipped(self, zoho: FakeZoho) -> None:
        """Each page's records are written before the next page is asked for, as the loop does."""
        seeded = zoho.add("Leads", 2500)
        crm = make_adapter(clock=lambda: BASE + timedelta(hours=2))
        read: list[str] = []
        pages = []
        for page in crm.read_contacts(None):
            pages.append(page)
            read += [c.id for c in page.records]
            for c in page.records:
                zoho.touch("Leads", c.id, BASE + timedelta(hours=1))
        assert sorted(read) == sorted(seeded) and len(read) == len(set(read))
        # Every page has a cursor; the last, once the listing is done, resumes past them all.
        assert all(p.cursor for p in pages) and pages[-1].records == []

    def test_resume_lists_from_the_last_listings_start_less_the_overlap(self, zoho: FakeZoho) -> None:
        seeded = zoho.add("Leads", 30)
        started = BASE + timedelta(hours=1)
        crm = make_adapter(clock=lambda: started)
        final = list(crm.read_contacts(None))[-1].cursor
        assert final is not None
        zoho.touch("Leads", seeded[4], started + timedelta(minutes=1))
        zoho.sent.clear()
        again = list(crm.read_contacts(final))
        assert ids(again) == [seeded[4]]
        sent = next(s for s in zoho.sent if s.path == "/crm/v8/Leads")
        back = started - OVERLAP - timedelta(seconds=1)
        assert _ts(sent.headers["If-Modified-Since"]) == back
        assert sent.query["converted"] == ["both"]

    def test_the_second_the_header_reaches_back_is_not_read_again(self, zoho: FakeZoho) -> None:
        seeded = zoho.add("Leads", 30)
        started = BASE + timedelta(hours=1)
        zoho.touch("Leads", seeded[3], started - OVERLAP - timedelta(seconds=1))
        crm = make_adapter(clock=lambda: started)
        final = list(crm.read_contacts(None))[-1].cursor
        zoho.sent.clear()
        assert ids(list(crm.read_contacts(final))) == []
        assert any(s.path == "/crm/v8/Leads" for s in zoho.sent)  # Zoho listed it; it was skipped

    def test_304_means_nothing_changed(self, zoho: FakeZoho) -> None:
        zoho.add("Leads", 3)
        crm = make_adapter()
        final = list(crm.read_contacts(None))[-1].cursor
        assert ids(list(crm.read_contacts(final))) == []

    def test_a_converted_lead_moves_to_its_contact(self, zoho: FakeZoho) -> None:
        lead = zoho.add("Leads", 2)
        contact = zoho.add("Contacts", 1)[0]
        crm = make_adapter(clock=lambda: BASE)
        final = list(crm.read_contacts(None))[-1].cursor
        rec = zoho.records["Leads"][0]
        rec.update(Converted__s=True, Modified_Time=(BASE + timedelta(hours=1)).isoformat())
        rec["$converted_detail"] = {"contact": contact, "converted_date_time": rec["Modified_Time"]}
        pages = list(crm.read_contacts(final))
        assert {k: v for p in pages for k, v in p.moved.items()} == {lead[0]: contact}

    def test_deletions_are_reported(self, zoho: FakeZoho) -> None:
        zoho.add("Leads", 2)
        crm = make_adapter(clock=lambda: BASE)
        final = list(crm.read_contacts(None))[-1].cursor
        zoho.deleted["Leads"] = [
            {"id": "5725767000000999", "deleted_time": (BASE + timedelta(minutes=5)).isoformat()}
        ]
        pages = list(crm.read_contacts(final))
        assert [d for p in pages for d in p.deleted] == ["5725767000000999"]
        assert any(s.path == "/crm/v8/Leads/deleted" and s.query["type"] == ["all"] for s in zoho.sent)


class TestActivities:
    def test_activity_news_makes_its_people_news(self, zoho: FakeZoho) -> None:
        lead = zoho.add("Leads", 3)
        crm = make_adapter(clock=lambda: BASE)
        final = list(crm.read_contacts(None))[-1].cursor
        later = (BASE + timedelta(minutes=10)).isoformat()
        zoho.records["Calls"] = [{"id": "c1", "Modified_Time": later, "Created_Time": later,
                                  "What_Id": {"id": lead[1]}, "$se_module": "Leads", "Call_Type": "Outbound",
                                  "Call_Start_Time": later, "Call_Result": "Interested"}]  # fmt: skip
        pages = list(crm.read_contacts(final))
        assert ids(pages) == [lead[1]] and pages[-1].news == frozenset({lead[1]})
        acts = crm.read_activities([lead[1]])
        assert [(a.id, a.type, a.properties.get("outcome")) for a in acts] == [
            ("call:c1", "call", "connected")
        ]

    def test_activities_are_searched_by_what_and_who_in_batches(self, zoho: FakeZoho) -> None:
        leads = zoho.add("Leads", 60)
        contact = zoho.add("Contacts", 1)[0]
        at = BASE.isoformat()
        zoho.records["Calls"] = [
            {"id": "c1", "Modified_Time": at, "What_Id": {"id": leads[59]}, "$se_module": "Leads",
             "Call_Type": "Outbound", "Call_Start_Time": at, "Call_Duration": "02:05", "Owner": {"id": "u1"}},
            {"id": "c2", "Modified_Time": at, "Who_Id": {"id": contact}, "Call_Type": "Missed",
             "Call_Start_Time": at},
        ]  # fmt: skip
        zoho.records["Events"] = [
            {"id": "e1", "Modified_Time": at, "Start_DateTime": at, "Who_Id": {"id": contact}}
        ]
        zoho.counts = {"Calls": 100_000, "Events": 100_000}  # a large org: searching is cheaper
        acts = make_adapter().read_activities([*leads, contact])
        assert sorted((a.id, a.contact_id) for a in acts) == [("call:c1", leads[59]), ("event:e1", contact)]
        call = next(a for a in acts if a.id == "call:c1")
        assert call.properties["duration_s"] == 125 and call.owner_id == "u1"
        searches = [s.query["criteria"][0] for s in zoho.sent if s.path.endswith("/search")]
        assert sum(c.startswith("(What_Id:in:") for c in searches) == 4  # Calls and Events × 2 batches
        assert sum(c.startswith("(Who_Id:in:") for c in searches) == 2

    def test_owners_include_deactivated_users(self, zoho: FakeZoho) -> None:
        zoho.users = [
            {"id": "u1", "full_name": "Ann", "email": "ann@x.io", "status": "active"},
            {"id": "u2", "full_name": "Bob", "email": "bob@x.io", "status": "disabled"},
        ]
        assert {o.id: o.active for o in make_adapter().read_owners()} == {"u1": True, "u2": False}
