"""The Salesforce sandbox: seeding, logins and sessions, the API allowance, faults and controls;
driven by plain ``requests`` and by ``simple_salesforce`` (127.0.0.1 only)."""

from __future__ import annotations

import base64
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import jwt
import pytest
import requests
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceRefusedRequest,
)
from simple_salesforce.login import soap_login

from leadsync.sandboxes.salesforce.common import full_id, valid_id
from leadsync.sandboxes.salesforce.sandbox import CALL_DISPOSITIONS, SalesforceSandbox
from tests.sandbox.sf_support import NOW, Api, error_code, sf_client, token


class TestSeed:
    """Seeding is deterministic and looks like an org a sync daemon meets."""

    def test_same_seed_same_org_and_other_seed_differs(self) -> None:
        def dump(sb: SalesforceSandbox) -> list[Any]:
            return [sorted(r.items()) for r in sb.records("Lead").values()]

        a, b = SalesforceSandbox(seed=3, leads=40, now=NOW), SalesforceSandbox(seed=3, leads=40, now=NOW)
        c = SalesforceSandbox(seed=4, leads=40, now=NOW)
        assert dump(a) == dump(b) != dump(c)
        assert list(a.records("Task")) == list(b.records("Task"))

    def test_leads_users_queues_and_activities_look_real(self, sf_ro: SalesforceSandbox) -> None:
        sb = sf_ro
        leads = list(sb.records("Lead").values())
        statuses = Counter(lead["Status"] for lead in leads)
        assert set(statuses) == {
            "Open - Not Contacted",
            "Working - Contacted",
            "Marketing Qualified",
            "Sales Qualified",
            "Nurture",
            "Closed - Not Converted",
            "Closed - Converted",
        }
        users = {u["Id"]: u for u in sb.users()}
        assert sum(not u["IsActive"] for u in users.values()) == 2
        assert any(u["Name"] == "Leadsync Integration" for u in users.values())
        owners = Counter(lead["OwnerId"][:3] for lead in leads)
        assert owners["00G"] > 10 and owners["005"] > 100  # queues and reps
        assert any(not users[o]["IsActive"] for o in (lead["OwnerId"] for lead in leads) if o in users)
        assert sum(bool(lead["Budget_Status__c"]) for lead in leads) > 20
        assert max(Counter(lead["CreatedDate"] for lead in leads).values()) >= 3  # imports share a stamp
        tasks = list(sb.records("Task").values())
        calls = [t for t in tasks if t["TaskSubtype"] == "Call"]
        assert {t["CallDisposition"] for t in calls} == set(CALL_DISPOSITIONS)
        assert all(t["Subject"].startswith("Email: ") for t in tasks if t["TaskSubtype"] == "Email")
        assert sb.records("Event") and min(t["CreatedDate"] for t in tasks) >= NOW - timedelta(days=121)
        campaigns = sb.records("Campaign")
        responded = [m for m in sb.records("CampaignMember").values() if m["HasResponded"]]
        kinds = {campaigns[m["CampaignId"]]["Type"] for m in responded}
        assert {"Webinar", "Content Syndication"} <= kinds
        assert any(m["Status"] == "Attended" for m in responded)
        deleted = [lead for lead in leads if lead["IsDeleted"]]
        assert deleted

    def test_converted_leads_have_contacts_at_accounts(self, sf_ro: SalesforceSandbox) -> None:
        leads = [r for r in sf_ro.records("Lead").values() if r["IsConverted"]]
        contacts, accounts = sf_ro.records("Contact"), sf_ro.records("Account")
        assert leads and len(contacts) == len(leads)
        for lead in leads:
            contact = contacts[lead["ConvertedContactId"]]
            assert lead["Status"] == "Closed - Converted" and lead["ConvertedDate"]
            assert (contact["Email"], contact["LastName"], contact["Budget_Status__c"]) == (
                lead["Email"],
                lead["LastName"],
                lead["Budget_Status__c"],
            )
            assert contact["AccountId"] == lead["ConvertedAccountId"] in accounts

    def test_ids_are_18_characters_with_the_case_safe_suffix(self, sf_ro: SalesforceSandbox) -> None:
        assert full_id("001D000000IqhSL") == "001D000000IqhSLIAZ"  # Salesforce's documented example
        for otype, prefix in (("Lead", "00Q"), ("User", "005"), ("Group", "00G"), ("Task", "00T")):
            rid = next(iter(sf_ro.records(otype)))
            assert valid_id(rid) and rid.startswith(prefix) and full_id(rid[:15]) == rid
            assert full_id(rid.lower()) == rid  # an 18-character id is case-insensitive

    def test_stock_statuses_give_salesforces_four(self) -> None:
        sb = SalesforceSandbox(seed=2, leads=30, now=NOW, stock_statuses=True)
        rows = sorted(
            (s["SortOrder"], s["ApiName"], s["IsConverted"]) for s in sb.records("LeadStatus").values()
        )
        assert [r[1] for r in rows] == [
            "Open - Not Contacted",
            "Working - Contacted",
            "Closed - Converted",
            "Closed - Not Converted",
        ]
        assert {lead["Status"] for lead in sb.records("Lead").values()} <= {r[1] for r in rows}


