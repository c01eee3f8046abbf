"""The Salesforce sandbox, write side: CRUD, sObject Collections, the assignment rule, roll-ups,
Bulk API 2.0, the Tooling API and field-level security, lead conversion, deletes, the demo org."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import time
from datetime import timedelta
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce

from adapters.salesforce.sandbox import SalesforceSandbox, demo_org
from tests.sandbox.sf_support import Api, V, error_code, open_leads

SCORE = {
    "FullName": "Lead.Leadsync_Score__c",
    "Metadata": {"label": "Leadsync Score", "type": "Number", "precision": 5, "scale": 0},
}


def lead_update(rid: str, **values: Any) -> dict[str, Any]:
    return {"attributes": {"type": "Lead"}, "id": rid, **values}


def errors(result: dict[str, Any]) -> list[str]:
    return [e["statusCode"] for e in result["errors"]]


def grant(api: Api, field: str, edit: bool = True, name: str = "Leadsync_Fields") -> None:
    """What ``leadsync setup`` does after creating a field: a permission set, the field, the user."""
    sb = api.sb
    found = api.records(f"SELECT Id FROM PermissionSet WHERE Name = '{name}'")
    if found:
        pset = found[0]["Id"]
    else:
        pset = api.post(
            "sobjects/PermissionSet", json={"Name": name, "Label": name.replace("_", " ")}
        ).json()["id"]
        user = sb.org.api_user
        assert api.post(
            "sobjects/PermissionSetAssignment", json={"AssigneeId": user, "PermissionSetId": pset}
        ).ok
    obj = field.split(".")[0]
    body = {
        "ParentId": pset,
        "SobjectType": obj,
        "Field": field,
        "PermissionsRead": True,
        "PermissionsEdit": edit,
    }
    resp = api.post(
        "composite/sobjects", json={"records": [{"attributes": {"type": "FieldPermissions"}, **body}]}
    )
    assert resp.json()[0]["success"], resp.text


class TestRecords:
    """One-record create/read/update/delete and upsert, with Salesforce's refusals."""

    def test_create_read_update_delete(self, sf_sb: SalesforceSandbox, sf_api: Api) -> None:
        created = sf_api.post(
            "sobjects/Lead", json={"LastName": "Quintana", "Company": "Acme", "Email": "q@acme.es"}
        )
        assert (
            created.status_code == 201
            and created.json()["success"]
            and created.json()["id"].startswith("00Q")
        )
        rid = created.json()["id"]
        got = sf_api.get(f"sobjects/Lead/{rid}").json()
        assert (got["Status"], got["Name"], got["IsConverted"]) == ("Open - Not Contacted", "Quintana", False)
        assert got["CreatedById"] == sf_sb.org.api_user and got["CreatedDate"].endswith("+0000")
        assert (
            sf_api.get(f"sobjects/Lead/{rid[:15]}", params={"fields": "Email"}).json()["Email"] == "q@acme.es"
        )
        assert (
            sf_api.patch(f"sobjects/Lead/{rid}", json={"Rating": "Hot", "NumberOfEmployees": 40}).status_code
            == 204
        )
        assert sf_sb.records("Lead")[rid]["NumberOfEmployees"] == 40
        assert sf_api.delete(f"sobjects/Lead/{rid}").status_code == 204
        gone = sf_api.get(f"sobjects/Lead/{rid}")
        assert (gone.status_code, error_code(gone)) == (404, "ENTITY_IS_DELETED")
        assert sf_api.get("sobjects/Lead/00Q5g00000AAAAAAAA").status_code == 404

    @pytest.mark.parametrize(
        ("body", "code"),
        [
            ({"LastName": "X"}, "REQUIRED_FIELD_MISSING"),
            (
                {"LastName": "X", "Company": "Y", "Status": "Hot stuff"},
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            ),
            ({"LastName": "X", "Company": "Y", "Email": "not-an-email"}, "INVALID_EMAIL_ADDRESS"),
            ({"LastName": "X", "Company": "Y", "Nope__c": 1}, "INVALID_FIELD"),
            ({"LastName": "X", "Company": "Y", "IsConverted": True}, "INVALID_FIELD_FOR_INSERT_UPDATE"),
            ({"LastName": "X", "Company": "Y", "NumberOfEmployees": "many"}, "JSON_PARSER_ERROR"),
            (
                {"LastName": "X", "Company": "Y", "OwnerId": "00Q5g00000AAAAAAAA"},
                "INVALID_CROSS_REFERENCE_KEY",
            ),
            ({"LastName": "X" * 81, "Company": "Y"}, "STRING_TOO_LONG"),
        ],
    )
    def test_create_refusals(self, sf_api: Api, body: dict[str, Any], code: str) -> None:
        resp = sf_api.post("sobjects/Lead", json=body)
        assert (resp.status_code, error_code(resp)) == (400, code), resp.text

    def test_missing_fields_are_named(self, sf_api: Api) -> None:
        resp = sf_api.post("sobjects/Lead", json={"FirstName": "Ana"})
        assert resp.json()[0]["message"] == "Required fields are missing: [LastName, Company]"
        assert resp.json()[0]["fields"] == ["LastName", "Company"]

    def test_inactive_owner_and_converted_lead(self, sf_sb: SalesforceSandbox, sf_api: Api) -> None:
        gone = next(u["Id"] for u in sf_sb.users(active=False))
        lead = open_leads(sf_sb)[0]["Id"]
        resp = sf_api.patch(
            f"sobjects/Lead/{lead}", json={"OwnerId": gone}, headers={"Sforce-Auto-Assign": "FALSE"}
        )
        assert error_code(resp) == "INACTIVE_OWNER_OR_USER"
        converted = next(r["Id"] for r in sf_sb.records("Lead").values() if r["IsConverted"])
        resp = sf_api.patch(f"sobjects/Lead/{converted}", json={"Rating": "Hot"})
        assert (resp.status_code, error_code(resp)) == (400, "CANNOT_UPDATE_CONVERTED_LEAD")

    def test_upsert_by_external_id(self, sf_sb: SalesforceSandbox, sf_api: Api) -> None:
        key = {"FullName": "Task.Leadsync_Key__c", "Metadata": {"label": "Key", "type": "Text", "length": 80}}
        key["Metadata"] |= {"externalId": True, "unique": True}
        assert sf_api.post("tooling/sobjects/CustomField", json=key).status_code == 201
        grant(sf_api, "Task.Leadsync_Key__c")
        lead = open_leads(sf_sb)[0]["Id"]
        body = {"Subject": "Call back", "WhoId": lead}
        first = sf_api.patch("sobjects/Task/Leadsync_Key__c/run1-a", json=body)
        again = sf_api.patch("sobjects/Task/Leadsync_Key__c/run1-a", json={"Subject": "Call back today"})
        assert (first.status_code, first.json()["created"]) == (201, True)
        assert (again.status_code, again.json()["created"], again.json()["id"]) == (
            200,
            False,
            first.json()["id"],
        )
        assert sf_api.get("sobjects/Task/Leadsync_Key__c/RUN1-A").json()["Subject"] == "Call back today"
        task = {"type": "Task"}
        upsert = {"allOrNone": False, "records": [
            {"attributes": task, "Leadsync_Key__c": "run1-a", "Priority": "High"},
            {"attributes": task, "Leadsync_Key__c": "run1-b", "Subject": "Send deck", "WhoId": lead},
        ]}  # fmt: skip
        results = sf_api.patch("composite/sobjects/Task/Leadsync_Key__c", json=upsert).json()
        assert [(r["success"], r["created"]) for r in results] == [(True, False), (True, True)]
        second = sf_sb.records("Task")[results[1]["id"]]
        dupe = sf_api.patch(f"sobjects/Task/{second['Id']}", json={"Leadsync_Key__c": "run1-a"})
        assert error_code(dupe) == "DUPLICATE_VALUE"

    def test_a_delete_takes_activities_along_and_undelete_restores(
        self, sf_sb: SalesforceSandbox, sf_api: Api
    ) -> None:
        tasks = sf_sb.records("Task").values()
        lead = next(r["Id"] for r in open_leads(sf_sb) if any(t["WhoId"] == r["Id"] for t in tasks))
        mine = {t["Id"] for t in tasks if t["WhoId"] == lead}
        assert sf_api.delete(f"sobjects/Lead/{lead}").status_code == 204
        assert all(sf_sb.records("Task")[t]["IsDeleted"] for t in mine)
        assert not sf_api.records(f"SELECT Id FROM Task WHERE WhoId = '{lead}'")
        sf_sb.undelete(lead)
        assert {r["Id"] for r in sf_api.records(f"SELECT Id FROM Task WHERE WhoId = '{lead}'")} == mine
        assert sf_api.get(f"sobjects/Lead/{lead}").status_code == 200

    def test_deleted_and_updated_endpoints(self, sf_sb: SalesforceSandbox, sf_api: Api) -> None:
        lead = open_leads(sf_sb)[0]["Id"]
        assert sf_api.delete(f"sobjects/Lead/{lead}").status_code == 204
        sf = Salesforce(instance_url=sf_sb.url, session_id=sf_api.bearer, version=V, session=sf_sb.session())
        now = sf_sb.org.now()
        deleted = sf.Lead.deleted(now - timedelta(days=20), now + timedelta(minutes=1))
        ids = [d["id"] for d in deleted["deletedRecords"]]
        assert lead in ids and len(ids) > 1  # and the seeded deletes of the last 15 days
        earliest = deleted["earliestDateAvailable"]
        sf_sb.purge_deleted("Lead")  # the recycle bin emptied: a client reading from before must resync
        after = sf.Lead.deleted(now - timedelta(days=20), now + timedelta(minutes=1))
        assert after["deletedRecords"] == [] and after["earliestDateAvailable"] > earliest
        assert not any(
            r["Id"] == lead
            for r in sf_api.get("queryAll", params={"q": "SELECT Id FROM Lead"}).json()["records"]
        )
        sf_sb.advance(120)
        other = open_leads(sf_sb)[0]["Id"]
        sf_api.patch(f"sobjects/Lead/{other}", json={"Rating": "Cold"})
        later = sf_sb.org.now()
        window = (later - timedelta(minutes=1), later + timedelta(minutes=1))
        assert other not in sf.Lead.updated(*window)["ids"]  # the current minute is not covered yet
        sf_sb.advance(61)
        assert other in sf.Lead.updated(*window)["ids"]
        assert (
            sf_api.get(
                "sobjects/Lead/deleted/",
                params={"start": "2020-01-01T00:00:00Z", "end": "2020-01-02T00:00:00Z"},
            ).status_code
            == 400
        )


