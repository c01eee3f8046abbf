"""The Zoho sandbox: seeding, Zoho Accounts (minting, its limit, expiry, scopes), the credit budget
and concurrency cap, faults, stats and the back door; plain ``requests`` over 127.0.0.1."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from importlib.metadata import entry_points

import pytest
import requests

from leadsync.sandboxes.zoho.limits import Limits
from leadsync.sandboxes.zoho.sandbox import ZohoSandbox
from tests.sandbox.zoho_support import NOW, Api, access_token, api_for, mint, open_leads


@pytest.fixture
def zsb() -> Iterator[ZohoSandbox]:
    with ZohoSandbox(seed=7, leads=80, now=NOW) as sb:
        yield sb


@pytest.fixture
def api(zsb: ZohoSandbox) -> Api:
    return Api(zsb, access_token(zsb))


class TestSeed:
    """Seeding is deterministic and looks like an org a sync daemon meets."""

    def test_same_seed_same_org_and_other_seed_differs(self) -> None:
        def dump(sb: ZohoSandbox) -> list[object]:
            return [sorted(map(str, r.items())) for m in ("Leads", "Calls") for r in sb.records(m).values()]

        a, b = (ZohoSandbox(seed=3, leads=40, now=NOW), ZohoSandbox(seed=3, leads=40, now=NOW))
        assert dump(a) == dump(b) != dump(ZohoSandbox(seed=4, leads=40, now=NOW))

    def test_people_owners_and_activities_look_real(self) -> None:
        sb = ZohoSandbox(seed=11, leads=300, now=NOW)
        leads = list(sb.records("Leads").values())
        assert len(leads) == 300 and len(sb.records("Contacts")) == 150
        assert len({lead["Lead_Status"] for lead in leads}) >= 8
        assert 3 <= sum(lead["Converted__s"] for lead in leads) <= 30
        statuses = Counter(u["status"] for u in sb.users())
        assert statuses == {"active": 6, "disabled": 2}
        assert any(not sb.org.active(lead["Owner"]) for lead in leads)  # some owners left
        calls = list(sb.records("Calls").values())
        assert {c["Call_Result"] for c in calls} >= {"Interested", "No response/Busy"}
        on_leads = [c for c in calls if c["$se_module"] == "Leads"]
        assert on_leads and all(c["What_Id"] in sb.records("Leads") for c in on_leads)
        assert any(c["Who_Id"] in sb.records("Contacts") for c in calls)
        notes = list(sb.records("Notes").values())
        assert notes and all(n["Parent_Id"] in sb.records(n["$se_module"]) for n in notes)
        assert sb.records("Tasks") and sb.records("Events")
        # the BANT custom fields leadsync's Zoho mapping reads, answered on some records
        assert 20 < sum(bool(lead["Budget_Status"]) for lead in leads) < 200
        assert sb.org.modules["Contacts"].fields["Timeline"].custom


class TestAccounts:
    """``POST /oauth/v2/token`` as Zoho Accounts answers it."""

    def test_refresh_grant_in_query_or_form(self, zsb: ZohoSandbox) -> None:
        for form in (False, True):
            body = mint(zsb, form=form).json()
            assert body["api_domain"] == zsb.url and body["token_type"] == "Bearer"
            assert body["expires_in"] == 3600 and "ZohoCRM.modules.ALL" in body["scope"].split()

    def test_bad_refresh_token_is_http_200_invalid_code(self, zsb: ZohoSandbox) -> None:
        resp = mint(zsb, "1000.nope.nope")
        assert (resp.status_code, resp.json()) == (200, {"error": "invalid_code"})

    def test_ten_mints_per_ten_minutes_then_access_denied(self, zsb: ZohoSandbox) -> None:
        for _ in range(10):
            assert mint(zsb).status_code == 200
        resp = mint(zsb)
        assert resp.status_code == 400
        assert resp.json()["error"] == "Access Denied"
        assert resp.json()["error_description"].startswith("You have made too many requests continuously")
        other = zsb.issue_refresh_token()
        assert mint(zsb, other).status_code == 200  # the limit is per refresh token
        zsb.advance(minutes=10)
        assert mint(zsb).status_code == 200

    def test_tokens_expire_by_the_sandbox_clock(self, zsb: ZohoSandbox, api: Api) -> None:
        assert api.leads().status_code == 200
        zsb.advance(3600)
        resp = api.leads()
        assert resp.status_code == 401
        assert resp.json() == {
            "code": "INVALID_TOKEN",
            "details": {},
            "message": "invalid oauth token",
            "status": "error",
        }

    def test_header_scheme_and_missing_token(self, zsb: ZohoSandbox, api: Api) -> None:
        bearer = api.get(
            "Leads", params={"fields": "Email"}, headers={"Authorization": f"Bearer {api.token}"}
        )
        assert bearer.status_code == 401 and bearer.json()["code"] == "INVALID_TOKEN"
        bare = requests.get(zsb.url + "/crm/v8/Leads", params={"fields": "Email"}, timeout=10)
        assert bare.status_code == 401 and bare.json()["code"] == "AUTHENTICATION_FAILURE"

    def test_scope_mismatch(self, zsb: ZohoSandbox) -> None:
        api = api_for(zsb, ["ZohoCRM.modules.leads.READ", "ZohoCRM.settings.fields.READ"])
        assert api.leads().status_code == 200
        for resp in (
            api.put("Leads", json={"data": [{"id": "1"}]}),
            api.get("Contacts", params={"fields": "Email"}),
            api.get("users"),
            api.post("settings/fields", params={"module": "Leads"}, json={"fields": []}),
        ):
            assert resp.status_code == 401 and resp.json()["code"] == "OAUTH_SCOPE_MISMATCH", resp.text

    def test_expire_and_revoke_from_the_back_door(self, zsb: ZohoSandbox, api: Api) -> None:
        zsb.expire_tokens()
        assert api.leads().status_code == 401
        zsb.revoke_refresh_token(zsb.credentials.refresh_token)
        assert mint(zsb).json() == {"error": "invalid_code"}


class TestCredits:
    """The rolling 24 h credit budget: 1 per call, 1 per 10 records written, 429 past it."""

    def test_header_from_half_the_budget_then_429_without_retry_after(
        self, zsb: ZohoSandbox, api: Api
    ) -> None:
        zsb.set_limits(daily_credits=10)
        zsb.set_credits(3)
        assert "X-API-CREDITS-REMAINING" not in api.leads().headers  # 4 of 10 used
        resp = api.leads()
        assert resp.headers["X-API-CREDITS-REMAINING"] == "5"
        zsb.set_credits(10)
        refused = api.leads()
        assert refused.status_code == 429 and "Retry-After" not in refused.headers
        assert refused.json()["code"] == "TOO_MANY_REQUESTS" and refused.json()["status"] == "error"
        zsb.advance(hours=24)  # the window rolls (and the hour-long token is gone)
        assert Api(zsb, access_token(zsb)).leads().status_code == 200

    def test_writes_cost_one_credit_per_ten_records(self, zsb: ZohoSandbox, api: Api) -> None:
        ids = [r["id"] for r in open_leads(zsb)][:25]
        before = zsb.stats()["credits"]["used"]
        resp = api.put("Leads", json={"data": [{"id": i, "Rating": "Active"} for i in ids], "trigger": []})
        assert resp.status_code == 200
        assert zsb.stats()["credits"]["used"] - before == 3

    def test_legacy_body(self, zsb: ZohoSandbox, api: Api) -> None:
        zsb.set_limits(legacy_429=True, daily_credits=1)
        zsb.set_credits(1)
        body = api.leads().json()
        assert body["code"] == 429 and body["error"] == "TOO_MANY_REQUESTS" and body["details"] == []


class TestConcurrency:
    def test_calls_past_the_cap_get_429(self, zsb: ZohoSandbox, api: Api) -> None:
        zsb.set_limits(concurrency=2)
        zsb.set_faults(latency_ms=300)
        results: list[int] = []

        def one() -> None:
            results.append(api.leads(per_page=1).status_code)

        threads = [threading.Thread(target=one) for _ in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == [200, 200, 429, 429, 429]
        assert zsb.stats()["credits"]["peak_in_flight"] == 2
        assert "concurrency" in next(iter(zsb.stats()["rate_limited"]))


class TestFaults:
    def test_5xx_storm_and_drop(self, zsb: ZohoSandbox, api: Api) -> None:
        zsb.set_faults(fail_next=1, error_statuses=[500])
        resp = api.leads()
        assert resp.status_code == 500 and resp.json()["code"] == "INTERNAL_ERROR"
        zsb.set_faults(storm=2)
        assert [api.leads().status_code for _ in range(3)] == [429, 429, 200]
        zsb.set_faults(drop_next=1)
        with pytest.raises(requests.ConnectionError):
            api.leads()
        assert zsb.stats()["faults"] == {"5xx": 1, "storm": 2, "dropped": 1}

    def test_faults_limited_to_an_endpoint(self, zsb: ZohoSandbox, api: Api) -> None:
        zsb.set_faults(error_rate=1.0, error_statuses=[503], match="PUT ")
        assert api.leads().status_code == 200
        resp = api.put("Leads", json={"data": [{"id": next(iter(zsb.records("Leads")))}]})
        assert resp.status_code == 503 and "text/html" in resp.headers["Content-Type"]


class TestControls:
    """The back door over HTTP (``/__sandbox``) and stats per endpoint."""

    def test_stats_and_http_controls(self, zsb: ZohoSandbox, api: Api) -> None:
        api.leads()
        api.get("users")
        stats = requests.get(zsb.url + "/__sandbox/stats", timeout=10).json()
        assert stats["by_endpoint"] == {
            "POST /oauth/v2/token": 1,
            "GET /crm/v8/{module}": 1,
            "GET /crm/v8/users": 1,
        }
        lead = open_leads(zsb)[0]["id"]
        resp = requests.post(zsb.url + "/__sandbox/lock", json={"args": ["Leads", lead]}, timeout=10)
        assert resp.status_code == 200
        put = api.put("Leads", json={"data": [{"id": lead, "Rating": "Active"}]})
        assert put.json()["data"][0]["code"] == "RECORD_LOCKED"
        creds = requests.get(zsb.url + "/__sandbox/credentials", timeout=10).json()
        assert creds["refresh_token"] == zsb.credentials.refresh_token
        requests.post(zsb.url + "/__sandbox/reset", json={}, timeout=10)
        assert zsb.stats()["requests"] == 0 and lead not in zsb.org.locked

    def test_person_edit_moves_modified_time_and_by(self, zsb: ZohoSandbox) -> None:
        lead = next(r for r in zsb.records("Leads").values() if zsb.org.active(r["Owner"]))
        zsb.advance(60)
        out = zsb.touch("Leads", lead["id"], {"Lead_Status": "Contacted"})
        assert out["Modified_By"]["id"] == lead["Owner"] and lead["Modified_Time"] > NOW


def test_demo_entry_point_yields_adapter_options() -> None:
    found = [ep for ep in entry_points(group="leadsync.sandboxes") if ep.name == "zoho"]
    assert found, "pip install -e . registers the zoho sandbox"
    with found[0].load()(contacts=20) as demo:
        assert demo["adapter"] == "zoho" and len(demo["owners"]) == 4  # active, confirmed reps
        options = demo["options"]
        assert set(options) == {"accounts_url", "api_url", "client_id", "client_secret_env", "token"}
        sb = demo["sandbox"]
        assert mint(sb, options["token"]).status_code == 200
    assert Limits().concurrency == 10
