"""The Salesforce sandbox's parent-to-child subqueries: the same rows as the flat queries, Salesforce's
refusals, children counted toward the batch, long child lists paged by their own locator."""

from __future__ import annotations

from typing import Any

import pytest

from leadsync.sandboxes.salesforce import subquery
from leadsync.sandboxes.salesforce.sandbox import SalesforceSandbox
from tests.sandbox.sf_support import Api, error_code

TASKS = "SELECT Id, WhoId, Subject, Status FROM Tasks"


def _ids(result: dict[str, Any] | None) -> list[str]:
    return [r["Id"] for r in (result or {"records": []})["records"]]


def _busy_leads(api: Api, count: int) -> list[str]:
    """Leads with tasks, most tasks first."""
    rows = api.records("SELECT WhoId FROM Task WHERE WhoId != null")
    per: dict[str, int] = {}
    for row in rows:
        if row["WhoId"].startswith("00Q"):
            per[row["WhoId"]] = per.get(row["WhoId"], 0) + 1
    return sorted(per, key=lambda k: (-per[k], k))[:count]


class TestRows:
    def test_each_relationship_holds_what_the_flat_query_finds(self, ro_api: Api) -> None:
        leads = [r["Id"] for r in ro_api.records("SELECT Id FROM Lead ORDER BY Id LIMIT 60")]
        listed = ",".join(f"'{i}'" for i in leads)
        rows = ro_api.records(
            f"SELECT Id, ({TASKS}), (SELECT Id, StartDateTime FROM Events), "
            "(SELECT Id, Campaign.Name, Campaign.Type FROM CampaignMembers WHERE HasResponded = true), "
            "(SELECT Field, CreatedDate FROM Histories WHERE Field = 'Status' ORDER BY CreatedDate DESC "
            f"LIMIT 1) FROM Lead WHERE Id IN ({listed})"
        )
        assert [r["Id"] for r in rows] == leads
        flat_tasks = ro_api.records(f"SELECT Id, WhoId FROM Task WHERE WhoId IN ({listed})")
        flat_events = ro_api.records(f"SELECT Id, WhoId FROM Event WHERE WhoId IN ({listed})")
        flat_members = ro_api.records(
            f"SELECT Id, LeadId FROM CampaignMember WHERE HasResponded = true AND LeadId IN ({listed})"
        )
        history = ro_api.records(
            f"SELECT LeadId, CreatedDate FROM LeadHistory WHERE LeadId IN ({listed}) AND Field = 'Status'"
        )
        assert flat_tasks and flat_events and flat_members and history  # the seeded org has each kind
        for row in rows:
            lead = row["Id"]
            assert _ids(row["Tasks"]) == sorted(t["Id"] for t in flat_tasks if t["WhoId"] == lead)
            assert _ids(row["Events"]) == sorted(e["Id"] for e in flat_events if e["WhoId"] == lead)
            assert _ids(row["CampaignMembers"]) == sorted(
                m["Id"] for m in flat_members if m["LeadId"] == lead
            )
            newest = max((h["CreatedDate"] for h in history if h["LeadId"] == lead), default=None)
            got = row["Histories"]
            assert (got["records"][0]["CreatedDate"] if got else None) == newest
            for name in ("Tasks", "Events", "CampaignMembers", "Histories"):  # no children: null
                assert row[name] is None or (row[name]["done"] and row[name]["totalSize"] > 0)
        member = next(r["CampaignMembers"]["records"][0] for r in rows if r["CampaignMembers"])
        assert member["attributes"]["type"] == "CampaignMember" and member["Campaign"]["Type"]

    def test_contacts_have_the_same_relationships(self, ro_api: Api) -> None:
        contacts = ro_api.records(
            "SELECT Id, (SELECT Id, WhoId FROM Tasks), (SELECT Id, ContactId FROM CampaignMembers), "
            "(SELECT Field FROM Histories) FROM Contact LIMIT 40"
        )
        tasks = [t for c in contacts for t in (c["Tasks"] or {"records": []})["records"]]
        assert tasks and all(t["WhoId"].startswith("003") for t in tasks)
        by_parent = {c["Id"]: _ids(c["Tasks"]) for c in contacts}
        for cid, ids in by_parent.items():
            assert ids == [t["Id"] for t in ro_api.records(f"SELECT Id FROM Task WHERE WhoId = '{cid}'")]

    def test_a_subquery_is_one_api_request(self, sf_sb: SalesforceSandbox, sf_api: Api) -> None:
        before = sf_sb.stats()["api_usage"]["used"]
        assert sf_api.query(f"SELECT Id, ({TASKS}), (SELECT Id FROM Events) FROM Lead LIMIT 5").ok
        assert sf_sb.stats()["api_usage"]["used"] == before + 1