class TestCollections:
    """PATCH/POST/DELETE /composite/sobjects: per-record results, allOrNone, 200 at most."""

    def test_partial_failure_in_request_order(self, sf_sb: SalesforceSandbox, sf_api: Api) -> None:
        leads = [r["Id"] for r in open_leads(sf_sb)]
        converted = next(r["Id"] for r in sf_sb.records("Lead").values() if r["IsConverted"])
        deleted = next(r["Id"] for r in sf_sb.records("Lead").values() if r["IsDeleted"])
        sf_sb.reject_writes(leads[3])
        sf_sb.lock_rows(ids=[leads[4]])
        records = [
            lead_update(leads[0], Rating="Hot"),
            lead_update(leads[1], Foo__c="x"),
            lead_update(leads[2], Status="Qualified!"),
            lead_update(leads[3], Rating="Warm"),
            lead_update(leads[4], Rating="Warm"),
            lead_update(converted, Rating="Warm"),
            lead_update(deleted, Rating="Warm"),
            lead_update(leads[5], IsConverted=True),
            lead_update(leads[6], Email="nope"),
            lead_update("003" + leads[7][3:], Rating="Warm"),
        ]
        resp = sf_api.patch("composite/sobjects", json={"allOrNone": False, "records": records})
        results = resp.json()
        assert resp.status_code == 200 and len(results) == len(records)
        assert results[0] == {"id": leads[0], "success": True, "errors": []}
        assert [errors(r) for r in results[1:]] == [
            ["INVALID_FIELD"],
            ["INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"],
            ["FIELD_CUSTOM_VALIDATION_EXCEPTION"],
            ["UNABLE_TO_LOCK_ROW"],
            ["CANNOT_UPDATE_CONVERTED_LEAD"],
            ["ENTITY_IS_DELETED"],
            ["INVALID_FIELD_FOR_INSERT_UPDATE"],
            ["INVALID_EMAIL_ADDRESS"],
            ["MALFORMED_ID"],
        ]
        assert sf_sb.records("Lead")[leads[0]]["Rating"] == "Hot"
        sf_sb.lock_rows(n=1)
        locked = sf_api.patch(
            "composite/sobjects", json={"records": [lead_update(leads[8], Rating="Cold")] * 2}
        )
        assert [r["success"] for r in locked.json()] == [False, True]  # only the next write

    def test_all_or_none_rolls_everything_back(self, sf_sb: SalesforceSandbox, sf_api: Api) -> None:
        leads = open_leads(sf_sb)
        before = {r["Id"]: r["Rating"] for r in leads[:3]}
        records = [lead_update(leads[0]["Id"], Rating="Hot"), lead_update(leads[1]["Id"], Status="Bad")]
        records.append(lead_update(leads[2]["Id"], Rating="Hot"))
        results = sf_api.patch("composite/sobjects", json={"allOrNone": True, "records": records}).json()
        assert [errors(r) for r in results] == [
            ["ALL_OR_NONE_OPERATION_ROLLED_BACK"],
            ["INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"],
            ["ALL_OR_NONE_OPERATION_ROLLED_BACK"],
        ]
        assert {rid: sf_sb.records("Lead")[rid]["Rating"] for rid in before} == before

    def test_request_level_refusals(self, sf_sb: SalesforceSandbox, sf_api: Api) -> None:
        lead = open_leads(sf_sb)[0]["Id"]
        rating = sf_sb.records("Lead")[lead]["Rating"]
        too_many = sf_api.patch(
            "composite/sobjects", json={"records": [lead_update(lead, Rating="Hot")] * 201}
        )
        assert (too_many.status_code, error_code(too_many)) == (400, "EXCEEDED_ID_LIMIT")
        bad_type = [lead_update(lead, Rating="Hot"), lead_update(lead, NumberOfEmployees="lots")]
        parse = sf_api.patch("composite/sobjects", json={"records": bad_type})
        assert (parse.status_code, error_code(parse)) == (400, "JSON_PARSER_ERROR")
        assert sf_sb.records("Lead")[lead]["Rating"] == rating  # not even the good record was saved

    def test_create_retrieve_delete(self, sf_sb: SalesforceSandbox, sf_api: Api) -> None:
        new = [
            {"attributes": {"type": "Lead"}, "LastName": "Peña", "Company": "Logitrans"},
            {"attributes": {"type": "Lead"}, "LastName": "Solo"},
            {"attributes": {"type": "Task"}, "Subject": "Intro call", "WhoId": open_leads(sf_sb)[0]["Id"]},
        ]
        results = sf_api.post("composite/sobjects", json={"records": new}).json()
        assert [r["success"] for r in results] == [True, False, True] and errors(results[1]) == [
            "REQUIRED_FIELD_MISSING"
        ]
        ids = f"{results[0]['id']},{results[2]['id'][:3]}5g00000AAAAAAAA"
        got = sf_api.get("composite/sobjects/Lead", params={"ids": ids, "fields": "Id,LastName"}).json()
        assert got[0]["LastName"] == "Peña" and got[1] is None
        gone = sf_api.delete("composite/sobjects", params={"ids": results[0]["id"]}).json()
        assert gone == [{"id": results[0]["id"], "success": True, "errors": []}]