class TestLogin:
    """OAuth 2.0 flows, the SOAP login, identity, sessions."""

    def _token(self, sb: SalesforceSandbox, **form: str) -> requests.Response:
        return requests.post(sb.url + "/services/oauth2/token", data=form, timeout=10)

    def test_client_credentials_in_the_form_or_basic(self, sf_sb: SalesforceSandbox) -> None:
        c = sf_sb.credentials
        basic = base64.b64encode(f"{c.client_id}:{c.client_secret}".encode()).decode()
        resp = requests.post(
            sf_sb.url + "/services/oauth2/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {basic}"},
            timeout=10,
        )
        body = resp.json()
        assert (
            resp.status_code == 200 and body["token_type"] == "Bearer" and body["instance_url"] == sf_sb.url
        )
        assert (
            body["id"].startswith(f"{sf_sb.url}/id/00D") and body["signature"] and body["issued_at"].isdigit()
        )
        ident = requests.get(
            body["id"], headers={"Authorization": f"Bearer {body['access_token']}"}, timeout=10
        )
        assert ident.json()["display_name"] == "Leadsync Integration"
        assert ident.json()["username"] == c.username
        info = Api(sf_sb, token(sf_sb)).get(sf_sb.url + "/services/oauth2/userinfo").json()
        assert info["user_id"] == ident.json()["user_id"] and info["organization_id"].startswith("00D")

    def test_oauth_failures_are_salesforces(self, sf_sb: SalesforceSandbox) -> None:
        c = sf_sb.credentials
        cases = [
            (
                {"grant_type": "client_credentials", "client_id": c.client_id, "client_secret": "x"},
                "invalid_client",
            ),
            (
                {"grant_type": "client_credentials", "client_id": "nope", "client_secret": "x"},
                "invalid_client_id",
            ),
            ({"grant_type": "authorization_code"}, "unsupported_grant_type"),
            (
                {"grant_type": "password", "client_id": c.client_id, "client_secret": c.client_secret}
                | {"username": c.username, "password": c.password},  # no security token
                "invalid_grant",
            ),
        ]
        for form, error in cases:
            resp = self._token(sf_sb, **form)
            assert (resp.status_code, resp.json()["error"]) == (400, error), form
        ok = self._token(
            sf_sb,
            grant_type="password",
            client_id=c.client_id,
            client_secret=c.client_secret,
            username=c.username,
            password=c.password + c.security_token,
        )
        assert ok.status_code == 200

    def test_jwt_bearer_checks_signature_issuer_audience_expiry(self, sf_sb: SalesforceSandbox) -> None:
        private, _ = sf_sb.jwt_keypair()
        c = sf_sb.credentials
        exp = int(time.time()) + 180

        def assertion(key: str = private, **claims: Any) -> str:
            base = {"iss": c.client_id, "sub": c.username, "aud": "https://login.salesforce.com", "exp": exp}
            return jwt.encode({**base, **claims}, key, algorithm="RS256")

        def grant(a: str) -> requests.Response:
            return self._token(sf_sb, grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer", assertion=a)

        assert grant(assertion()).status_code == 200
        assert grant(assertion(aud=sf_sb.url)).status_code == 200
        assert grant(assertion(exp=str(exp))).status_code == 200  # simple-salesforce sends a string
        other, _ = SalesforceSandbox(leads=1, activities=False).jwt_keypair()
        for a, error in (
            (assertion(aud="https://example.com"), "audience is invalid"),
            (assertion(exp=int(time.time()) - 5), "expired authorization code"),
            (assertion(key=other), "invalid assertion"),
            (assertion(sub="nobody@example.com"), "user hasn't approved this consumer"),
        ):
            assert grant(a).json()["error_description"] == error
        assert grant(assertion(iss="other-app")).json()["error"] == "invalid_client_id"

    def test_soap_login_as_simple_salesforce_does_it_retired_from_65(self, sf_sb: SalesforceSandbox) -> None:
        c = sf_sb.credentials
        body = (
            '<?xml version="1.0" encoding="utf-8" ?><env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/'
            'envelope/"><env:Body><n1:login xmlns:n1="urn:partner.soap.sforce.com">'
            f"<n1:username>{c.username}</n1:username><n1:password>{c.password}{c.security_token}</n1:password>"
            "</n1:login></env:Body></env:Envelope>"
        )
        headers = {"content-type": "text/xml", "charset": "UTF-8", "SOAPAction": "login"}
        session_id, instance = soap_login(f"{sf_sb.url}/services/Soap/u/59.0", body, headers, None)
        assert instance == f"127.0.0.1:{sf_sb.port}"
        assert Api(sf_sb, session_id).get("limits").status_code == 200
        with pytest.raises(SalesforceAuthenticationFailed) as retired:
            soap_login(f"{sf_sb.url}/services/Soap/u/65.0", body, headers, None)
        assert retired.value.code == "INVALID_OPERATION" and b"(65.0)" in retired.value.content
        with pytest.raises(SalesforceAuthenticationFailed) as wrong:
            soap_login(f"{sf_sb.url}/services/Soap/u/59.0", body.replace(c.password, "bad"), headers, None)
        assert wrong.value.code == "INVALID_LOGIN"

    def test_sessions_expire(self, sf_sb: SalesforceSandbox) -> None:
        bearer = token(sf_sb)
        api = Api(sf_sb, bearer)
        assert api.get("limits").status_code == 200
        for bad in (Api(sf_sb, "00Dxx!nope"), Api(sf_sb, "")):
            resp = bad.get("limits")
            assert (resp.status_code, resp.json()[0]["message"]) == (401, "Session expired or invalid")
            assert error_code(resp) == "INVALID_SESSION_ID"
        sf_sb.expire_sessions()
        with pytest.raises(SalesforceExpiredSession):
            sf_client(sf_sb, bearer).limits()
        idle = Api(sf_sb, token(sf_sb))
        sf_sb.advance(2 * 3600 + 1)  # Salesforce's default session timeout: 2 hours unused
        assert idle.get("limits").status_code == 401


class TestLimitsAndFaults:
    """The daily API allowance, Sforce-Limit-Info, injected faults, the HTTP controls."""

    def test_every_call_counts_and_the_limit_refuses(self, sf_sb: SalesforceSandbox, sf_api: Api) -> None:
        first = sf_api.get("limits")
        used = int(first.headers["Sforce-Limit-Info"].split("=")[1].split("/")[0])
        assert first.json()["DailyApiRequests"] == {"Max": 100_000, "Remaining": 100_000 - used}
        assert sf_api.get("limits").headers["Sforce-Limit-Info"] == f"api-usage={used + 1}/100000"
        sf_sb.set_api_usage(used=4_999, maximum=5_000)
        assert sf_api.get("limits").status_code == 200
        refused = sf_api.get("limits")
        assert (refused.status_code, error_code(refused)) == (403, "REQUEST_LIMIT_EXCEEDED")
        assert refused.json()[0]["message"] == "TotalRequests Limit exceeded."
        with pytest.raises(SalesforceRefusedRequest):
            sf_client(sf_sb, sf_api.bearer).query("SELECT Id FROM Lead LIMIT 1")
        assert sf_sb.stats()["rate_limited"] == {"DailyApiRequests": 2}
        sf_sb.advance(24 * 3600)  # a rolling 24 hours (the idle session has timed out meanwhile)
        assert Api(sf_sb, token(sf_sb)).get("limits").status_code == 200

    def test_faults_5xx_storms_drops_latency(self, sf_sb: SalesforceSandbox, sf_api: Api) -> None:
        sf_sb.set_faults(fail_next=2, error_statuses=[500, 503])
        got = [sf_api.get("limits") for _ in range(3)]
        assert [r.status_code for r in got] == [503, 500, 200]
        assert error_code(got[0]) == "SERVER_UNAVAILABLE" and error_code(got[1]) == "UNKNOWN_EXCEPTION"
        sf_sb.set_faults(storm=2)
        assert [sf_api.get("limits").status_code for _ in range(3)] == [503, 503, 200]
        sf_sb.set_faults(drop_next=1, match="query")
        with pytest.raises(requests.ConnectionError):
            sf_api.query("SELECT Id FROM Lead LIMIT 1")
        assert sf_api.get("limits").status_code == 200
        sf_sb.set_faults(reset=True, latency_ms=120)
        started = time.monotonic()
        sf_api.get("limits")
        assert time.monotonic() - started >= 0.12
        assert sf_sb.stats()["faults"] == {"5xx": 2, "storm": 2, "dropped": 1, "latency": 1}

    def test_an_optional_per_second_limit(self, sf_sb: SalesforceSandbox, sf_api: Api) -> None:
        sf_sb.set_limits(per_second=3)
        codes = [sf_api.get("limits").status_code for _ in range(5)]
        assert codes[:3] == [200, 200, 200] and codes[3:] == [403, 403]
        sf_sb.set_limits(per_second=0)
        assert sf_api.get("limits").status_code == 200

    def test_http_controls(self, sf_sb: SalesforceSandbox, sf_api: Api) -> None:
        ctl = sf_sb.url + "/__sandbox"
        lead = next(r for r in sf_sb.records("Lead").values() if not r["IsConverted"] and not r["IsDeleted"])
        resp = requests.post(
            f"{ctl}/set_field",
            json={"otype": "Lead", "rid": lead["Id"], "field": "Rating", "value": "Hot"},
            timeout=10,
        )
        assert resp.status_code == 200 and sf_sb.records("Lead")[lead["Id"]]["Rating"] == "Hot"
        assert requests.get(f"{ctl}/records/Lead", timeout=10).json()[lead["Id"]]["Rating"] == "Hot"
        creds = requests.get(f"{ctl}/credentials", timeout=10).json()
        assert creds["client_id"] == sf_sb.credentials.client_id
        requests.post(f"{ctl}/limits", json={"daily_api_requests": 10, "used": 10}, timeout=10)
        assert sf_api.get("limits").status_code == 403
        requests.post(f"{ctl}/reset", json={}, timeout=10)
        stats = requests.get(f"{ctl}/stats", timeout=10).json()
        assert stats["requests"] == 0 and stats["api_usage"] == {"used": 0, "max": 100_000}
        requests.post(f"{ctl}/expire_sessions", json={}, timeout=10)
        assert sf_api.get("limits").status_code == 401
        requests.post(f"{ctl}/reject_writes", json={"args": [lead["Id"]]}, timeout=10)
        assert lead["Id"] in sf_sb.org.rejected
        unknown = requests.post(f"{ctl}/nope", json={}, timeout=10)
        assert unknown.status_code == 404 and "set_field" in unknown.json()["methods"]
        moved = requests.post(f"{ctl}/advance", json={"seconds": 60}, timeout=10).json()["result"]
        assert moved > "2026-11-23T10:01:00.000+0000"
