"""The Salesforce sandbox's field history: LeadHistory and ContactHistory, which fields are tracked
(the seeded org's, a custom field's ``trackHistory``, the 20-field limit), the rows each kind of
save leaves, deletes, and field-level security."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
import requests

from leadsync.sandboxes.salesforce.common import SfError, sf_datetime
from leadsync.sandboxes.salesforce.sandbox import SalesforceSandbox
from tests.sandbox.sf_support import SCORE, Api, error_code, errors, grant, lead_update, open_leads, sf_client

HISTORY_COLUMNS = "Id, LeadId, Field, DataType, OldValue, NewValue, CreatedDate, CreatedById"
TRACKED_SCORE = {**SCORE, "Metadata": {**SCORE["Metadata"], "trackHistory": True}}
NO_ROOM = [
    {
        "message": "exceeded the allowed number of fields to track on a given entity",
        "errorCode": "FIELD_INTEGRITY_EXCEPTION",
        "fields": [],
    }
]


def history(api: Api, lead: str, *fields: str) -> list[dict[str, Any]]:
    """The lead's history rows (of ``fields``, if given), newest first, as the adapter asks."""
    only = f" AND Field IN ({', '.join(repr(f) for f in fields)})" if fields else ""
    where = f"LeadId IN ('{lead}'){only}"
    return api.records(f"SELECT {HISTORY_COLUMNS} FROM LeadHistory WHERE {where} ORDER BY CreatedDate DESC")


def changes(rows: list[dict[str, Any]]) -> list[tuple[str, Any, Any]]:
    return [(r["Field"], r["OldValue"], r["NewValue"]) for r in rows]


def fill_tracking(sb: SalesforceSandbox, obj: str = "Lead") -> list[str]:
    """Track standard fields through the back door until the object tracks 20."""
    spare = ["Rating", "Industry", "Title", "Email", "Phone", "MobilePhone", "Company", "City", "Country"]
    spare += ["Website", "FirstName", "LastName", "Salutation", "NumberOfEmployees", "AnnualRevenue"]
    spare += ["HasOptedOutOfEmail", "Description", "Need__c", "Timeline__c", "Budget_Status__c"]
    tracked: list[str] = []
    for name in spare:
        if len(sb.org.tracked[obj]) == 20:
            break
        tracked = sb.track_history(obj, name)
    assert len(tracked) == 20
    return tracked