class TestAssignmentAndRollups:
    """The Lead assignment rule and Sforce-Auto-Assign; activity roll-ups; manual edits."""

    def test_the_rule_runs_unless_the_header_says_false(self, sf_sb: SalesforceSandbox, sf_api: Api) -> None:
        queue = sf_sb.queues()["Inbound Leads"]
        owned = [r["Id"] for r in open_leads(sf_sb) if r["OwnerId"].startswith("005")][:3]
        sf_api.patch("composite/sobjects", json={"records": [lead_update(owned[0], Rating="Hot")]})
        sf_api.patch(
            "composite/sobjects",
            json={"records": [lead_update(owned[1], Rating="Hot")]},
            headers={"Sforce-Auto-Assign": "false"},
        )
        sf_api.patch(
            f"sobjects/Lead/{owned[2]}", json={"Rating": "Hot"}, headers={"Sforce-Auto-Assign": "FALSE"}
        )
        leads = sf_sb.records("Lead")
        assert leads[owned[0]]["OwnerId"] == queue  # re-assigned: the header was missing
        assert leads[owned[1]]["OwnerId"].startswith("005") and leads[owned[2]]["OwnerId"].startswith("005")
        assert sf_sb.stats()["auto_assign"] == {
            "PATCH /services/data/vXX.X/composite/sobjects: absent": 1,
            "PATCH /services/data/vXX.X/composite/sobjects: FALSE": 1,
            "PATCH /services/data/vXX.X/sobjects/Lead/{id}: FALSE": 1,
        }
        created = sf_api.post("sobjects/Lead", json={"LastName": "New", "Company": "Co"}).json()["id"]
        assert sf_sb.records("Lead")[created]["OwnerId"] == queue

    def test_a_task_rolls_up_into_its_lead(self, sf_sb: SalesforceSandbox, sf_api: Api) -> None:
        lead = open_leads(sf_sb)[0]
        sf_sb.advance(60)
        body = {"Subject": "Call", "WhoId": lead["Id"], "Status": "Completed", "ActivityDate": "2026-11-23"}
        assert (
            sf_api.post("sobjects/Task", json=body, headers={"Sforce-Auto-Assign": "FALSE"}).status_code
            == 201
        )
        after = sf_sb.records("Lead")[lead["Id"]]
        assert (
            after["SystemModstamp"] > lead["SystemModstamp"]
            and after["LastActivityDate"].isoformat() == "2026-11-23"
        )
        assert (after["LastModifiedDate"], after["OwnerId"]) == (lead["LastModifiedDate"], lead["OwnerId"])

    def test_manual_edits_and_automation(self, sf_sb: SalesforceSandbox) -> None:
        lead = open_leads(sf_sb)[0]
        sf_sb.advance(5)
        sf_sb.set_field("Lead", lead["Id"], "Rating", "Warm")
        edited = sf_sb.records("Lead")[lead["Id"]]
        person = lead["OwnerId"] if lead["OwnerId"] in {u["Id"] for u in sf_sb.users(active=True)} else None
        assert edited["LastModifiedDate"] > lead["LastModifiedDate"]
        assert edited["LastModifiedById"] == (person or sf_sb.org.admin_user) != sf_sb.org.api_user
        sf_sb.advance(5)
        sf_sb.touch_system(lead["Id"])
        touched = sf_sb.records("Lead")[lead["Id"]]
        assert (
            touched["SystemModstamp"] > edited["SystemModstamp"]
            and touched["LastModifiedDate"] == edited["LastModifiedDate"]
        )


