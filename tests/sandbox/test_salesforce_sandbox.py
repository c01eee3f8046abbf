"""The Salesforce sandbox, read side: seeding, logins and sessions, SOQL and paging, describe, the
API allowance and faults; driven by plain ``requests`` and by ``simple_salesforce`` (127.0.0.1)."""

from __future__ import annotations

import base64
import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import jwt
import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)
from simple_salesforce.login import soap_login

from adapters.salesforce.sandbox import CALL_DISPOSITIONS, SalesforceSandbox
from adapters.salesforce.sandbox_common import full_id, valid_id
from tests.sandbox.sf_support import NOW, Api, V, error_code, token


def sf_client(sb: SalesforceSandbox, bearer: str) -> Salesforce:
    return Salesforce(instance_url=sb.url, session_id=bearer, version=V, session=sb.session())


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


class TestQuery:
    """SOQL: fields, parents, filters by value, order, limits, errors; query vs queryAll."""

    def test_parent_fields_nest_and_empty_lookups_are_null(self, ro_api: Api) -> None:
        rows = ro_api.records(
            "SELECT Id, Name, Owner.Name, Owner.Type, ConvertedContact.Email, Status FROM Lead "
            "WHERE IsConverted = false ORDER BY Id LIMIT 5"
        )
        first = rows[0]
        assert list(first) == ["attributes", "Id", "Name", "Owner", "ConvertedContact", "Status"]
        assert first["attributes"] == {
            "type": "Lead",
            "url": f"/services/data/v{V}/sobjects/Lead/{first['Id']}",
        }
        assert first["Owner"]["attributes"]["type"] == "Name" and first["Owner"]["Type"] in ("User", "Queue")
        assert first["ConvertedContact"] is None
        members = ro_api.records(
            "SELECT Campaign.Name, Campaign.Type, HasResponded FROM CampaignMember LIMIT 3"
        )
        assert members[0]["Campaign"]["attributes"]["type"] == "Campaign" and members[0]["Campaign"]["Type"]
        assert "Id" not in members[0]

    def test_filters_compare_by_value(self, sf_ro: SalesforceSandbox, ro_api: Api) -> None:
        leads = [r for r in sf_ro.records("Lead").values() if not r["IsDeleted"]]

        def ids(where: str) -> set[str]:
            return {r["Id"] for r in ro_api.records(f"SELECT Id FROM Lead WHERE {where}")}

        def expect(pred: Any) -> set[str]:
            return {r["Id"] for r in leads if pred(r)}

        assert ids("status = 'working - CONTACTED'") == expect(lambda r: r["Status"] == "Working - Contacted")
        assert ids("Status != 'Nurture'") == expect(lambda r: r["Status"] != "Nurture")
        assert ids("Rating != 'Hot'") == expect(lambda r: r["Rating"] != "Hot")  # nulls match !=
        assert ids("Rating IN ('Hot', 'Warm')") == expect(lambda r: r["Rating"] in ("Hot", "Warm"))
        assert ids("Rating NOT IN ('Hot', 'Warm')") == expect(lambda r: r["Rating"] not in ("Hot", "Warm"))
        assert ids("Email LIKE '%@gmail.com'") == expect(lambda r: r["Email"].endswith("@gmail.com"))
        assert ids("FirstName LIKE 'L_ura'") == expect(lambda r: r["FirstName"] == "Laura")
        assert ids("Company LIKE '%\\_%'") == expect(lambda r: "_" in r["Company"])
        assert ids("NumberOfEmployees >= 1000 AND (Country = 'Spain' OR Country = 'France')") == expect(
            lambda r: (r["NumberOfEmployees"] or 0) >= 1000 and r["Country"] in ("Spain", "France")
        )
        assert ids("NOT (IsConverted = true OR HasOptedOutOfEmail = true)") == expect(
            lambda r: not r["IsConverted"] and not r["HasOptedOutOfEmail"]
        )
        assert ids("Budget_Status__c = null") == expect(lambda r: r["Budget_Status__c"] is None)
        cut = NOW - timedelta(days=30)
        want = expect(lambda r: r["SystemModstamp"] >= cut)
        for literal in ("2026-10-24T10:00:00Z", "2026-10-24T10:00:00.000+0000", "2026-10-24T11:00:00+01:00"):
            assert ids(f"SystemModstamp >= {literal}") == want, literal
        assert ids("CreatedDate = LAST_N_DAYS:30") == expect(lambda r: r["CreatedDate"].date() >= cut.date())
        tasks = {r["Id"] for r in ro_api.records("SELECT Id FROM Task WHERE ActivityDate >= 2026-11-01")}
        assert tasks == {
            t["Id"]
            for t in sf_ro.records("Task").values()
            if not t["IsDeleted"] and t["ActivityDate"] and t["ActivityDate"] >= datetime(2026, 11, 1).date()
        }
        semi = ids("Id IN (SELECT LeadId FROM CampaignMember WHERE HasResponded = true)")
        responded = {m["LeadId"] for m in sf_ro.records("CampaignMember").values() if m["HasResponded"]}
        assert semi == responded & expect(lambda r: True)

    def test_order_by_limit_offset_and_count(self, sf_ro: SalesforceSandbox, ro_api: Api) -> None:
        leads = [r for r in sf_ro.records("Lead").values() if not r["IsDeleted"]]
        got = [
            r["Id"]
            for r in ro_api.records("SELECT Id FROM Lead ORDER BY SystemModstamp, Id LIMIT 50 OFFSET 10")
        ]
        assert got == [r["Id"] for r in sorted(leads, key=lambda r: (r["SystemModstamp"], r["Id"]))][10:60]
        rated = ro_api.records("SELECT Rating, Id FROM Lead ORDER BY Rating DESC NULLS FIRST, Id")
        assert rated[0]["Rating"] is None and rated[-1]["Rating"] == "Cold"
        ascending = ro_api.records("SELECT Rating FROM Lead ORDER BY Rating")
        assert ascending[0]["Rating"] is None  # ASC: nulls first
        count = ro_api.query("SELECT COUNT() FROM Lead WHERE IsConverted = false").json()
        assert (count["totalSize"], count["records"]) == (sum(not r["IsConverted"] for r in leads), [])

    def test_setup_objects_are_queryable(self, ro_api: Api) -> None:
        soql = "SELECT ApiName, MasterLabel, IsDefault, IsConverted, SortOrder FROM LeadStatus"
        statuses = ro_api.records(soql + " ORDER BY SortOrder")
        assert [s["ApiName"] for s in statuses if s["IsConverted"]] == ["Closed - Converted"]
        assert statuses[0]["IsDefault"] and statuses[0]["ApiName"] == "Open - Not Contacted"
        org = ro_api.records("SELECT Id, Name, TimeZoneSidKey FROM Organization")
        assert org[0]["TimeZoneSidKey"] == "Europe/Madrid" and org[0]["Id"].startswith("00D")
        rules = ro_api.records(
            "SELECT Id, Name FROM AssignmentRule WHERE SobjectType = 'Lead' AND Active = true"
        )
        queues = ro_api.records(
            "SELECT Id, Name, DeveloperName FROM Group WHERE Type = 'Queue' ORDER BY Name"
        )
        assert len(rules) == 1 and [q["Name"] for q in queues] == ["Enterprise Leads", "Inbound Leads"]
        users = ro_api.records("SELECT Name, Username, TimeZoneSidKey FROM User WHERE IsActive = false")
        assert len(users) == 2 and all(u["Username"].endswith("@leadsync-demo.com") for u in users)

    def test_query_all_sees_the_recycle_bin(self, sf_ro: SalesforceSandbox, ro_api: Api) -> None:
        soql = "SELECT Id, IsDeleted FROM Lead WHERE IsDeleted = true"
        assert ro_api.records(soql) == []
        rows = ro_api.get("queryAll", params={"q": soql}).json()["records"]
        assert {r["Id"] for r in rows} == {r["Id"] for r in sf_ro.records("Lead").values() if r["IsDeleted"]}

    @pytest.mark.parametrize(
        ("soql", "code", "text"),
        [
            ("SELECT Id, Foo FROM Lead", "INVALID_FIELD", "No such column 'Foo' on entity 'Lead'"),
            ("SELECT Id FROM Leed", "INVALID_TYPE", "sObject type 'Leed' is not supported"),
            ("SELECT Id, Bogus.Name FROM Lead", "INVALID_FIELD", "Didn't understand relationship 'Bogus'"),
            ("SELECT Id FROM Lead WHERE", "MALFORMED_QUERY", "unexpected token: '<EOF>'"),
            (
                "SELECT Id FROM Lead WHERE Rating = 'Hot' AND City = 'Paris' OR City = 'Lyon'",
                "MALFORMED_QUERY",
                "'OR'",
            ),
            (
                "SELECT Id FROM Lead WHERE CreatedDate > '2026-01-01'",
                "INVALID_QUERY_FILTER_OPERATOR",
                "dateTime",
            ),
            (
                "SELECT Id FROM Lead WHERE CreatedDate > 2026-01-01",
                "INVALID_QUERY_FILTER_OPERATOR",
                "dateTime",
            ),
            ("SELECT Id FROM Lead WHERE NumberOfEmployees > '5'", "INVALID_QUERY_FILTER_OPERATOR", "integer"),
            ("SELECT Id FROM Lead WHERE Email = 5", "INVALID_QUERY_FILTER_OPERATOR", "enclosed in quotes"),
            (
                "SELECT Id FROM Lead WHERE OwnerId = 'abc'",
                "INVALID_QUERY_FILTER_OPERATOR",
                "invalid ID field: abc",
            ),
            (
                "SELECT Id FROM Lead OFFSET 2001",
                "NUMBER_OUTSIDE_VALID_RANGE",
                "Maximum SOQL offset allowed is 2000",
            ),
        ],
    )
    def test_errors_are_salesforces(self, ro_api: Api, soql: str, code: str, text: str) -> None:
        resp = ro_api.query(soql)
        assert resp.status_code == 400 and error_code(resp) == code
        message = resp.json()[0]["message"]
        assert text in message
        if code not in ("NUMBER_OUTSIDE_VALID_RANGE",):
            assert "ERROR at Row:1:Column:" in message

    def test_simple_salesforce_raises_on_a_bad_query(self, sf_ro: SalesforceSandbox, ro_api: Api) -> None:
        with pytest.raises(SalesforceMalformedRequest) as err:
            sf_client(sf_ro, ro_api.bearer).query("SELECT Nope FROM Lead")
        assert err.value.content[0]["errorCode"] == "INVALID_FIELD"

    def test_a_uri_over_16384_bytes_is_414(self, ro_api: Api) -> None:
        soql = (
            "SELECT Id FROM Lead WHERE Email IN (" + ",".join(f"'x{i}@example.com'" for i in range(900)) + ")"
        )
        resp = ro_api.query(soql)
        assert resp.status_code == 414 and "URI Too Long" in resp.text


