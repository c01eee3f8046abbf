"""Writing to the Zoho sandbox: per-record results (200/207/400), Zoho's item codes, 100 records
per call, triggers and workflows, tasks with a unique key, creating custom fields."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from leadsync.sandboxes.zoho.sandbox import ZohoSandbox
from tests.sandbox.zoho_support import NOW, Api, access_token, api_for, open_leads


@pytest.fixture
def zsb() -> Iterator[ZohoSandbox]:
    with ZohoSandbox(seed=7, leads=60, now=NOW) as sb:
        yield sb


@pytest.fixture
def api(zsb: ZohoSandbox) -> Api:
    return Api(zsb, access_token(zsb))


def codes(body: dict[str, Any]) -> list[str]:
    return [item["code"] for item in body["data"]]


class TestUpdate:
    def test_all_good_is_200_and_stamps_move(self, zsb: ZohoSandbox, api: Api) -> None:
        lead = open_leads(zsb)[0]
        rep = next(u["id"] for u in zsb.users() if zsb.org.active(u["id"]) and u["id"] != lead["Owner"])
        zsb.advance(30)
        resp = api.put("Leads", json={"data": [{"id": lead["id"], "Owner": {"id": rep}}], "trigger": []})
        assert resp.status_code == 200
        item = resp.json()["data"][0]
        assert (item["code"], item["message"], item["status"]) == ("SUCCESS", "record updated", "success")
        assert item["details"]["Modified_By"]["id"] == zsb.org.api_user
        assert lead["Owner"] == rep and lead["Modified_Time"] > NOW
        before = lead["Modified_Time"]
        zsb.advance(5)
        api.put(f"Leads/{lead['id']}", json={"data": [{"Rating": "Active"}], "trigger": []})
        assert lead["Modified_Time"] > before and lead["Rating"] == "Active"

    def test_mixed_is_207_and_all_bad_is_400(self, zsb: ZohoSandbox, api: Api) -> None:
        a, b, c = (r["id"] for r in open_leads(zsb)[:3])
        inactive = next(u["id"] for u in zsb.users() if u["status"] == "disabled")
        zsb.lock("Leads", c)
        data = [
            {"id": a, "Lead_Status": "Contacted"},
            {"id": b, "Lead_Status": "Hot"},
            {"id": a, "Owner": {"id": inactive}},
            {"id": c, "Rating": "Active"},
            {"id": "5725767999999999999"},
            {"id": a, "Last_Name": ""},
            {"id": a, "No_of_Employees": "many"},
        ]
        resp = api.put("Leads", json={"data": data, "trigger": []})
        assert resp.status_code == 207
        body = resp.json()
        assert codes(body) == [
            "SUCCESS",
            "INVALID_DATA",
            "INVALID_DATA",
            "RECORD_LOCKED",
            "INVALID_DATA",
            "MANDATORY_NOT_FOUND",
            "INVALID_DATA",
        ]
        assert body["data"][1]["message"] == "picklist not found in record layout"
        assert body["data"][1]["details"] == {"api_name": "Lead_Status", "json_path": "$.data[1].Lead_Status"}
        assert body["data"][2]["details"]["json_path"] == "$.data[2].Owner.id"
        assert body["data"][6]["details"]["expected_data_type"] == "integer"
        all_bad = api.put("Leads", json={"data": [{"id": b, "Lead_Status": "Hot"}]})
        assert all_bad.status_code == 400 and codes(all_bad.json()) == ["INVALID_DATA"]

    def test_converted_leads_and_unknown_keys(self, zsb: ZohoSandbox, api: Api) -> None:
        lead = open_leads(zsb)[0]["id"]
        ok = api.put("Leads", json={"data": [{"id": lead, "Not_A_Field": 1, "Created_Time": "x"}]})
        assert ok.status_code == 200  # Zoho ignores keys it does not know and fields it sets
        zsb.convert_lead(lead)
        resp = api.put("Leads", json={"data": [{"id": lead, "Rating": "Active"}]})
        assert codes(resp.json()) == ["CONVERTED_RECORD"]

    def test_at_most_100_records(self, zsb: ZohoSandbox, api: Api) -> None:
        lead = open_leads(zsb)[0]["id"]
        resp = api.put("Leads", json={"data": [{"id": lead}] * 101})
        assert resp.status_code == 400
        assert resp.json()["code"] == "LIMIT_EXCEEDED" and resp.json()["details"] == {"limit": 100}
        empty = api.put("Leads", json={"trigger": []})
        assert (empty.status_code, empty.json()["code"]) == (400, "MANDATORY_NOT_FOUND")


class TestTriggers:
    def test_the_store_logs_whether_workflows_fired(self, zsb: ZohoSandbox, api: Api) -> None:
        a, b = (r["id"] for r in open_leads(zsb)[:2])
        zsb.set_workflow_rule("Leads", "Rating", "Market Failed")
        api.put("Leads", json={"data": [{"id": a, "Description": "quiet"}], "trigger": []})
        api.put("Leads", json={"data": [{"id": b, "Description": "loud"}]})
        log = zsb.writes()
        assert [(w.ids, w.trigger, w.workflows) for w in log] == [([a], [], False), ([b], None, True)]
        assert zsb.record("Leads", a)["Rating"] != "Market Failed"
        assert zsb.record("Leads", b)["Rating"] == "Market Failed"


class TestTasks:
    def test_create_linked_task_201_and_unique_key(self, zsb: ZohoSandbox, api: Api) -> None:
        made = api.post(
            "settings/fields",
            params={"module": "Tasks"},
            json={
                "fields": [
                    {"field_label": "Leadsync Key", "data_type": "text", "unique": {"casesensitive": "false"}}
                ]
            },
        )
        assert made.status_code == 201 and made.json()["fields"][0]["code"] == "SUCCESS"
        lead = open_leads(zsb)[0]["id"]
        task = {"Subject": "Call back", "What_Id": {"id": lead}, "$se_module": "Leads", "Leadsync_Key": "K-1"}
        first = api.post("Tasks", json={"data": [task], "trigger": []})
        assert first.status_code == 201 and first.json()["data"][0]["message"] == "record added"
        tid = first.json()["data"][0]["details"]["id"]
        got = api.get(f"Tasks/{tid}").json()["data"][0]
        assert got["What_Id"]["id"] == lead and got["$se_module"] == "Leads" and got["Leadsync_Key"] == "K-1"
        again = api.post("Tasks", json={"data": [{**task, "Leadsync_Key": "k-1"}], "trigger": []})
        assert again.status_code == 400
        dup = again.json()["data"][0]
        assert dup["code"] == "DUPLICATE_DATA" and dup["details"]["duplicate_record"]["id"] == tid
        assert dup["details"]["api_name"] == "Leadsync_Key"

    def test_many_tasks_in_one_insert_each_answered_in_order(self, zsb: ZohoSandbox, api: Api) -> None:
        """Up to 100 records an insert, each its own result: 201 all made, 207 some, 400 none."""
        key_field = {"field_label": "Leadsync Key", "data_type": "text", "unique": {"casesensitive": "true"}}
        assert api.post("settings/fields", params={"module": "Tasks"}, json={"fields": [key_field]}).ok
        leads = [r["id"] for r in open_leads(zsb)[:3]]
        contact = next(iter(zsb.records("Contacts")))

        def on(lead: str, key: str) -> dict[str, Any]:
            return {"Subject": "Call", "What_Id": {"id": lead}, "$se_module": "Leads", "Leadsync_Key": key}

        old = api.post("Tasks", json={"data": [on(leads[0], "old")], "trigger": []}).json()["data"][0]
        credits = zsb.stats()["credits"]["used"]
        data = [
            on(leads[0], "a"),
            {"Subject": "Call", "Who_Id": {"id": contact}, "Leadsync_Key": "b"},
            on(leads[1], "old"),
            on("5725767999999999999", "c"),
            on(leads[2], "a"),
        ]
        resp = api.post("Tasks", json={"data": data, "trigger": []})
        assert resp.status_code == 207
        items = resp.json()["data"]
        assert codes(resp.json()) == [
            "SUCCESS",
            "SUCCESS",
            "DUPLICATE_DATA",
            "INVALID_DATA",
            "DUPLICATE_DATA",
        ]
        assert items[2]["details"]["duplicate_record"]["id"] == old["details"]["id"]
        assert items[4]["details"]["duplicate_record"]["id"] == items[0]["details"]["id"], "same call"
        assert items[3]["details"]["json_path"] == "$.data[3].What_Id"
        assert zsb.stats()["credits"]["used"] - credits == 1, "1 credit per 10 records"
        made = sorted(
            str(t.get("Leadsync_Key")) for t in zsb.records("Tasks").values() if t.get("Leadsync_Key")
        )
        assert made == ["a", "b", "old"]
        assert api.post("Tasks", json={"data": [on(leads[0], "d"), on(leads[1], "e")]}).status_code == 201
        assert api.post("Tasks", json={"data": [on(leads[0], "d"), on(leads[1], "old")]}).status_code == 400
        too_many = [on(leads[0], f"k{i}") for i in range(101)]
        assert api.post("Tasks", json={"data": too_many}).json()["code"] == "LIMIT_EXCEEDED"

    def test_mandatory_and_bad_lookup(self, api: Api) -> None:
        resp = api.post("Tasks", json={"data": [{"Due_Date": "2026-12-01"}]})
        assert codes(resp.json()) == ["MANDATORY_NOT_FOUND"]
        assert resp.json()["data"][0]["details"]["api_name"] == "Subject"
        bad = api.post("Tasks", json={"data": [{"Subject": "x", "What_Id": "1", "$se_module": "Leads"}]})
        assert codes(bad.json()) == ["INVALID_DATA"]


class TestCustomFields:
    def test_picklist_field_then_written_and_described(self, zsb: ZohoSandbox, api: Api) -> None:
        body = {
            "fields": [
                {
                    "field_label": "Leadsync Stage",
                    "data_type": "picklist",
                    "pick_list_values": [{"display_value": v, "actual_value": v} for v in ("MQL", "SQL")],
                },
                {"field_label": "Leadsync Score", "data_type": "integer"},
            ]
        }
        assert api.post("settings/fields", params={"module": "Leads"}, json=body).status_code == 201
        fields = {
            f["api_name"]: f for f in api.get("settings/fields", params={"module": "Leads"}).json()["fields"]
        }
        stage = fields["Leadsync_Stage"]
        assert stage["custom_field"] and [p["actual_value"] for p in stage["pick_list_values"]] == [
            "-None-",
            "MQL",
            "SQL",
        ]
        lead = open_leads(zsb)[0]["id"]
        resp = api.put("Leads", json={"data": [{"id": lead, "Leadsync_Stage": "MQL", "Leadsync_Score": 72}]})
        assert resp.status_code == 200
        assert (
            api.get(f"Leads/{lead}", params={"fields": "Leadsync_Score"}).json()["data"][0]["Leadsync_Score"]
            == 72
        )
        again = api.post("settings/fields", params={"module": "Leads"}, json={"fields": body["fields"][1:]})
        assert again.status_code == 400 and again.json()["fields"][0]["code"] == "DUPLICATE_DATA"

    def test_needs_a_settings_scope(self, zsb: ZohoSandbox) -> None:
        reader = api_for(zsb, ["ZohoCRM.modules.ALL", "ZohoCRM.settings.fields.READ"])
        resp = reader.post(
            "settings/fields",
            params={"module": "Leads"},
            json={"fields": [{"field_label": "X", "data_type": "text"}]},
        )
        assert resp.status_code == 401 and resp.json()["code"] == "OAUTH_SCOPE_MISMATCH"
        assert reader.get("settings/fields", params={"module": "Leads"}).status_code == 200