class TestObjects:
    """LeadHistory and ContactHistory: describe, SOQL, the seeded history, no writes."""

    def test_describe_says_query_only(self, ro_api: Api) -> None:
        found = {o["name"]: o for o in ro_api.get("sobjects").json()["sobjects"]}
        for name in ("LeadHistory", "ContactHistory"):
            o = found[name]
            assert (o["keyPrefix"], o["queryable"], o["createable"], o["updateable"], o["deletable"]) == (
                "017",
                True,
                False,
                False,
                False,
            )
        lead = ro_api.get("sobjects/LeadHistory/describe").json()
        fields = {f["name"]: f for f in lead["fields"]}
        assert list(fields) == [
            "Id",
            "IsDeleted",
            "LeadId",
            "CreatedById",
            "CreatedDate",
            "Field",
            "DataType",
            "OldValue",
            "NewValue",
        ]
        assert fields["LeadId"]["referenceTo"] == ["Lead"] and fields["NewValue"]["type"] == "anyType"
        assert not any(f["createable"] or f["updateable"] for f in fields.values())
        assert {"created", "leadConverted", "Owner", "Status", "LeadSource"} <= {
            p["value"] for p in fields["Field"]["picklistValues"]
        }
        contact = {f["name"] for f in ro_api.get("sobjects/ContactHistory/describe").json()["fields"]}
        assert "ContactId" in contact and "LeadId" not in contact

    def test_seeded_history_answers_the_adapters_query(self, sf_ro: SalesforceSandbox, ro_api: Api) -> None:
        leads = {r["Id"]: r for r in sf_ro.records("Lead").values() if not r["IsDeleted"]}
        some = sorted(leads)[:25]
        soql = (
            "SELECT LeadId, Field, CreatedDate FROM LeadHistory "
            f"WHERE LeadId IN ({', '.join(repr(i) for i in some)}) "
            "AND Field IN ('Status','Leadsync_Score__c') ORDER BY CreatedDate DESC"
        )
        rows = ro_api.records(soql)
        assert rows and {r["Field"] for r in rows} == {"Status"} and {r["LeadId"] for r in rows} <= set(some)
        stamps = [r["CreatedDate"] for r in rows]
        assert stamps == sorted(stamps, reverse=True)
        default = "Open - Not Contacted"
        for rid in some:
            lead, mine = leads[rid], history(ro_api, rid)
            assert [r["Field"] for r in mine].count("created") == 1
            assert mine[-1]["CreatedDate"] == sf_datetime(lead["CreatedDate"])
            assert all(r["Id"].startswith("017") for r in mine)
            if lead["Status"] != default and not lead["IsConverted"]:  # its last edit changed the status
                status = [r for r in mine if r["Field"] == "Status"]
                assert changes(status) == [("Status", default, lead["Status"])]
                assert status[0]["CreatedDate"] == sf_datetime(lead["LastModifiedDate"])
        converted = next(r for r in leads.values() if r["IsConverted"])
        assert [r["Field"] for r in history(ro_api, converted["Id"])][:2] == ["Status", "leadConverted"]
        contact = converted["ConvertedContactId"]
        assert [
            r["Field"]
            for r in ro_api.records(f"SELECT Field FROM ContactHistory WHERE ContactId = '{contact}'")
        ] == ["created"]

    def test_history_is_read_only(self, ro_api: Api, sf_ro: SalesforceSandbox) -> None:
        lead = open_leads(sf_ro)[0]["Id"]
        row = history(ro_api, lead)[0]
        assert ro_api.get(f"sobjects/LeadHistory/{row['Id']}").json()["LeadId"] == lead
        body = {"LeadId": lead, "Field": "Status"}
        for resp in (
            ro_api.post("sobjects/LeadHistory", json=body),
            ro_api.patch(f"sobjects/LeadHistory/{row['Id']}", json={"Field": "Rating"}),
            ro_api.delete(f"sobjects/LeadHistory/{row['Id']}"),
        ):
            assert (resp.status_code, error_code(resp)) == (400, "INVALID_TYPE_FOR_OPERATION")
        assert ro_api.post("sobjects/LeadHistory", json=body).json()[0]["message"] == (
            "entity type cannot be inserted: LeadHistory"
        )
        batch = ro_api.post(
            "composite/sobjects", json={"records": [{"attributes": {"type": "LeadHistory"}, **body}]}
        )
        assert errors(batch.json()[0]) == ["INVALID_TYPE_FOR_OPERATION"]
        assert ro_api.records(f"SELECT Id FROM LeadHistory WHERE Id = '{row['Id']}'")


