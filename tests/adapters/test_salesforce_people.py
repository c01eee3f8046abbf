"""People's activities and stage history in one relationship query per object and ~530 people
(``people.PeopleReader``), on the sandbox: the same canonical activities and stage times as the
three-queries-and-a-history-query path it replaced (kept here, in ``sf_flat_reads``), whatever
the paging."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote_plus

import pytest

from leadsync.adapters.salesforce.adapter import SalesforceAdapter
from leadsync.adapters.salesforce.convert import object_of
from leadsync.adapters.salesforce.mapping import ActivityMap
from leadsync.adapters.salesforce.people import URI_BUDGET, PeopleReader
from leadsync.api import Activity, Contact, TaskRequest
from leadsync.model import BUILTIN_REASONS
from leadsync.sandboxes.salesforce import subquery
from leadsync.sandboxes.salesforce.sandbox import SalesforceSandbox
from tests.adapters.sf_flat_reads import flat_activities, history_stage_dates
from tests.sandbox.sf_support import NOW
from tests.sandbox.sf_support import sandbox_adapter as _adapter

QUERY = "GET /services/data/vXX.X/query"
MORE = "GET /services/data/vXX.X/query/{locator}"


@pytest.fixture(scope="module")
def sb() -> Iterator[SalesforceSandbox]:
    """An org of 700 leads (some converted to contacts), leadsync's fields, and tasks of its own."""
    with SalesforceSandbox(port=0, seed=9, leads=700, now=NOW) as box:
        adapter = _adapter(box)
        adapter.setup(BUILTIN_REASONS)
        rep = next(u["Id"] for u in box.users(active=True) if u["Id"] != box.org.api_user)
        leads = _people(box)[:40]
        tasks = [
            TaskRequest(f"t:{lead}", lead, rep, "Call back", NOW + timedelta(hours=4), "leadsync's own")
            for lead in leads
        ]
        made = adapter.create_tasks(tasks)
        assert all(r.crm_id and not r.error for r in made)
        for r in made:  # completed, as a rep would: leadsync's own still never count
            adapter.client.rest("PATCH", f"sobjects/Task/{r.crm_id}", {"Status": "Completed"})
        yield box


def _people(sb: SalesforceSandbox) -> list[str]:
    leads = [i for i, r in sb.records("Lead", deleted=False).items() if not r["IsConverted"]]
    return sorted(leads) + sorted(sb.records("Contact", deleted=False))


def _contacts(adapter: SalesforceAdapter, ids: list[str]) -> list[Contact]:
    return adapter.get_contacts(ids)


def _reference(sb: SalesforceSandbox, ids: list[str]) -> tuple[list[Activity], dict[str, datetime | None]]:
    """What the adapter read before: three queries per 300 people, and a history query."""
    old = _adapter(sb)
    contacts = _contacts(old, ids)
    history_stage_dates(old._history, contacts)
    activities = flat_activities(old.client, old._activities, ids, has_key=old._has_task_key())
    return activities, {c.id: c.stage_changed_at for c in contacts}


def _new(adapter: SalesforceAdapter, ids: list[str]) -> tuple[list[Activity], dict[str, datetime | None]]:
    """What the loop does now: ``complete``, then ``read_activities`` for the same people."""
    contacts = _contacts(adapter, ids)
    adapter.complete(contacts)
    return adapter.read_activities(ids), {c.id: c.stage_changed_at for c in contacts}


def test_the_same_activities_and_stage_times_as_the_flat_queries(sb: SalesforceSandbox) -> None:
    ids = _people(sb)
    assert len(ids) > 600 and any(object_of(i) == "Contact" for i in ids)
    adapter = _adapter(sb)
    contacts = _contacts(adapter, ids)  # the describes and record reads, before counting
    sb.reset_stats()
    adapter.complete(contacts)
    activities = adapter.read_activities(ids)
    calls = sb.stats()["by_endpoint"]
    expected_activities, expected_stages = _reference(sb, ids)
    assert activities == expected_activities
    assert {c.id: c.stage_changed_at for c in contacts} == expected_stages
    assert len(activities) > 500 and sum(v is not None for v in expected_stages.values()) > 100
    assert {a.type for a in activities} >= {"call", "email_sent", "meeting"}
    own = {f"task:{i}" for i, t in sb.records("Task").items() if t.get("Leadsync_Key__c")}
    assert len(own) == 40 and not own & {a.id for a in activities}
    # one query per object and chunk (the leads need two), and read_activities asked nothing more
    assert calls[QUERY] == 3 and calls.get(MORE, 0) <= 2


