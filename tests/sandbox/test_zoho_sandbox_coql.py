"""The Zoho sandbox's listing cap and ``POST /crm/v8/coql``: what Zoho serves and refuses."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from leadsync.sandboxes.zoho.sandbox import ALL_SCOPES, ZohoSandbox
from tests.sandbox.zoho_support import NOW, Api, access_token, api_for

KEYSET = (
    "select id, Modified_Time from Leads where (id > {after} and Modified_Time >= '{since}') "
    "order by id asc limit {limit}"
)


@pytest.fixture
def zsb() -> Iterator[ZohoSandbox]:
    with ZohoSandbox(seed=7, leads=120, now=NOW, activities=False) as sb:
        sb.set_limits(listing_cap=50)
        yield sb


@pytest.fixture
def api(zsb: ZohoSandbox) -> Api:
    return Api(zsb, access_token(zsb))


def coql(api: Api, query: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    r = api.post("/coql", json={"select_query": query})
    return r.status_code, (r.json() if r.content else {})


def test_get_records_stops_at_the_cap(api: Api) -> None:
    first = api.leads(fields="Last_Name", per_page=40)
    assert first.status_code == 200 and first.json()["info"]["more_records"]
    second = api.leads(fields="Last_Name", per_page=40, page=2)
    assert len(second.json()["data"]) == 10, "the 50th record is the last one listed"
    refused = api.leads(fields="Last_Name", per_page=40, page=3)
    assert refused.status_code == 400 and refused.json()["code"] == "PAGINATION_LIMIT_EXCEEDED"


def test_a_keyset_walks_past_the_cap_by_id_with_credits_by_limit(zsb: ZohoSandbox, api: Api) -> None:
    ids = sorted((r["id"] for r in zsb.records_json("Leads")), key=int)
    zsb.reset_stats()
    used = zsb.set_limits()["usage"]["used"]
    seen: list[str] = []
    after = "0"
    while True:
        status, body = coql(api, KEYSET.format(after=after, since="2000-01-01T00:00:00+00:00", limit=2000))
        assert status == 200 and set(body["data"][0]) == {"id", "Modified_Time"}
        seen += [r["id"] for r in body["data"]]
        after = seen[-1]
        if not body["info"]["more_records"]:
            break
    assert seen == ids and len(seen) > 50
    calls = zsb.stats()["by_endpoint"]["POST /crm/v8/coql"]
    assert zsb.set_limits()["usage"]["used"] - used == 3 * calls, "limit 2000 costs 3 credits"
    status, _ = coql(api, KEYSET.format(after=ids[-1], since="2000-01-01T00:00:00+00:00", limit=200))
    assert status == 204


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("select id from Leads where id > 1 and id > 2 and id > 3", "SYNTAX_ERROR"),  # brackets
        ("select id from Leads where Last_Name like 'a%'", "SYNTAX_ERROR"),  # not served here
        ("select Nope from Leads where id > 1", "INVALID_QUERY"),
        ("select id from Nowhere where id > 1", "INVALID_QUERY"),
        ("select id from Leads where id > 'x'", "INVALID_QUERY"),
        ("select id from Leads where Modified_Time >= '2026-01-01T00:00:00'", "INVALID_QUERY"),  # no offset
        ("select id from Leads where id > 1 limit 2001", "LIMIT_EXCEEDED"),
        ("select id from Leads where id > 1 limit 200 offset 50", "LIMIT_EXCEEDED"),  # offset at the cap
        ("select " + ", ".join(["Last_Name"] * 51) + " from Leads where id > 1", "LIMIT_EXCEEDED"),
    ],
)
def test_refuses_what_zoho_refuses(api: Api, query: str, code: str) -> None:
    status, body = coql(api, query)
    assert (status, body.get("code")) == (400, code), body


def test_needs_the_coql_scope(zsb: ZohoSandbox) -> None:
    api = api_for(zsb, [s for s in ALL_SCOPES if s != "ZohoCRM.coql.READ"])
    status, body = coql(api, "select id from Leads where id > 1")
    assert (status, body["code"]) == (401, "OAUTH_SCOPE_MISMATCH")
