"""The Salesforce sandbox's reads: SOQL (fields, parents, filters, order, errors), query vs queryAll,
nextRecordsUrl paging over a snapshot, describe."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from simple_salesforce.exceptions import (
    SalesforceMalformedRequest,
)

from leadsync.sandboxes.salesforce.sandbox import SalesforceSandbox
from tests.sandbox.sf_support import NOW, Api, V, error_code, sf_client, token


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