class TestBulk:
    """Bulk API 2.0 ingest: a job's life, per-row results, refusals; through simple-salesforce too."""

    def _job(self, api: Api, **body: Any) -> dict[str, Any]:
        resp = api.post(
            "jobs/ingest", json={"object": "Lead", "contentType": "CSV", "lineEnding": "LF", **body}
        )
        assert resp.status_code == 200, resp.text
        return dict(resp.json())

    def _wait(self, api: Api, job: str) -> dict[str, Any]:
        seen = []
        for _ in range(100):
            info = api.get(f"jobs/ingest/{job}").json()
            seen.append(info["state"])
            if info["state"] in ("JobComplete", "Failed", "Aborted"):
                return {**info, "seen": seen}
            time.sleep(0.02)
        raise AssertionError(seen)

    def test_update_job_lifecycle_and_results(self, sf_sb: SalesforceSandbox, sf_api: Api) -> None:
        leads = [r["Id"] for r in open_leads(sf_sb)[:3]]
        job = self._job(sf_api, operation="update")
        assert job["state"] == "Open" and job["id"].startswith("750")
        rows = [f"{leads[0]},Hot,,", f"{leads[1]},,Nope,", f"{leads[2]},#N/A,,many"]
        data = "\n".join(["Id,Rating,Status,NumberOfEmployees", *rows]) + "\n"
        put = sf_api.call(
            "PUT", f"jobs/ingest/{job['id']}/batches", data=data, headers={"Content-Type": "text/csv"}
        )
        assert put.status_code == 201
        employees = sf_sb.records("Lead")[leads[0]]["NumberOfEmployees"]
        closed = sf_api.patch(f"jobs/ingest/{job['id']}", json={"state": "UploadComplete"})
        assert closed.json()["state"] == "UploadComplete"
        info = self._wait(sf_api, job["id"])
        assert "InProgress" in info["seen"] and (
            info["numberRecordsProcessed"],
            info["numberRecordsFailed"],
        ) == (3, 2)
        ok = list(csv.reader(io.StringIO(sf_api.get(f"jobs/ingest/{job['id']}/successfulResults/").text)))
        assert ok[0] == ["sf__Id", "sf__Created", "Id", "Rating", "Status", "NumberOfEmployees"]
        assert ok[1][:2] == [leads[0], "false"]
        failed = list(csv.DictReader(io.StringIO(sf_api.get(f"jobs/ingest/{job['id']}/failedResults/").text)))
        assert [f["sf__Error"].split(":")[0] for f in failed] == [
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            "INVALID_TYPE_ON_FIELD_IN_RECORD",
        ]
        lead0 = sf_sb.records("Lead")[leads[0]]
        assert lead0["Rating"] == "Hot" and lead0["NumberOfEmployees"] == employees  # empty cell: unchanged
        again = sf_api.call(
            "PUT", f"jobs/ingest/{job['id']}/batches", data=data, headers={"Content-Type": "text/csv"}
        )
        assert again.status_code == 409
        assert sf_api.delete(f"jobs/ingest/{job['id']}").status_code == 204
        assert sf_api.get(f"jobs/ingest/{job['id']}").status_code == 404
        assert sf_sb.stats()["by_endpoint"]["GET /services/data/vXX.X/jobs/ingest/{id}"] >= 2

    def test_upsert_abort_and_unknown_columns(self, sf_sb: SalesforceSandbox, sf_api: Api) -> None:
        assert sf_api.post("tooling/sobjects/CustomField", json={
            "FullName": "Lead.Ext_Key__c",
            "Metadata": {"label": "Ext", "type": "Text", "length": 40, "externalId": True, "unique": True},
        }).status_code == 201  # fmt: skip
        grant(sf_api, "Lead.Ext_Key__c")
        job = self._job(sf_api, operation="upsert", externalIdFieldName="Ext_Key__c")
        data = "Ext_Key__c,LastName,Company\nk1,Alpha,A Co\nk2,Beta,\n"
        sf_api.call(
            "PUT", f"jobs/ingest/{job['id']}/batches", data=data, headers={"Content-Type": "text/csv"}
        )
        sf_api.patch(f"jobs/ingest/{job['id']}", json={"state": "UploadComplete"})
        info = self._wait(sf_api, job["id"])
        assert (info["state"], info["numberRecordsFailed"]) == ("JobComplete", 1)  # Beta lacks a Company
        ok = list(csv.DictReader(io.StringIO(sf_api.get(f"jobs/ingest/{job['id']}/successfulResults").text)))
        assert [(r["Ext_Key__c"], r["sf__Created"]) for r in ok] == [("k1", "true")]
        missing = sf_api.post("jobs/ingest", json={"object": "Lead", "operation": "upsert"})
        assert error_code(missing) == "INVALIDJOB"
        bad = self._job(sf_api, operation="update")
        sf_api.call(
            "PUT",
            f"jobs/ingest/{bad['id']}/batches",
            data="Id,Nope__c\nx,y\n",
            headers={"Content-Type": "text/csv"},
        )
        sf_api.patch(f"jobs/ingest/{bad['id']}", json={"state": "UploadComplete"})
        failed = self._wait(sf_api, bad["id"])
        assert (failed["state"], failed["errorMessage"]) == (
            "Failed",
            "InvalidBatch : Field name not found : Nope__c",
        )
        aborted = self._job(sf_api, operation="update")
        sf_api.call(
            "PUT",
            f"jobs/ingest/{aborted['id']}/batches",
            data="Id,Rating\nx,Hot\n",
            headers={"Content-Type": "text/csv"},
        )
        assert (
            sf_api.patch(f"jobs/ingest/{aborted['id']}", json={"state": "Aborted"}).json()["state"]
            == "Aborted"
        )
        assert (
            sf_api.get(f"jobs/ingest/{aborted['id']}/unprocessedrecords").text.splitlines()[1] == '"x","Hot"'
        )

    def test_simple_salesforce_bulk2(self, sf_sb: SalesforceSandbox, sf_api: Api) -> None:
        sf = Salesforce(instance_url=sf_sb.url, session_id=sf_api.bearer, version=V, session=sf_sb.session())
        leads = [r["Id"] for r in open_leads(sf_sb)[:2]]
        summary = sf.bulk2.Lead.update(
            records=[{"Id": leads[0], "Rating": "Cold"}, {"Id": leads[1], "Status": "X"}], wait=0.05
        )
        assert (summary[0]["numberRecordsProcessed"], summary[0]["numberRecordsFailed"]) == (2, 1)
        failed = sf.bulk2.Lead.get_failed_records(summary[0]["job_id"])
        assert "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" in failed
        assert sf_sb.records("Lead")[leads[0]]["Rating"] == "Cold"


