"""Reading from the Zoho sandbox as Zoho's Get Records does: required ``fields``, the 2,000-record
``page`` cliff and ``page_token`` past it, inclusive ``If-Modified-Since`` with 304, 204, converted
leads, ``ids``, one record, deleted records, search."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from leadsync.sandboxes.zoho.sandbox import ZohoSandbox
from tests.sandbox.zoho_support import LEAD_FIELDS, NOW, Api, access_token, api_for, open_leads, walk


@pytest.fixture(scope="module")
def big() -> Iterator[ZohoSandbox]:
    """2,150 leads and no activities: past the page cliff. Read-only."""
    with ZohoSandbox(seed=5, leads=2150, contacts=10, now=NOW, activities=False) as sb:
        yield sb


@pytest.fixture(scope="module")
def big_api(big: ZohoSandbox) -> Api:
    return Api(big, access_token(big))


@pytest.fixture
def zsb() -> Iterator[ZohoSandbox]:
    with ZohoSandbox(seed=7, leads=80, now=NOW) as sb:
        yield sb


@pytest.fixture
def api(zsb: ZohoSandbox) -> Api:
    return Api(zsb, access_token(zsb))


def code(resp: requests.Response) -> str:
    return str(resp.json()["code"])


class TestParameters:
    def test_fields_required_at_most_50_and_known(self, api: Api) -> None:
        missing = api.get("Leads")
        assert (missing.status_code, code(missing)) == (400, "REQUIRED_PARAM_MISSING")
        assert missing.json()["details"] == {"param_name": "fields"}
        many = api.get("Leads", params={"fields": ",".join(["Email"] * 51)})
        assert (many.status_code, code(many)) == (400, "LIMIT_EXCEEDED")
        unknown = api.get("Leads", params={"fields": "Email,Score__c"})
        assert (unknown.status_code, code(unknown)) == (400, "INVALID_DATA")

    def test_only_the_fields_asked_for_and_id(self, api: Api) -> None:
        rec = api.leads(per_page=1).json()["data"][0]
        assert set(rec) == {*LEAD_FIELDS.split(","), "id", "$converted"}
        assert rec["Owner"].keys() == {"name", "id", "email"}
        assert rec["Modified_Time"].endswith("+05:30") and len(rec["Modified_Time"]) == 25

    def test_per_page_sort_and_unknown_module(self, api: Api) -> None:
        assert code(api.leads(per_page=201)) == "INVALID_DATA"
        assert code(api.leads(sort_by="Email")) == "INVALID_DATA"
        body = api.leads(sort_by="Modified_Time", sort_order="asc", per_page=50).json()
        stamps = [r["Modified_Time"] for r in body["data"]]
        assert stamps == sorted(stamps) and body["info"]["sort_order"] == "asc"
        ids = [r["id"] for r in api.leads(per_page=50).json()["data"]]
        assert ids == sorted(ids, reverse=True)  # default: id, desc
        bad = api.get("Deals", params={"fields": "Deal_Name"})
        assert (bad.status_code, code(bad)) == (400, "INVALID_MODULE")

    def test_converted_leads_hidden_unless_asked(self, zsb: ZohoSandbox, api: Api) -> None:
        converted = {r["id"] for r in zsb.records("Leads").values() if r["Converted__s"]}
        assert converted
        shown = {r["id"] for r in walk(api, "Leads", "Email")}
        assert shown == {r["id"] for r in open_leads(zsb)}
        assert {r["id"] for r in walk(api, "Leads", "Email", converted="true")} == converted
        assert len(walk(api, "Leads", "Email", converted="both")) == len(zsb.records("Leads"))

    def test_ids_at_most_100(self, zsb: ZohoSandbox, api: Api) -> None:
        ids = [r["id"] for r in open_leads(zsb)][:3]
        got = api.leads(ids=",".join(ids)).json()["data"]
        assert sorted(r["id"] for r in got) == sorted(ids)
        too_many = api.leads(ids=",".join(str(10**18 + i) for i in range(101)))
        assert (too_many.status_code, code(too_many)) == (400, "LIMIT_EXCEEDED")


class TestPaging:
    """The 2,000-record cliff of ``page`` and ``page_token`` past it."""

    def test_page_stops_at_2000(self, big_api: Api) -> None:
        tenth = big_api.leads(page=10).json()["info"]
        assert tenth["more_records"] and tenth["next_page_token"]
        resp = big_api.leads(page=11)
        assert (resp.status_code, code(resp)) == (400, "DISCRETE_PAGINATION_LIMIT_EXCEEDED")
        assert code(big_api.leads(page=21, per_page=100)) == "DISCRETE_PAGINATION_LIMIT_EXCEEDED"

    def test_page_token_walks_every_record_once(self, big: ZohoSandbox, big_api: Api) -> None:
        seen = walk(big_api, "Leads", "Email", sort_by="Modified_Time", sort_order="asc")
        assert len(seen) == len({r["id"] for r in seen}) == len(open_leads(big))

    def test_token_after_page_ten_continues(self, big: ZohoSandbox, big_api: Api) -> None:
        tenth = big_api.leads(page=10).json()
        rest = big_api.leads(page_token=tenth["info"]["next_page_token"]).json()
        assert rest["info"]["page"] == 11 and not rest["info"]["more_records"]
        assert 2000 + rest["info"]["count"] == len(open_leads(big))
        assert rest["data"][0]["id"] < tenth["data"][-1]["id"]

    def test_token_is_bound_to_params_user_and_time(self, big: ZohoSandbox, big_api: Api) -> None:
        token = big_api.leads().json()["info"]["next_page_token"]
        both = big_api.leads(page=2, page_token=token)
        assert (both.status_code, code(both)) == (400, "AMBIGUITY_DURING_PROCESSING")
        altered = big_api.leads(page_token=token, sort_order="asc")
        assert (altered.status_code, code(altered)) == (400, "TOKEN_BOUND_DATA_MISMATCH")
        other_user = next(
            u["id"] for u in big.users() if big.org.active(u["id"]) and u["id"] != big.org.api_user
        )
        stranger = Api(big, access_token(big, big.issue_refresh_token(user=other_user)))
        assert code(stranger.leads(page_token=token)) == "INVALID_DATA"
        assert big_api.leads(page_token=token).status_code == 200


class TestChangedSince:
    def test_inclusive_304_and_204(self, zsb: ZohoSandbox, api: Api) -> None:
        lead = open_leads(zsb)[0]
        zsb.advance(120)
        zsb.touch("Leads", lead["id"], {"Rating": "Active"})
        since = zsb.org.time(lead["Modified_Time"])
        got = api.get("Leads", params={"fields": "Email"}, headers={"If-Modified-Since": since}).json()[
            "data"
        ]
        assert [r["id"] for r in got] == [lead["id"]]  # the same second counts
        zsb.advance(5)
        later = zsb.org.time(zsb.org.now())
        resp = api.get("Leads", params={"fields": "Email"}, headers={"If-Modified-Since": later})
        assert (resp.status_code, resp.content) == (304, b"")
        empty = ZohoSandbox(seed=1, leads=0, contacts=0, now=NOW, activities=False).start()
        try:
            resp = Api(empty, access_token(empty)).get("Tasks", params={"fields": "Subject"})
            assert (resp.status_code, resp.content) == (204, b"")
        finally:
            empty.stop()


class TestOneAndDeleted:
    def test_get_one_and_missing(self, zsb: ZohoSandbox, api: Api) -> None:
        lead = open_leads(zsb)[0]
        body = api.get(f"Leads/{lead['id']}").json()["data"][0]
        assert body["Email"] == lead["Email"] and "Lead_Status" in body and "Created_By" in body
        assert api.get("Leads/5725767999999999999").status_code == 204

    def test_deleted_by_type_and_since(self, zsb: ZohoSandbox, api: Api) -> None:
        a, b = (r["id"] for r in open_leads(zsb)[:2])
        zsb.advance(60)
        zsb.delete("Leads", a)
        zsb.delete("Leads", b, permanent=True)
        body = api.get("Leads/deleted", params={"type": "all"}).json()
        assert {d["id"]: d["type"] for d in body["data"]} == {a: "recycle", b: "permanent"}
        assert {d["id"] for d in api.get("Leads/deleted", params={"type": "recycle"}).json()["data"]} == {a}
        assert api.get(f"Leads/{a}").status_code == 204
        later = zsb.org.time(zsb.org.now().replace(year=2027))
        assert api.get("Leads/deleted", headers={"If-Modified-Since": later}).status_code == 304


class TestSearch:
    def test_in_on_a_lookup_and_equals(self, zsb: ZohoSandbox, api: Api) -> None:
        calls = [c for c in zsb.records("Calls").values() if c["$se_module"] == "Leads"]
        leads = sorted({c["What_Id"] for c in calls})[:5]
        got = api.get(
            "Calls/search",
            params={"criteria": f"(What_Id:in:{','.join(leads)})", "fields": "Subject,What_Id"},
        )
        assert got.status_code == 200
        assert {r["id"] for r in got.json()["data"]} == {c["id"] for c in calls if c["What_Id"] in leads}
        email = open_leads(zsb)[0]["Email"]
        found = api.get(
            "Leads/search", params={"criteria": f"((Email:equals:{email})and(Last_Name:starts_with:))"}
        )
        assert [r["Email"] for r in found.json()["data"]] == [email]
        assert code(api.get("Leads/search", params={"criteria": "(Email:like:x)"})) == "INVALID_QUERY"


class TestCount:
    def test_counts_what_a_listing_shows_for_a_credit(self, zsb: ZohoSandbox, api: Api) -> None:
        """``GET /{module}/actions/count``: converted leads uncounted; 1 credit; module READ scope."""
        used = zsb.stats()["credits"]["used"]
        resp = api.get("Leads/actions/count")
        assert resp.status_code == 200 and resp.json() == {"count": len(open_leads(zsb))}
        assert api.get("Calls/actions/count").json() == {"count": len(zsb.records("Calls"))}
        assert zsb.stats()["credits"]["used"] == used + 2
        assert code(api.get("Nope/actions/count")) == "INVALID_MODULE"
        assert code(api.get("Calls/actions/count", params={"cvid": "1"})) == "INVALID_DATA"
        leads_only = api_for(zsb, ["ZohoCRM.modules.leads.READ"])
        assert leads_only.get("Leads/actions/count").status_code == 200
        assert code(leads_only.get("Calls/actions/count")) == "OAUTH_SCOPE_MISMATCH"