class TestPaging:
    """nextRecordsUrl batches over a snapshot; locators expire."""

    def test_batches_follow_next_records_url(self, sf_ro: SalesforceSandbox, ro_api: Api) -> None:
        live = sum(not r["IsDeleted"] for r in sf_ro.records("Lead").values())
        first = ro_api.query("SELECT Id FROM Lead", headers={"Sforce-Query-Options": "batchSize=200"}).json()
        assert (first["totalSize"], first["done"], len(first["records"])) == (live, False, 200)
        assert first["nextRecordsUrl"].startswith(f"/services/data/v{V}/query/01g")
        assert first["nextRecordsUrl"].endswith("-200")
        second = ro_api.get(sf_ro.url + first["nextRecordsUrl"]).json()
        assert second["done"] and len(second["records"]) == live - 200 and "nextRecordsUrl" not in second
        assert ro_api.query("SELECT Id FROM Lead").json()["done"]  # 2,000 a batch by default
        tiny = ro_api.query("SELECT Id FROM Lead", headers={"Sforce-Query-Options": "batchSize=5"}).json()
        assert len(tiny["records"]) == 200  # Salesforce's minimum

    def test_simple_salesforce_query_all_iter_reads_every_batch(
        self, sf_ro: SalesforceSandbox, ro_api: Api
    ) -> None:
        sf = sf_client(sf_ro, ro_api.bearer)
        rows = list(
            sf.query_all_iter("SELECT Id FROM Task", headers={"Sforce-Query-Options": "batchSize=200"})
        )
        assert (
            len({r["Id"] for r in rows})
            == sum(not t["IsDeleted"] for t in sf_ro.records("Task").values())
            > 200
        )

    def test_results_are_a_snapshot_and_locators_expire(self, sf_sb: SalesforceSandbox, sf_api: Api) -> None:
        soql = "SELECT Id, Rating FROM Lead ORDER BY Id"
        opts = {"Sforce-Query-Options": "batchSize=200"}
        sf_sb.seed(leads=450, seed=7, now=NOW)  # enough for three batches
        api = Api(sf_sb, token(sf_sb))
        first = api.query(soql, headers=opts).json()
        last_id = first["records"][-1]["Id"]
        target = next(
            rid
            for rid, rec in sf_sb.records("Lead").items()
            if rid > last_id and not rec["IsDeleted"] and rec["Rating"] != "Hot"
        )
        before = sf_sb.records("Lead")[target]["Rating"]
        sf_sb.set_field("Lead", target, "Rating", "Hot")
        second = api.get(sf_sb.url + first["nextRecordsUrl"]).json()
        assert next(r for r in second["records"] if r["Id"] == target)["Rating"] == before  # as it was
        assert api.records(f"SELECT Rating FROM Lead WHERE Id = '{target}'")[0]["Rating"] == "Hot"
        sf_sb.advance(15 * 60 + 1)  # 15 minutes unused
        stale = api.get(sf_sb.url + second["nextRecordsUrl"])
        assert (stale.status_code, error_code(stale)) == (400, "INVALID_QUERY_LOCATOR")


