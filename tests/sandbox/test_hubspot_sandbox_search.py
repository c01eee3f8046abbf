"""The sandbox's search answers keyset queries from sorted indexes, exactly as its full scan would."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest

from leadsync.sandboxes.hubspot.common import ApiError, Record, ms_from_value
from leadsync.sandboxes.hubspot.sandbox import HubSpotSandbox
from leadsync.sandboxes.hubspot.search import SearchPage, _by_index, _parse_groups, _parse_sort, run_search
from leadsync.sandboxes.hubspot.store import Store

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
MODIFIED, ID = "lastmodifieddate", "hs_object_id"


def both(store: Store, otype: str, body: dict[str, Any]) -> tuple[Any, Any]:
    """(the indexed answer, the full scan's answer): pages as ids, or the error each raised."""

    def run(indexed: bool) -> Any:
        table = store.records[otype]
        index = (lambda name, key: store.indexes.get(otype, name, key, table)) if indexed else None
        try:
            page: SearchPage = run_search(
                table.values(), body, store.schema.props[otype], store.contacts_of, index
            )
        except ApiError as exc:
            return ("error", exc.status, exc.message)
        return [r.id for r in page.results], page.total, page.next_after

    return run(True), run(False)


def indexed(store: Store, otype: str, body: dict[str, Any]) -> bool:
    """Whether the query is answered from an index (not by a scan)."""
    table, props = store.records[otype], store.schema.props[otype]
    groups, sort = _parse_groups(body.get("filterGroups"), props), _parse_sort(body.get("sorts"), props)
    index = lambda name, key: store.indexes.get(otype, name, key, table)  # noqa: E731
    return _by_index(groups, sort, props, index, 0, 10) is not None


def f(name: str, op: str, value: Any = None, high: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {"propertyName": name, "operator": op}
    if value is not None:
        out["value"] = str(value)
    if high is not None:
        out["highValue"] = str(high)
    return out


def body(groups: list[list[dict[str, Any]]], sort: str | None = MODIFIED, **kw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"filterGroups": [{"filters": g} for g in groups], "limit": 200, **kw}
    if sort:
        out["sorts"] = [
            {"propertyName": sort.lstrip("-"), "direction": "DESCENDING" if sort[0] == "-" else "ASCENDING"}
        ]
    return out


def queries(store: Store, rng: random.Random, n: int) -> list[dict[str, Any]]:
    """The adapter's keyset shapes and their neighbours, at values the portal holds (ties included)."""
    contacts = list(store.records["contacts"].values())
    stamps = [ms_from_value(r.properties[MODIFIED]) for r in contacts]
    ids = [r.id for r in contacts]
    out = [body([]), body([], sort=ID), body([], sort=None), body([], sort="-" + MODIFIED)]
    for _ in range(n):
        t, t2, x = rng.choice(stamps), rng.choice(stamps), rng.choice(ids) + rng.choice((0, 0.5, -1))
        low, high = min(t, t2), max(t, t2)  # type: ignore[type-var]
        sort = rng.choice([MODIFIED, MODIFIED, ID, None, "-" + MODIFIED, "email"])
        op = rng.choice(["GT", "GTE", "EQ", "LT", "LTE"])
        shape = rng.choice(
            [
                [[f(MODIFIED, op, t)]],
                [[f(MODIFIED, "GT", t)], [f(MODIFIED, "EQ", t), f(ID, "GT", x)]],
                [[f(MODIFIED, "EQ", t), f(ID, rng.choice(["GT", "GTE", "LT", "LTE", "EQ"]), x)]],
                [[f(MODIFIED, "BETWEEN", low, high)], [f(MODIFIED, "LT", low)]],
                [[f(MODIFIED, "GTE", low), f(MODIFIED, "LTE", high), f(ID, "GT", x)]],
                [[f(MODIFIED, "GTE", t), f(ID, "BETWEEN", x, x + 40)]],
                [[f(ID, op, x)], [f(ID, "BETWEEN", x, x + 7)]],
                [[f(MODIFIED, "GT", t)], [f(ID, "LT", x)]],
                [[f(MODIFIED, "GT", t), f("lifecyclestage", "EQ", "lead")]],
                [[f(MODIFIED, "NEQ", t)]],
                [[f(MODIFIED, "GT", t)], []],
                [[f("email", "EQ", contacts[0].properties.get("email", "x"))]],
            ]
        )
        after = rng.choice([0, 0, 3, 150, 399])
        out.append(body(shape, sort=sort, limit=rng.choice([1, 7, 200]), after=after))
    return out


@pytest.fixture
def portal() -> HubSpotSandbox:
    return HubSpotSandbox(seed=5, contacts=400, now=NOW)


class TestSameAnswers:
    def test_queries_on_a_seeded_portal(self, portal: HubSpotSandbox) -> None:
        rng = random.Random(1)
        for q in queries(portal.store, rng, 400):
            fast, scan = both(portal.store, "contacts", q)
            assert fast == scan, q

    def test_after_writes_new_records_and_links(self, portal: HubSpotSandbox) -> None:
        store, rng = portal.store, random.Random(2)
        queries(store, rng, 5)  # build the indexes first, so the changes below must update them
        both(store, "contacts", body([[f(ID, "GT", 0)]], sort=ID))
        contacts = list(store.records["contacts"].values())
        now = store.now_ms()
        for rec in rng.sample(contacts, 60):  # a batch of writes: many ties at one stamp
            store.set_values(rec, {"jobtitle": f"CEO {rng.random()}"}, now, "INTEGRATION", "3100001")
        for rec in rng.sample(contacts, 5):
            portal.set_property(rec.id, "lifecyclestage", "")
        new = [store.add("contacts", {"email": f"new{i}@example.com"}, now - 5_000 * i) for i in range(20)]
        task = store.add("tasks", {"hs_timestamp": "2026-11-23T10:00:00.000Z"}, now + 7)
        store.link(new[3].id, "tasks", task.id)
        store.link(contacts[9].id, "tasks", task.id)
        for q in queries(store, rng, 300):
            fast, scan = both(store, "contacts", q)
            assert fast == scan, q

    def test_the_sync_reads_use_the_index(self, portal: HubSpotSandbox) -> None:
        store = portal.store
        rec = next(iter(store.records["contacts"].values()))
        t = ms_from_value(rec.properties[MODIFIED])
        for q in (
            body([]),
            body([[f(MODIFIED, "GTE", t)]]),
            body([[f(MODIFIED, "GT", t)]]),
            body([[f(MODIFIED, "GT", t)], [f(MODIFIED, "EQ", t), f(ID, "GT", rec.id)]]),
            body([[f(MODIFIED, "EQ", t), f(ID, "GT", rec.id)]], sort=ID),
        ):
            assert indexed(store, "contacts", q), q
        assert not indexed(store, "contacts", body([[f(MODIFIED, "GT", t)]], sort="-" + MODIFIED))
        assert not indexed(store, "contacts", body([[f(MODIFIED, "GT", t)], [f(ID, "LT", 1100)]]))

    def test_a_value_the_type_cannot_read_scans_and_fails_alike(self, portal: HubSpotSandbox) -> None:
        store = portal.store
        query = body([[f(MODIFIED, "GT", 0)]])
        assert both(store, "contacts", query)[0][1] == 400  # the total: every contact
        rec: Record = store.records["contacts"][1010]
        rec.properties[MODIFIED] = "not a date"
        store.touched(rec, MODIFIED)
        fast, scan = both(store, "contacts", query)
        assert fast == scan and fast[0] == "error" and fast[1] == 400
        assert not indexed(store, "contacts", query)
        rec.properties[MODIFIED] = "2026-11-01T00:00:00.000Z"
        store.touched(rec, MODIFIED)
        assert indexed(store, "contacts", query) and both(store, "contacts", query)[0][1] == 400

    def test_an_id_that_stops_being_the_record_id_turns_the_index_off(self, portal: HubSpotSandbox) -> None:
        store = portal.store
        rec = store.records["contacts"][1020]
        query = body([[f(ID, "GT", 1010)]], sort=ID)
        assert indexed(store, "contacts", query)
        portal.set_property(rec.id, ID, "5")
        assert not indexed(store, "contacts", query)
        fast, scan = both(store, "contacts", query)
        assert fast == scan