class TestToolingAndFieldSecurity:
    """leadsync setup's path: CustomField through the Tooling API, then field-level security."""

    def test_metadata_is_one_row_at_a_time(self, sf_api: Api) -> None:
        base = "SELECT Id, DeveloperName, TableEnumOrId, FullName, Metadata FROM CustomField"
        base += " WHERE TableEnumOrId = 'Lead'"
        many = sf_api.get("tooling/query", params={"q": base})
        assert error_code(many) == "MALFORMED_QUERY" and "no more than one row" in many.json()[0]["message"]
        one = sf_api.get("tooling/query", params={"q": base + " AND DeveloperName = 'Budget_Status'"}).json()
        assert one["size"] == 1 and one["entityTypeName"] == "CustomField"
        meta = one["records"][0]["Metadata"]
        assert meta["type"] == "Picklist" and meta["valueSet"]["restricted"]
        names = sf_api.get(
            "tooling/query",
            params={"q": "SELECT Id, DeveloperName FROM CustomField WHERE TableEnumOrId = 'Lead'"},
        )
        assert {r["DeveloperName"] for r in names.json()["records"]} == {
            "Budget_Status",
            "Buying_Role",
            "Need",
            "Timeline",
        }
        assert error_code(sf_api.query("SELECT Id FROM CustomField")) == "INVALID_TYPE"

    def test_a_new_field_is_hidden_until_a_permission_set_grants_it(
        self, sf_sb: SalesforceSandbox, sf_api: Api
    ) -> None:
        created = sf_api.post("tooling/sobjects/CustomField", json=SCORE)
        assert created.status_code == 201 and created.json()["id"].startswith("00N")
        lead = open_leads(sf_sb)[0]["Id"]

        def described() -> dict[str, Any]:
            return {f["name"]: f for f in sf_api.get("sobjects/Lead/describe").json()["fields"]}

        assert "Leadsync_Score__c" not in described()
        assert error_code(sf_api.query("SELECT Leadsync_Score__c FROM Lead")) == "INVALID_FIELD"
        write = sf_api.patch(
            "composite/sobjects", json={"records": [lead_update(lead, Leadsync_Score__c=80)]}
        )
        assert errors(write.json()[0]) == ["INVALID_FIELD"]
        grant(sf_api, "Lead.Leadsync_Score__c", edit=False)
        assert not described()["Leadsync_Score__c"]["updateable"]
        write = sf_api.patch(
            "composite/sobjects", json={"records": [lead_update(lead, Leadsync_Score__c=80)]}
        )
        assert errors(write.json()[0]) == ["INVALID_FIELD_FOR_INSERT_UPDATE"]
        grant(sf_api, "Lead.Leadsync_Score__c", name="Leadsync_Edit")
        field = described()["Leadsync_Score__c"]
        assert (field["type"], field["precision"], field["updateable"], field["custom"]) == (
            "double",
            5,
            True,
            True,
        )
        write = sf_api.patch(
            "composite/sobjects", json={"records": [lead_update(lead, Leadsync_Score__c=80.4)]}
        )
        assert write.json()[0]["success"] and sf_sb.records("Lead")[lead]["Leadsync_Score__c"] == 80
        assert (
            sf_api.records(f"SELECT Leadsync_Score__c FROM Lead WHERE Id = '{lead}'")[0]["Leadsync_Score__c"]
            == 80
        )
        too_big = sf_api.patch(
            "composite/sobjects", json={"records": [lead_update(lead, Leadsync_Score__c=123456)]}
        )
        assert errors(too_big.json()[0]) == ["NUMBER_OUTSIDE_VALID_RANGE"]
        dupe = sf_api.post("tooling/sobjects/CustomField", json=SCORE)
        assert error_code(dupe) == "DUPLICATE_DEVELOPER_NAME"
        perms = sf_api.records(
            "SELECT Field, PermissionsRead, PermissionsEdit, Parent.Name FROM FieldPermissions"
        )
        assert {(p["Parent"]["Name"], p["PermissionsEdit"]) for p in perms} == {
            ("Leadsync_Fields", False),
            ("Leadsync_Edit", True),
        }

    def test_picklist_values_change_and_customize_application(
        self, sf_sb: SalesforceSandbox, sf_api: Api
    ) -> None:
        reason = {"FullName": "Lead.Leadsync_Reason__c", "Metadata": {
            "label": "Reason", "type": "Picklist",
            "valueSet": {"restricted": True, "valueSetDefinition": {"sorted": False, "value": [
                {"fullName": "fit", "label": "Fit", "default": False}]}},
        }}  # fmt: skip
        rid = sf_api.post("tooling/sobjects/CustomField", json=reason).json()["id"]
        grant(sf_api, "Lead.Leadsync_Reason__c")
        reason["Metadata"]["valueSet"]["valueSetDefinition"]["value"].append(
            {"fullName": "intent", "label": "Intent"}
        )  # type: ignore[index]
        assert (
            sf_api.patch(
                f"tooling/sobjects/CustomField/{rid}", json={"Metadata": reason["Metadata"]}
            ).status_code
            == 204
        )
        fields = {f["name"]: f for f in sf_api.get("sobjects/Lead/describe").json()["fields"]}
        assert [p["value"] for p in fields["Leadsync_Reason__c"]["picklistValues"]] == ["fit", "intent"]
        assert (
            sf_api.get(f"tooling/sobjects/CustomField/{rid}").json()["FullName"] == "Lead.Leadsync_Reason__c"
        )
        bad = sf_api.post(
            "tooling/sobjects/CustomField",
            json={"FullName": "Lead.N__c", "Metadata": {"label": "N", "type": "Number"}},
        )
        assert error_code(bad) == "FIELD_INTEGRITY_EXCEPTION"
        sf_sb.set_metadata_access(False)
        refused = sf_api.post("tooling/sobjects/CustomField", json=SCORE)
        assert (refused.status_code, error_code(refused)) == (403, "INSUFFICIENT_ACCESS_OR_READONLY")

    def test_back_door_field_access_and_fls_off(self, sf_sb: SalesforceSandbox, sf_api: Api) -> None:
        sf_sb.set_field_access("Lead", "Rating", "read")
        fields = {f["name"]: f for f in sf_api.get("sobjects/Lead/describe").json()["fields"]}
        assert not fields["Rating"]["updateable"]
        lead = open_leads(sf_sb)[0]["Id"]
        resp = sf_api.patch(f"sobjects/Lead/{lead}", json={"Rating": "Hot"})
        assert error_code(resp) == "INVALID_FIELD_FOR_INSERT_UPDATE"
        sf_sb.revoke_field("Lead", "Rating")
        assert error_code(sf_api.query("SELECT Rating FROM Lead")) == "INVALID_FIELD"
        sf_sb.set_fls(False)
        sf_api.post("tooling/sobjects/CustomField", json=SCORE)
        assert sf_api.query("SELECT Leadsync_Score__c FROM Lead LIMIT 1").status_code == 200


