"""The Salesforce sandbox's writes: one-record CRUD and upsert, deletes, sObject Collections, the
Lead assignment rule and Sforce-Auto-Assign, activity roll-ups, manual edits."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from leadsync.sandboxes.salesforce.sandbox import SalesforceSandbox
from tests.sandbox.sf_support import (
    Api,
    error_code,
    errors,
    grant,
    lead_update,
    open_leads,
    sf_client,
)


def task_key_field(api: Api) -> None:
    """What ``leadsync setup`` makes: ``Task.Leadsync_Key__c``, External ID and Unique, editable."""
    meta = {"label": "Key", "type": "Text", "length": 80, "externalId": True, "unique": True}
    key = {"FullName": "Task.Leadsync_Key__c", "Metadata": meta}
    assert api.post("tooling/sobjects/CustomField", json=key).status_code == 201
    grant(api, "Task.Leadsync_Key__c")


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
        task_key_field(sf_api)
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
        sf = sf_client(sf_sb, sf_api.bearer)
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

    def test_create_with_a_unique_key(self, sf_sb: SalesforceSandbox, sf_api: Api) -> None:
        """POST: a key a saved task or an earlier record of the request holds is refused alone."""
        task_key_field(sf_api)
        lead = open_leads(sf_sb)[0]["Id"]
        inactive = sf_sb.users(active=False)[0]["Id"]
        made = sf_api.post("sobjects/Task", json={"Subject": "Call", "WhoId": lead, "Leadsync_Key__c": "k1"})

        def task(key: str, **more: Any) -> dict[str, Any]:
            return {
                "attributes": {"type": "Task"},
                "Subject": "Call",
                "WhoId": lead,
                "Leadsync_Key__c": key,
                **more,
            }

        records = [task("k2"), task("k1"), task("k3", OwnerId=inactive), task("k2"), task("k4")]
        before = sf_sb.stats()["api_usage"]
        resp = sf_api.post("composite/sobjects", json={"allOrNone": False, "records": records})
        results = resp.json()
        assert resp.status_code == 200 and sf_sb.stats()["api_usage"]["used"] == before["used"] + 1
        assert [errors(r) or r["success"] for r in results] == [
            True,
            ["DUPLICATE_VALUE"],
            ["INACTIVE_OWNER_OR_USER"],
            ["DUPLICATE_VALUE"],
            True,
        ]
        assert made.json()["id"] in results[1]["errors"][0]["message"]

        def keys() -> dict[str, str]:
            return {
                t["Leadsync_Key__c"]: rid
                for rid, t in sf_sb.records("Task").items()
                if t.get("Leadsync_Key__c")
            }

        assert keys() == {"k1": made.json()["id"], "k2": results[0]["id"], "k4": results[4]["id"]}
        both = [task("k5"), task("k5")]
        together = sf_api.post("composite/sobjects", json={"allOrNone": True, "records": both})
        assert [errors(r) for r in together.json()] == [
            ["ALL_OR_NONE_OPERATION_ROLLED_BACK"],
            ["DUPLICATE_VALUE"],
        ]
        too_many = sf_api.post("composite/sobjects", json={"records": [task(f"n{i}") for i in range(201)]})
        assert (too_many.status_code, error_code(too_many)) == (400, "EXCEEDED_ID_LIMIT")
        assert set(keys()) == {"k1", "k2", "k4"}, "nothing saved by the refused requests"


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