class TestTracking:
    """Which fields are tracked: the seeded org's, the back door, CustomField trackHistory, 20 at most."""

    def test_seeded_tracking_and_the_back_door(self, sf_sb: SalesforceSandbox) -> None:
        assert sf_sb.org.tracked == {"Lead": ["Status", "OwnerId", "LeadSource"], "Contact": ["OwnerId"]}
        assert sf_sb.track_history("lead", "rating") == ["Status", "OwnerId", "LeadSource", "Rating"]
        ctl = f"{sf_sb.url}/__sandbox/track_history"
        off = requests.post(ctl, json={"args": ["Lead", "LeadSource"], "on": False}, timeout=10)
        assert off.json()["result"] == ["Status", "OwnerId", "Rating"]
        for args in (["Lead", "Nope"], ["Lead", "CreatedDate"], ["Account", "Name"]):
            assert requests.post(ctl, json={"args": args}, timeout=10).status_code == 400

    def test_custom_field_track_history_on_create_and_patch(
        self, sf_sb: SalesforceSandbox, sf_api: Api
    ) -> None:
        created = sf_api.post("tooling/sobjects/CustomField", json=TRACKED_SCORE)
        assert created.status_code == 201
        url = f"tooling/sobjects/CustomField/{created.json()['id']}"
        meta = sf_api.get(url).json()["Metadata"]
        assert meta["trackHistory"] is True and "Leadsync_Score__c" in sf_sb.org.tracked["Lead"]
        meta["trackHistory"] = False
        assert sf_api.patch(url, json={"Metadata": meta}).status_code == 204
        assert "Leadsync_Score__c" not in sf_sb.org.tracked["Lead"]
        assert sf_api.get(url).json()["Metadata"]["trackHistory"] is False
        meta["trackHistory"] = True
        assert sf_api.patch(url, json={"Metadata": meta}).status_code == 204
        sf_sb.track_history("Lead", "Leadsync_Score__c", on=False)  # the admin, in Setup
        assert sf_api.get(url).json()["Metadata"]["trackHistory"] is False
        plain = sf_api.post(
            "tooling/sobjects/CustomField", json={"FullName": "Lead.Other__c", "Metadata": SCORE["Metadata"]}
        )
        assert plain.status_code == 201 and "Other__c" not in sf_sb.org.tracked["Lead"]

    def test_at_most_twenty_tracked_fields(self, sf_sb: SalesforceSandbox, sf_api: Api) -> None:
        fill_tracking(sf_sb)
        refused = sf_api.post("tooling/sobjects/CustomField", json=TRACKED_SCORE)
        assert (refused.status_code, refused.json()) == (400, NO_ROOM)
        fields = sf_api.get("tooling/query", params={"q": "SELECT DeveloperName FROM CustomField"}).json()
        assert "Leadsync_Score" not in {r["DeveloperName"] for r in fields["records"]}  # nothing made
        created = sf_api.post("tooling/sobjects/CustomField", json=SCORE)  # untracked: room enough
        url = f"tooling/sobjects/CustomField/{created.json()['id']}"
        patched = sf_api.patch(url, json={"Metadata": TRACKED_SCORE["Metadata"]})
        assert (patched.status_code, patched.json()) == (400, NO_ROOM)
        with pytest.raises(SfError, match="exceeded the allowed number of fields to track"):
            sf_sb.track_history("Lead", "Leadsync_Score__c")
        ctl = requests.post(
            f"{sf_sb.url}/__sandbox/track_history", json={"args": ["Lead", "Leadsync_Score__c"]}, timeout=10
        )
        assert (ctl.status_code, ctl.json()) == (400, NO_ROOM)
        sf_sb.track_history("Lead", "Rating", on=False)
        assert sf_api.patch(url, json={"Metadata": TRACKED_SCORE["Metadata"]}).status_code == 204
        assert len(sf_sb.org.tracked["Lead"]) == 20 and len(sf_sb.org.tracked["Contact"]) == 1


