"""Zoho tasks: once per key, up to 100 a call, one result per task in order (``responses`` fake)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from leadsync.api import TaskRequest, TransientError
from tests.adapters.test_zoho_fake import FakeZoho, Sent, make_adapter, zoho_fixture  # noqa: F401

_REFUSED = {"code": "INVALID_DATA", "details": {"api_name": "Owner", "json_path": "$.data[2].Owner"},
            "message": "invalid data", "status": "error"}  # fmt: skip


def inserts(zoho: FakeZoho) -> list[Sent]:
    return [s for s in zoho.sent if s.method == "POST" and s.path == "/crm/v8/Tasks"]


def searches(zoho: FakeZoho) -> list[Sent]:
    return [s for s in zoho.sent if s.path == "/crm/v8/Tasks/search"]


def task(key: str, contact: str, **kw: Any) -> TaskRequest:
    return TaskRequest(key=key, contact_id=contact, owner_id=kw.pop("owner_id", None), title="Call",
                       due_at=kw.pop("due_at", None), **kw)  # fmt: skip


class TestOneTask:
    def test_a_second_create_finds_the_first(self, zoho: FakeZoho) -> None:
        lead = zoho.add("Leads", 1)[0]
        due = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)  # 01:30 the next day in the org's Asia/Kolkata
        one = TaskRequest(
            key=f"stage_mql:{lead}:x", contact_id=lead, owner_id="u1", title="First touch", due_at=due
        )
        first = make_adapter().create_task(one)
        second = make_adapter().create_task(one)
        assert first.created and first.crm_id and second.crm_id == first.crm_id and not second.created
        post = inserts(zoho)[0].body
        record = post["data"][0]
        assert record["What_Id"] == {"id": lead} and record["$se_module"] == "Leads"
        assert record["Due_Date"] == "2026-11-24" and record["Owner"] == {"id": "u1"}
        assert record["Leadsync_Key"] == one.key and post["trigger"] == []

    def test_a_duplicate_without_its_id_is_looked_up_by_key(self, zoho: FakeZoho) -> None:
        contact = zoho.add("Contacts", 1)[0]
        zoho.records["Tasks"] = [
            {"id": "t1", "Leadsync_Key": "k1", "Modified_Time": "2026-11-20T10:00:00+05:30"}
        ]
        zoho.name_duplicates = False
        result = make_adapter().create_task(task("k1", contact))
        assert result.crm_id == "t1" and not result.created
        post = inserts(zoho)[0].body["data"][0]
        assert post["Who_Id"] == {"id": contact} and "$se_module" not in post
        assert [s.query["criteria"] for s in searches(zoho)] == [["(Leadsync_Key:equals:k1)"]]


class TestManyTasks:
    def test_a_batch_of_new_tasks_is_one_insert(self, zoho: FakeZoho) -> None:
        leads, contact = zoho.add("Leads", 2), zoho.add("Contacts", 1)[0]
        crm = make_adapter(triggers=["workflow"])
        batch = [task("a", leads[0], owner_id="u1"), task("b", contact), task("c", leads[1])]
        results = crm.create_tasks(batch)
        assert crm.task_batch == 100
        assert [r.key for r in results] == ["a", "b", "c"] and all(r.created for r in results)
        assert len({r.crm_id for r in results}) == 3
        made = {t["Leadsync_Key"]: t["id"] for t in zoho.records["Tasks"]}
        assert [r.crm_id for r in results] == [made["a"], made["b"], made["c"]]
        (post,) = inserts(zoho)
        assert [r["Leadsync_Key"] for r in post.body["data"]] == ["a", "b", "c"]
        assert post.body["data"][1]["Who_Id"] == {"id": contact} and post.body["trigger"] == ["workflow"]

    def test_a_duplicate_and_a_refused_record_each_get_their_own_result(self, zoho: FakeZoho) -> None:
        """207: a new task, one made before (its id), one Zoho refuses, and one nobody can hold."""
        leads = zoho.add("Leads", 4)
        zoho.records["Tasks"] = [
            {"id": "t-old", "Leadsync_Key": "b", "Modified_Time": "2026-11-20T10:00:00Z"}
        ]
        zoho.refuse_tasks["c"] = _REFUSED
        batch = [task("a", leads[0]), task("b", leads[1]), task("c", leads[2]),
                 task("d", "5725767999999999999"), task("e", leads[3])]  # fmt: skip
        results = make_adapter().create_tasks(batch)
        assert [r.key for r in results] == ["a", "b", "c", "d", "e"]
        assert [r.created for r in results] == [True, False, False, False, True]
        assert results[1].crm_id == "t-old"
        assert results[2].crm_id is None and "INVALID_DATA" in str(results[2].error)
        assert "Owner" in str(results[2].error)
        assert results[3].crm_id is None and "no Zoho lead or contact" in str(results[3].error)
        (post,) = inserts(zoho)
        assert [r["Leadsync_Key"] for r in post.body["data"]] == ["a", "b", "c", "e"], "d is not sent"
        assert searches(zoho) == [], "Zoho named the duplicate"

    def test_unnamed_duplicates_are_looked_up_in_one_search(self, zoho: FakeZoho) -> None:
        leads = zoho.add("Leads", 3)
        keys = ["x:1", "y(2),z", "w"]
        zoho.records["Tasks"] = [
            {"id": f"t{i}", "Leadsync_Key": k, "Modified_Time": "2026-11-20T10:00:00Z"}
            for i, k in enumerate(keys[:2])
        ]
        zoho.name_duplicates = False
        results = make_adapter().create_tasks([task(k, c) for k, c in zip(keys, leads, strict=True)])
        assert [(r.crm_id, r.created) for r in results][:2] == [("t0", False), ("t1", False)]
        assert results[2].created
        (search,) = searches(zoho)
        assert search.query["criteria"] == ["(Leadsync_Key:in:x:1,y\\(2\\)\\,z)"]

    def test_a_key_twice_in_one_call_is_sent_once(self, zoho: FakeZoho) -> None:
        lead = zoho.add("Leads", 1)[0]
        results = make_adapter().create_tasks([task("k", lead), task("k", lead)])
        assert results[0].created and not results[1].created and results[0].crm_id == results[1].crm_id
        assert len(inserts(zoho)[0].body["data"]) == 1

    def test_more_than_100_go_100_a_call(self, zoho: FakeZoho) -> None:
        leads = zoho.add("Leads", 150)
        results = make_adapter().create_tasks([task(f"k{i}", c) for i, c in enumerate(leads)])
        assert all(r.created for r in results) and [r.key for r in results] == [f"k{i}" for i in range(150)]
        assert [len(p.body["data"]) for p in inserts(zoho)] == [100, 50]

    def test_nothing_to_do_makes_no_call(self, zoho: FakeZoho) -> None:
        crm = make_adapter()
        assert crm.create_tasks([]) == []
        assert zoho.sent == []


class TestWholeCallErrors:
    def test_a_5xx_after_the_retries_is_raised_for_the_whole_call(self, zoho: FakeZoho) -> None:
        leads = zoho.add("Leads", 2)
        crm = make_adapter()
        zoho.insert_tasks = lambda body: (500, {"code": "INTERNAL_ERROR", "message": "down"})  # type: ignore[method-assign]
        with pytest.raises(TransientError):
            crm.create_tasks([task("a", leads[0]), task("b", leads[1])])
        assert len(inserts(zoho)) == 6, "retried by the policy, then raised"

    def test_a_lookup_that_zoho_cannot_answer_now_is_raised(self, zoho: FakeZoho) -> None:
        """The tasks exist: the next attempt finds them, so none may become a dead letter."""
        lead = zoho.add("Leads", 1)[0]
        zoho.records["Tasks"] = [{"id": "t1", "Leadsync_Key": "k", "Modified_Time": "2026-11-20T10:00:00Z"}]
        zoho.name_duplicates = False
        zoho.search = lambda module, q: (503, {"code": "INTERNAL_ERROR", "message": "busy"})  # type: ignore[method-assign]
        with pytest.raises(TransientError):
            make_adapter().create_tasks([task("k", lead)])

    def test_a_lookup_zoho_refuses_fails_those_tasks_alone(self, zoho: FakeZoho) -> None:
        leads = zoho.add("Leads", 2)
        zoho.records["Tasks"] = [{"id": "t1", "Leadsync_Key": "k", "Modified_Time": "2026-11-20T10:00:00Z"}]
        zoho.name_duplicates = False
        zoho.search = lambda module, q: (400, {"code": "INVALID_QUERY", "message": "invalid query formed"})  # type: ignore[method-assign]
        results = make_adapter().create_tasks([task("k", leads[0]), task("new", leads[1])])
        assert results[0].crm_id is None and "looking it up failed" in str(results[0].error)
        assert results[1].created

    def test_an_answer_without_one_result_per_task_is_raised(self, zoho: FakeZoho) -> None:
        leads = zoho.add("Leads", 2)
        zoho.insert_tasks = lambda body: (201, {"data": [{"code": "SUCCESS", "details": {"id": "1"}}]})  # type: ignore[method-assign]
        with pytest.raises(Exception, match="one result per task"):
            make_adapter().create_tasks([task("a", leads[0]), task("b", leads[1])])
