"""Activities: searched per 50 people, or each module listed whole once a run when that is cheaper.

Both ways must give the same canonical activities; the switch depends on the module's size
(``actions/count``), the batch, the searches already made this run, and whether the run reads
every person (a backfill).
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest

from leadsync.adapters.zoho.activity_listing import listing_pays
from tests.adapters.test_zoho_fake import BASE, FakeZoho, Sent, make_adapter, zoho_fixture  # noqa: F401

AT = BASE.isoformat()
BIG = {"Calls": 100_000, "Events": 100_000}  # what actions/count says of a large org


def org(zoho: FakeZoho, leads: int = 120, contacts: int = 30, seed: int = 4) -> tuple[list[str], list[str]]:
    """Leads and contacts with calls (done, scheduled, missed), events and tasks linked to them."""
    rng = random.Random(seed)
    lead_ids, contact_ids = zoho.add("Leads", leads), zoho.add("Contacts", contacts)
    n = 0
    for module in ("Calls", "Events", "Tasks"):
        rows = zoho.records.setdefault(module, [])
        for _ in range(leads + contacts):
            n += 1
            who = rng.choice(lead_ids + contact_ids)
            link = (
                {"What_Id": {"id": who}, "$se_module": "Leads"}
                if who in lead_ids
                else {"Who_Id": {"id": who}}
            )
            row: dict[str, Any] = {"id": str(9000 + n), "Modified_Time": AT, "Created_Time": AT,
                                   "Owner": {"id": rng.choice(["u1", "u2"])}, **link}  # fmt: skip
            if module == "Calls":
                row |= {"Call_Type": rng.choice(["Outbound", "Inbound", "Missed"]), "Call_Start_Time": AT,
                        "Call_Result": "Interested", "Call_Duration": "01:10",
                        "Outgoing_Call_Status": rng.choice(["Completed", "Scheduled"])}  # fmt: skip
            elif module == "Events":
                row["Start_DateTime"] = AT
            else:
                row |= {"Status": "Completed", "Closed_Time": AT}
            rows.append(row)
    return lead_ids, contact_ids


def canonical(acts: list[Any]) -> list[tuple[Any, ...]]:
    return sorted(
        (a.id, a.contact_id, a.type, a.at, a.owner_id, tuple(sorted(a.properties.items()))) for a in acts
    )


def searches(zoho: FakeZoho, module: str | None = None) -> list[Sent]:
    return [
        s for s in zoho.sent if s.path.endswith("/search") and (module is None or f"/{module}/" in s.path)
    ]


def listings(zoho: FakeZoho, module: str) -> list[Sent]:
    """Whole listings (their first pages) of an activity module: by id, no If-Modified-Since."""
    return [
        s
        for s in zoho.sent
        if s.path == f"/crm/v8/{module}" and s.method == "GET" and "If-Modified-Since" not in s.headers
        and "ids" not in s.query and s.query.get("page") == ["1"]
    ]  # fmt: skip


def backfill(zoho: FakeZoho, people: list[str], batch: int = 40) -> list[Any]:
    """A first read, then the activities of ``people`` in decision batches of ``batch``."""
    crm = make_adapter(clock=lambda: BASE)
    list(crm.read_contacts(None))
    out: list[Any] = []
    for start in range(0, len(people), batch):
        out += crm.read_activities(people[start : start + batch])
    return out


class TestTheChoice:
    @pytest.mark.parametrize(
        ("size", "done", "now", "expected", "lists"),
        [
            (20_000, 0, 20, 440, True),  # a backfill: 100 pages against 440 searches
            (200_000, 0, 20, 440, False),  # 1,000 pages: searching is cheaper
            (2_600, 0, 20, 0, True),  # one batch of 1,000 people, 13 pages
            (20_000, 0, 20, 0, False),  # 100 pages: not yet (the run may end here)
            (20_000, 90, 20, 0, True),  # 110 searches made this run: the listing pays from now on
            (200, 0, 1, 0, False),  # one search costs no more than one page: ties search
        ],
    )
    def test_listing_pays(self, size: int, done: int, now: int, expected: int, lists: bool) -> None:
        assert listing_pays(size, done, now, expected) is lists


class TestBothWays:
    def test_a_backfill_lists_each_module_once_and_sees_what_searches_see(self, zoho: FakeZoho) -> None:
        leads, contacts = org(zoho)
        people = leads + contacts
        listed = backfill(zoho, people)
        assert not searches(zoho)
        assert {m: len(listings(zoho, m)) for m in ("Calls", "Events")} == {"Calls": 1, "Events": 1}
        assert all(s.query["sort_by"] == ["id"] for m in ("Calls", "Events") for s in listings(zoho, m))
        counted = {s.path for s in zoho.sent if s.path.endswith("/actions/count")}
        assert counted == {f"/crm/v8/{m}/actions/count" for m in ("Leads", "Contacts", "Calls", "Events")}
        zoho.sent.clear()
        zoho.counts = BIG
        searched = backfill(zoho, people)
        assert searches(zoho) and not listings(zoho, "Calls")
        assert canonical(listed) == canonical(searched) and len(listed) > 100

    def test_a_small_run_searches_without_counting(self, zoho: FakeZoho) -> None:
        leads, _ = org(zoho)
        crm = make_adapter(clock=lambda: BASE)
        cursor = list(crm.read_contacts(None))[-1].cursor
        zoho.sent.clear()
        list(crm.read_contacts(cursor))
        crm.read_activities(leads[:3])
        assert len(searches(zoho)) == 2 and not [s for s in zoho.sent if "actions/count" in s.path]

    def test_a_run_after_many_changes_lists_once_its_searches_would_pay_for_it(self, zoho: FakeZoho) -> None:
        leads, _ = org(zoho, leads=400, contacts=0)
        zoho.counts = {"Calls": 1_000, "Events": 1_000}  # 5 pages each
        crm = make_adapter(clock=lambda: BASE)
        cursor = list(crm.read_contacts(None))[-1].cursor
        list(crm.read_contacts(cursor))  # not a full read: the people to come are unknown
        zoho.sent.clear()
        crm.read_activities(leads[:100])  # 2 searches a module: less than 5 pages
        assert len(searches(zoho)) == 4 and not listings(zoho, "Calls")
        crm.read_activities(leads[100:300])  # 2 + 4 searches would pass the 5 pages: list
        assert len(searches(zoho)) == 4 and len(listings(zoho, "Calls")) == 1
        crm.read_activities(leads[300:])  # the listing serves the rest of the run
        assert len(searches(zoho)) == 4 and len(listings(zoho, "Calls")) == 1

    def test_a_count_zoho_refuses_keeps_the_searches(self, zoho: FakeZoho) -> None:
        leads, _ = org(zoho, leads=120, contacts=0)
        crm = make_adapter(clock=lambda: BASE)
        list(crm.read_contacts(None))
        refusal = {"code": "INVALID_MODULE", "details": {}, "message": "x", "status": "error"}
        zoho.faults = [(400, refusal)] * 3  # Leads, Contacts (a full read's), then Calls
        crm.read_activities(leads)
        assert searches(zoho, "Calls") and not listings(zoho, "Calls")


class TestWhatTheListingSees:
    def test_a_person_asked_for_twice_in_a_run_is_searched_the_second_time(self, zoho: FakeZoho) -> None:
        leads, _ = org(zoho, leads=60, contacts=0)
        crm = make_adapter(clock=lambda: BASE)
        list(crm.read_contacts(None))
        first = crm.read_activities(leads)
        assert not searches(zoho)
        again = crm.read_activities(leads[:2])
        assert len(searches(zoho)) == 2  # Calls and Events, What_Id
        assert canonical(again) == canonical([a for a in first if a.contact_id in leads[:2]])

    def test_news_and_changes_during_the_run(self, zoho: FakeZoho) -> None:
        """A call changed after the news pass is read as the listing finds it; one deleted since is
        still seen (as search results are merged with news); the next run's news has the rest."""
        leads = zoho.add("Leads", 60)
        crm = make_adapter(clock=lambda: BASE)
        final = list(crm.read_contacts(None))[-1].cursor
        later = (BASE + timedelta(minutes=10)).isoformat()
        call = {"Modified_Time": later, "Created_Time": later, "$se_module": "Leads", "Call_Type": "Outbound",
                "Call_Start_Time": later, "Call_Result": "Interested"}  # fmt: skip
        zoho.records["Calls"] = [{**call, "id": "c1", "What_Id": {"id": leads[0]}},
                                 {**call, "id": "c2", "What_Id": {"id": leads[1]}}]  # fmt: skip
        zoho.counts = {"Leads": 60, "Calls": 1, "Events": 1}
        crm2 = make_adapter(clock=lambda: BASE + timedelta(minutes=15))
        crm2._activities.start(full=True)  # as a resumed backfill would
        list(crm.read_contacts(final))
        crm2._activities.listed = crm._activities.listed  # the news pass's records
        zoho.records["Calls"] = [
            {**call, "id": "c1", "What_Id": {"id": leads[0]}, "Call_Result": "No Answer"}
        ]
        acts = {a.id: a for a in crm2.read_activities(leads)}
        assert listings(zoho, "Calls") and not searches(zoho, "Calls")
        assert set(acts) == {"call:c1", "call:c2"}
        assert acts["call:c1"].properties["outcome"] == "no_answer"  # as listed, not as news had it
        assert acts["call:c2"].properties["outcome"] == "connected"  # deleted since: news has it

    def test_a_module_past_the_listing_cap_goes_on_through_coql(self, zoho: FakeZoho) -> None:
        leads, contacts = org(zoho, leads=60, contacts=10)
        expected = backfill(zoho, leads + contacts)
        zoho.sent.clear()
        zoho.cap = 30  # Zoho's 100,000
        capped = backfill(zoho, leads + contacts)
        coql = [s.body["select_query"] for s in zoho.sent if s.path == "/crm/v8/coql"]
        assert any(" from Calls " in q for q in coql) and any(" from Events " in q for q in coql)
        assert canonical(capped) == canonical(expected)

    def test_own_tasks_and_calls_not_done_are_not_kept(self, zoho: FakeZoho) -> None:
        lead = zoho.add("Leads", 60)[0]
        zoho.records["Calls"] = [{"id": "c1", "Modified_Time": AT, "What_Id": {"id": lead},
                                  "$se_module": "Leads", "Call_Type": "Outbound", "Call_Start_Time": AT,
                                  "Outgoing_Call_Status": "Scheduled"}]  # fmt: skip
        crm = make_adapter(clock=lambda: BASE)
        list(crm.read_contacts(None))
        crm._activities.plan.lists("Calls", 2)
        crm._activities._list("Calls")
        assert crm._activities.plan.indexes["Calls"].by_person == {}