class TestRefusals:
    @pytest.mark.parametrize(
        ("soql", "code", "words"),
        [
            (
                "SELECT Id, (SELECT Id FROM Task) FROM Lead",
                "INVALID_TYPE",
                "Didn't understand relationship 'Task'",
            ),
            ("SELECT Id, (SELECT Id FROM Tasks) FROM User", "INVALID_TYPE", "relationship 'Tasks'"),
            ("SELECT Id, (SELECT Nope FROM Tasks) FROM Lead", "INVALID_FIELD", "No such column 'Nope'"),
            (
                "SELECT Id, (SELECT Id, (SELECT Id FROM Tasks) FROM Tasks) FROM Lead",
                "MALFORMED_QUERY",
                "unexpected token",
            ),
            ("SELECT Id, (SELECT Id FROM Tasks OFFSET 1) FROM Lead", "MALFORMED_QUERY", "LIMIT 1"),
            (
                "SELECT Id, " + ", ".join(["(SELECT Id FROM Tasks)"] * 21) + " FROM Lead",
                "MALFORMED_QUERY",
                "No more than 20 parent-to-child",
            ),
        ],
        ids=["object-not-relationship", "not-a-child-of-it", "bad-field", "nested", "offset", "21"],
    )
    def test_salesforce_refuses(self, ro_api: Api, soql: str, code: str, words: str) -> None:
        resp = ro_api.query(soql)
        assert (resp.status_code, error_code(resp)) == (400, code)
        assert words in resp.json()[0]["message"]

    def test_offset_with_an_outer_limit_1(self, ro_api: Api) -> None:
        assert ro_api.query("SELECT Id, (SELECT Id FROM Tasks OFFSET 1) FROM Lead LIMIT 1").ok


class TestPaging:
    def test_a_long_child_list_pages_by_its_own_locator(
        self, sf_sb: SalesforceSandbox, sf_api: Api, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(subquery, "CHILD_BATCH", 2)
        lead = _busy_leads(sf_api, 1)[0]
        everything = [t["Id"] for t in sf_api.records(f"SELECT Id FROM Task WHERE WhoId = '{lead}'")]
        assert len(everything) > 2
        row = sf_api.records(f"SELECT Id, ({TASKS}) FROM Lead WHERE Id = '{lead}'")[0]
        tasks = row["Tasks"]
        assert (tasks["done"], tasks["totalSize"], len(tasks["records"])) == (False, len(everything), 2)
        got = _ids(tasks)
        while not tasks["done"]:
            before = sf_sb.stats()["api_usage"]["used"]
            resp = sf_api.get(sf_sb.url + tasks["nextRecordsUrl"])
            assert resp.ok, resp.text
            assert sf_sb.stats()["api_usage"]["used"] == before + 1  # a child page is a request too
            tasks = resp.json()
            got += _ids(tasks)
        assert got == everything

    def test_children_count_toward_the_batch_and_the_next_batch_ends_child_locators(
        self, sf_sb: SalesforceSandbox, sf_api: Api, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(subquery, "CHILD_BATCH", 2)
        leads = [r["Id"] for r in sf_api.records("SELECT Id FROM Lead ORDER BY Id")]
        listed = ",".join(f"'{i}'" for i in leads)
        soql = f"SELECT Id, ({TASKS}) FROM Lead WHERE Id IN ({listed})"
        first = sf_api.query(soql, headers={"Sforce-Query-Options": "batchSize=200"}).json()
        rows = sum(1 + len(_ids(r["Tasks"])) for r in first["records"])
        assert not first["done"] and 150 < rows <= 200 and len(first["records"]) < min(200, len(leads))
        cut = next(r["Tasks"] for r in first["records"] if r["Tasks"] and not r["Tasks"]["done"])
        second = sf_api.get(sf_sb.url + first["nextRecordsUrl"])
        assert second.ok and second.json()["records"][0]["Id"] == leads[len(first["records"])]
        stale = sf_api.get(sf_sb.url + cut["nextRecordsUrl"])
        assert (stale.status_code, error_code(stale)) == (400, "INVALID_QUERY_LOCATOR")