class TestConversion:
    """convert_lead: contact, account, custom fields, activities and memberships move."""

    def test_convert_moves_everything_to_the_contact(self, sf_sb: SalesforceSandbox, sf_api: Api) -> None:
        for obj in ("Lead", "Contact"):
            score = {"FullName": f"{obj}.Leadsync_Score__c", "Metadata": SCORE["Metadata"]}
            assert sf_api.post("tooling/sobjects/CustomField", json=score).status_code == 201
            grant(sf_api, f"{obj}.Leadsync_Score__c")
        tasks = sf_sb.records("Task").values()
        lead = next(
            r
            for r in open_leads(sf_sb)
            if any(t["WhoId"] == r["Id"] for t in tasks) and r["Company"] != "[not provided]"
        )
        sf_api.patch(
            f"sobjects/Lead/{lead['Id']}",
            json={"Leadsync_Score__c": 91, "Budget_Status__c": "approved"},
            headers={"Sforce-Auto-Assign": "FALSE"},
        )
        camp = next(iter(sf_sb.records("Campaign")))
        sf_api.post(
            "sobjects/CampaignMember", json={"CampaignId": camp, "LeadId": lead["Id"], "Status": "Sent"}
        )
        ids = sf_sb.convert_lead(lead["Id"])
        after = sf_sb.records("Lead")[lead["Id"]]
        contact = sf_sb.records("Contact")[ids["ContactId"]]
        assert (
            after["IsConverted"]
            and after["Status"] == "Closed - Converted"
            and after["ConvertedDate"] == sf_sb.org.now().date()
        )
        assert (after["ConvertedContactId"], after["ConvertedAccountId"]) == (
            ids["ContactId"],
            ids["AccountId"],
        )
        assert (contact["Email"], contact["Leadsync_Score__c"], contact["Budget_Status__c"]) == (
            lead["Email"],
            91,
            "approved",
        )
        assert (
            contact["MailingCountry"] == lead["Country"]
            and sf_sb.records("Account")[ids["AccountId"]]["Name"] == lead["Company"]
        )
        assert not any(t["WhoId"] == lead["Id"] for t in sf_sb.records("Task").values())
        member = next(m for m in sf_sb.records("CampaignMember").values() if m["LeadId"] == lead["Id"])
        assert member["ContactId"] == ids["ContactId"]
        rows = sf_api.records(f"SELECT ConvertedContact.Email FROM Lead WHERE Id = '{lead['Id']}'")
        assert rows[0]["ConvertedContact"]["Email"] == lead["Email"]