class TestRecording:
    """The rows saves leave: API writes, the back door, conversion; automation leaves none."""

    def test_a_patch_records_each_tracked_field_that_changed(
        self, sf_sb: SalesforceSandbox, sf_api: Api
    ) -> None:
        lead = next(r for r in open_leads(sf_sb) if r["Status"] != "Nurture" and r["LeadSource"])
        before = history(sf_api, lead["Id"])
        sf_sb.advance(60)
        resp = sf_api.patch(
            f"sobjects/Lead/{lead['Id']}",
            json={"Status": "Nurture", "Rating": "Hot", "LeadSource": lead["LeadSource"]},
            headers={"Sforce-Auto-Assign": "FALSE"},
        )
        assert resp.status_code == 204
        after = history(sf_api, lead["Id"])
        new = after[: len(after) - len(before)]
        assert changes(new) == [("Status", lead["Status"], "Nurture")]  # Rating untracked, source the same
        saved = sf_sb.records("Lead")[lead["Id"]]
        assert new[0]["CreatedDate"] == sf_datetime(saved["LastModifiedDate"])
        assert (new[0]["CreatedById"], new[0]["DataType"]) == (sf_sb.org.api_user, "DynamicEnum")
        same = sf_api.patch(
            f"sobjects/Lead/{lead['Id']}", json={"Status": "Nurture"}, headers={"Sforce-Auto-Assign": "FALSE"}
        )
        assert same.status_code == 204 and len(history(sf_api, lead["Id"])) == len(after)  # no change, no row
        sf_sb.advance(1)
        sf_api.patch(f"sobjects/Lead/{lead['Id']}", json={"Status": "Nurture"})  # the assignment rule runs
        assert [r["Field"] for r in history(sf_api, lead["Id"])][:2] == ["Owner", "Owner"]

    def test_an_owner_change_is_field_owner_with_ids_and_names(
        self, sf_sb: SalesforceSandbox, sf_api: Api
    ) -> None:
        lead = next(r for r in open_leads(sf_sb) if r["OwnerId"].startswith("00G"))  # in a queue
        rep = next(
            u for u in sf_sb.users(active=True) if u["Id"] not in (sf_sb.org.api_user, lead["OwnerId"])
        )
        sf_api.patch(
            f"sobjects/Lead/{lead['Id']}",
            json={"OwnerId": rep["Id"]},
            headers={"Sforce-Auto-Assign": "FALSE"},
        )
        rows = history(sf_api, lead["Id"], "Owner", "OwnerId")
        queue = sf_sb.record(lead["OwnerId"])["Name"]
        assert sorted((r["DataType"], r["OldValue"], r["NewValue"]) for r in rows) == [
            ("EntityId", lead["OwnerId"], rep["Id"]),
            ("Text", queue, rep["Name"]),
        ]

    def test_insert_records_created_and_the_assignment_rule_no_change(
        self, sf_sb: SalesforceSandbox, sf_api: Api
    ) -> None:
        rid = sf_api.post("sobjects/Lead", json={"LastName": "Nuevo", "Company": "Acme"}).json()["id"]
        rows = history(sf_api, rid)
        assert [(r["Field"], r["DataType"], r["OldValue"], r["NewValue"]) for r in rows] == [
            ("created", "Text", None, None)
        ]
        assert rows[0]["CreatedById"] == sf_sb.org.api_user
        assert rows[0]["CreatedDate"] == sf_datetime(sf_sb.records("Lead")[rid]["CreatedDate"])

    def test_collections_bulk_and_simple_salesforce(self, sf_sb: SalesforceSandbox, sf_api: Api) -> None:
        one, two = [r for r in open_leads(sf_sb) if r["Status"] not in ("Nurture", "Sales Qualified")][:2]
        batch = sf_api.patch(
            "composite/sobjects", json={"records": [lead_update(one["Id"], Status="Nurture")]}
        )
        assert batch.json()[0]["success"]
        job = sf_api.post(
            "jobs/ingest",
            json={"object": "Lead", "operation": "update", "contentType": "CSV", "lineEnding": "LF"},
        ).json()["id"]
        data = f"Id,Status\n{two['Id']},Sales Qualified\n"
        sf_api.call("PUT", f"jobs/ingest/{job}/batches", data=data, headers={"Content-Type": "text/csv"})
        sf_api.patch(f"jobs/ingest/{job}", json={"state": "UploadComplete"})
        for _ in range(100):
            if sf_api.get(f"jobs/ingest/{job}").json()["state"] == "JobComplete":
                break
            time.sleep(0.02)
        sf = sf_client(sf_sb, sf_api.bearer)
        ids = f"'{one['Id']}', '{two['Id']}'"
        found = sf.query_all(
            f"SELECT LeadId, OldValue, NewValue FROM LeadHistory WHERE LeadId IN ({ids}) "
            "AND Field = 'Status' ORDER BY CreatedDate DESC"
        )["records"]
        latest = {r["LeadId"]: (r["OldValue"], r["NewValue"]) for r in reversed(found)}
        assert latest == {
            one["Id"]: (one["Status"], "Nurture"),
            two["Id"]: (two["Status"], "Sales Qualified"),
        }

    def test_back_door_edits_record_automation_does_not(self, sf_sb: SalesforceSandbox, sf_api: Api) -> None:
        lead = next(
            r for r in open_leads(sf_sb) if r["Status"] != "Nurture" and r["OwnerId"].startswith("005")
        )
        count = len(history(sf_api, lead["Id"]))
        sf_sb.set_field(
            "Lead", lead["Id"], "LeadSource", "Webinar" if lead["LeadSource"] != "Webinar" else "Web"
        )
        sf_sb.set_field("Lead", lead["Id"], "Status", "Nurture", system=True)  # a workflow's field update
        sf_sb.touch_system(lead["Id"])
        rows = history(sf_api, lead["Id"])
        assert len(rows) == count + 1 and rows[0]["Field"] == "LeadSource"
        owner = sf_sb.record(lead["OwnerId"])
        expected = lead["OwnerId"] if owner["IsActive"] else sf_sb.org.admin_user  # the person who edited
        assert rows[0]["CreatedById"] == expected

    def test_conversion_adds_lead_converted(self, sf_sb: SalesforceSandbox, sf_api: Api) -> None:
        lead = open_leads(sf_sb)[0]
        ids = sf_sb.convert_lead(lead["Id"])
        rows = history(sf_api, lead["Id"])
        assert changes(rows[:2]) == [
            ("Status", lead["Status"], "Closed - Converted"),
            ("leadConverted", None, None),
        ]
        contact = sf_api.records(
            f"SELECT Field, CreatedById FROM ContactHistory WHERE ContactId = '{ids['ContactId']}'"
        )
        assert [r["Field"] for r in contact] == ["created"]

    def test_deletes_take_history_along(self, sf_sb: SalesforceSandbox, sf_api: Api) -> None:
        lead = open_leads(sf_sb)[0]["Id"]
        mine = {r["Id"] for r in history(sf_api, lead)}
        assert sf_api.delete(f"sobjects/Lead/{lead}").status_code == 204
        assert not history(sf_api, lead)
        gone = sf_api.get(
            "queryAll", params={"q": f"SELECT Id, IsDeleted FROM LeadHistory WHERE LeadId = '{lead}'"}
        ).json()["records"]
        assert {r["Id"] for r in gone} == mine and all(r["IsDeleted"] for r in gone)
        now = sf_sb.org.now()
        window = {
            "start": sf_datetime(now - timedelta(minutes=5)),
            "end": sf_datetime(now + timedelta(minutes=1)),
        }
        logged = sf_api.get("sobjects/LeadHistory/deleted", params=window).json()["deletedRecords"]
        assert mine <= {d["id"] for d in logged}
        sf_sb.undelete(lead)
        assert {r["Id"] for r in history(sf_api, lead)} == mine

    def test_deleting_a_custom_field_deletes_its_history(self, sf_sb: SalesforceSandbox, sf_api: Api) -> None:
        sf_sb.set_fls(False)
        field_id = sf_api.post("tooling/sobjects/CustomField", json=TRACKED_SCORE).json()["id"]
        lead = open_leads(sf_sb)[0]["Id"]
        sf_api.patch(f"sobjects/Lead/{lead}", json={"Leadsync_Score__c": 40})
        sf_sb.advance(1)  # one second later: history is to the second, same-second rows keep no order
        sf_api.patch(f"sobjects/Lead/{lead}", json={"Leadsync_Score__c": 55})
        rows = history(sf_api, lead, "Leadsync_Score__c")
        assert changes(rows) == [("Leadsync_Score__c", 40, 55), ("Leadsync_Score__c", None, 40)]
        assert rows[0]["DataType"] == "Double"
        sf_sb.track_history("Lead", "Leadsync_Score__c", on=False)  # off: the history stays
        sf_api.patch(f"sobjects/Lead/{lead}", json={"Leadsync_Score__c": 70})
        assert len(history(sf_api, lead, "Leadsync_Score__c")) == 2
        assert sf_api.delete(f"tooling/sobjects/CustomField/{field_id}").status_code == 204
        assert not [r for r in sf_sb.records("LeadHistory").values() if r["Field"] == "Leadsync_Score__c"]


