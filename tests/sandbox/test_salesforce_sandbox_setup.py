"""The Salesforce sandbox: Bulk API 2.0 ingest, the Tooling API and field-level security (what
``leadsync setup`` does), lead conversion, the demo org and the command line."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import time
from typing import Any

import requests

from leadsync.sandboxes.salesforce.sandbox import SalesforceSandbox, demo_org
from tests.sandbox.sf_support import (
    SCORE,
    Api,
    error_code,
    errors,
    grant,
    lead_update,
    open_leads,
    sf_client,
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
        sf_sb.set_bulk_delay(0.5)  # long enough to see InProgress however busy the machine is
        try:
            closed = sf_api.patch(f"jobs/ingest/{job['id']}", json={"state": "UploadComplete"})
            assert closed.json()["state"] == "UploadComplete"
            info = self._wait(sf_api, job["id"])
        finally:
            sf_sb.set_bulk_delay(0.05)
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
        sf = sf_client(sf_sb, sf_api.bearer)
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
            [sys.executable, "-m", "leadsync.sandboxes.salesforce", "--port", "0", "--leads", "20"],
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