class TestDescribe:
    """Global and object describe, as the user sees the fields."""

    def test_global_and_lead_describe(self, ro_api: Api) -> None:
        names = {o["name"] for o in ro_api.get("sobjects").json()["sobjects"]}
        assert {"Lead", "Contact", "Account", "Task", "Event", "Campaign", "CampaignMember", "User"} <= names
        lead = ro_api.get("sobjects/Lead/describe").json()
        fields = {f["name"]: f for f in lead["fields"]}
        assert (lead["name"], lead["createable"], lead["queryable"]) == ("Lead", True, True)
        status = fields["Status"]
        assert status["type"] == "picklist" and status["restrictedPicklist"] and not status["nillable"]
        assert [p["value"] for p in status["picklistValues"] if p["defaultValue"]] == ["Open - Not Contacted"]
        assert {"Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other", "Webinar"} <= {
            p["value"] for p in fields["LeadSource"]["picklistValues"]
        }
        assert "Technology" in {p["value"] for p in fields["Industry"]["picklistValues"]}
        assert (fields["NumberOfEmployees"]["type"], fields["Email"]["type"], fields["Id"]["type"]) == (
            "int",
            "email",
            "id",
        )
        assert (
            fields["OwnerId"]["referenceTo"] == ["Group", "User"]
            and fields["OwnerId"]["relationshipName"] == "Owner"
        )
        assert fields["Budget_Status__c"]["custom"] and fields["Need__c"]["length"] == 255
        assert not fields["IsConverted"]["updateable"] and not fields["SystemModstamp"]["createable"]
        task = {f["name"]: f for f in ro_api.get("sobjects/Task/describe").json()["fields"]}
        assert task["TaskSubtype"]["createable"] and not task["TaskSubtype"]["updateable"]
        assert ro_api.get("sobjects/Nope/describe").status_code == 404


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