class TestFieldLevelSecurity:
    """History follows field-level security on the parent: rows of a hidden field are left out."""

    def test_rows_of_fields_the_user_cannot_see(self, sf_sb: SalesforceSandbox, sf_api: Api) -> None:
        assert sf_api.post("tooling/sobjects/CustomField", json=TRACKED_SCORE).status_code == 201
        lead = open_leads(sf_sb)[0]["Id"]
        sf_sb.set_field("Lead", lead, "Leadsync_Score__c", 42)  # a person, who can see the field
        stored = [r for r in sf_sb.records("LeadHistory").values() if r["Field"] == "Leadsync_Score__c"]
        assert len(stored) == 1
        assert not history(sf_api, lead, "Leadsync_Score__c")  # the API user cannot, yet
        assert sf_api.get(f"sobjects/LeadHistory/{stored[0]['Id']}").status_code == 404
        grant(sf_api, "Lead.Leadsync_Score__c", edit=False)
        assert changes(history(sf_api, lead, "Leadsync_Score__c")) == [("Leadsync_Score__c", None, 42)]
        sf_sb.revoke_field("Lead", "Status")
        fields = {r["Field"] for r in history(sf_api, lead)}
        assert "Status" not in fields and {"created", "Leadsync_Score__c"} <= fields
        count = sf_api.query(f"SELECT COUNT() FROM LeadHistory WHERE LeadId = '{lead}'").json()["totalSize"]
        assert count == len(history(sf_api, lead))