class TestDemo:
    """demo_org for ``leadsync demo`` and the command line."""

    def test_demo_org_options_log_in(self) -> None:
        with demo_org(contacts=40, seed=7) as portal:
            sb = portal["sandbox"]
            opts = portal["options"]
            assert (portal["adapter"], opts["auth"], opts["login_url"]) == (
                "salesforce",
                "client_credentials",
                sb.url,
            )
            form = {
                "grant_type": "client_credentials",
                "client_id": opts["client_id"],
                "client_secret": opts["token"],
            }
            assert requests.post(opts["login_url"] + "/services/oauth2/token", data=form, timeout=10).ok
            assert "40 leads" in portal["describe"] and all(o.startswith("005") for o in portal["owners"])
            assert sb.org.api_user not in portal["owners"]

    def test_command_line_prints_url_and_credentials(self) -> None:
        proc = subprocess.Popen(
            [sys.executable, "-m", "adapters.salesforce.sandbox", "--port", "0", "--leads", "20"],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()
            creds = proc.stdout.readline()
            assert (
                first.startswith("Salesforce sandbox listening on http://127.0.0.1:") and "client_id" in creds
            )
            url = first.split()[4]
            assert (
                requests.post(
                    url + "/services/oauth2/token", data={"grant_type": "client_credentials"}, timeout=10
                ).status_code
                == 400
            )
        finally:
            proc.terminate()
            proc.wait(timeout=10)