def test_chunks_fill_the_uri_and_no_more(sb: SalesforceSandbox) -> None:
    adapter = _adapter(sb)
    adapter._has_task_key()
    sent: list[str] = []
    query_pages = adapter.client.query_pages

    def recorded(soql: str, **kw: Any) -> Any:
        sent.append(soql)
        return query_pages(soql, **kw)

    adapter.client.query_pages = recorded  # type: ignore[method-assign]
    leads = [i for i in _people(sb) if i.startswith("00Q")]
    adapter.read_activities(leads)
    sizes = [q.count("'") // 2 for q in sent]
    assert sum(sizes) == len(leads) and len(sizes) == 2 and sizes[0] > 500
    assert "FROM Histories" not in sent[0]  # only complete() asks for stage history
    assert "FROM Tasks WHERE Leadsync_Key__c = null" in sent[0]
    assert all(len(quote_plus(q)) + 40 <= URI_BUDGET for q in sent)


@pytest.mark.parametrize("child_batch", [1, 3])
def test_long_child_lists_and_parent_batches_page_to_the_same_result(
    sb: SalesforceSandbox, monkeypatch: pytest.MonkeyPatch, child_batch: int
) -> None:
    ids = _people(sb)
    expected = _reference(sb, ids)
    monkeypatch.setattr(subquery, "CHILD_BATCH", child_batch)
    adapter = _adapter(sb)
    contacts = _contacts(adapter, ids)
    sb.reset_stats()
    adapter.complete(contacts)
    assert (adapter.read_activities(ids), {c.id: c.stage_changed_at for c in contacts}) == expected
    assert sb.stats()["by_endpoint"][MORE] > 10  # child lists and parent batches were both paged


def test_read_activities_alone_or_for_other_people_reads_them(sb: SalesforceSandbox) -> None:
    ids = _people(sb)[:50]
    adapter = _adapter(sb)
    expected = _reference(sb, ids)[0]
    assert adapter.read_activities(ids) == expected
    adapter.complete(_contacts(adapter, ids[:10]))
    sb.reset_stats()
    assert adapter.read_activities(ids) == expected  # not what complete() read: a read of its own
    assert sb.stats()["by_endpoint"][QUERY] == 1
    assert adapter.read_activities(ids) == expected


def test_no_activities_mapped_and_no_history_asks_nothing(sb: SalesforceSandbox) -> None:
    adapter = _adapter(sb)
    mapping = adapter.mapping
    quiet = ActivityMap(call=None, email=None, meeting=None)
    reader = PeopleReader(
        adapter.client,
        replace(mapping, activities=quiet),
        adapter._activities,
        adapter._history,
        lambda: True,
    )
    sb.reset_stats()
    read = reader.read(_people(sb)[:20], stages=False)
    assert read.activities == [] and sb.stats()["by_endpoint"].get(QUERY, 0) == 0


@pytest.mark.parametrize("lose_status", [502, 0])
def test_a_lost_answer_on_a_query_more_page_keeps_stage_history(
    sb: SalesforceSandbox, monkeypatch: pytest.MonkeyPatch, lose_status: int
) -> None:
    """Issue 13, defect 1: the org serves a query_more batch, its answer is lost (a 502, or the
    connection drops), the retry meets INVALID_QUERY_LOCATOR. The query runs again; history stays
    on, and every stage time and activity is the one read without the fault."""
    ids = _people(sb)
    expected = _reference(sb, ids)
    monkeypatch.setattr(subquery, "CHILD_BATCH", 2)  # child lists page: query_more is used
    adapter = _adapter(sb)
    contacts = _contacts(adapter, ids)
    sb.reset_stats()
    sb.set_faults(reset=True, lose_next=1, lose_status=lose_status, match=r"query/\{locator\}")
    try:
        adapter.complete(contacts)
        activities = adapter.read_activities(ids)
    finally:
        sb.clear_faults()
    stats = sb.stats()
    assert stats["faults"] == {"lost": 1}
    assert stats["by_status"].get("400", 0) >= 1  # the retry met INVALID_QUERY_LOCATOR
    assert not adapter._history.unavailable
    assert (activities, {c.id: c.stage_changed_at for c in contacts}) == expected
