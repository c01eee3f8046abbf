"""Salesforce tasks, many a call (``create_tasks``: sObject Collections) and once per key, on the sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from leadsync.adapters.salesforce.adapter import SalesforceAdapter
from leadsync.adapters.salesforce.tasks import KEYS_PER_URI, TaskWriter
from leadsync.api import TaskRequest, TaskResult, TransientError
from leadsync.model import BUILTIN_REASONS
from leadsync.sandboxes.salesforce.sandbox import SalesforceSandbox
from tests.sandbox.sf_support import NOW
from tests.sandbox.sf_support import sandbox_adapter as _adapter

COLLECTION = "POST /services/data/vXX.X/composite/sobjects"
QUERY = "GET /services/data/vXX.X/query"


@pytest.fixture(scope="module")
def sb() -> Iterator[SalesforceSandbox]:
    with SalesforceSandbox(port=0, seed=5, leads=30, now=NOW) as box:
        _adapter(box).setup(BUILTIN_REASONS)
        yield box


@pytest.fixture
def crm(sb: SalesforceSandbox) -> SalesforceAdapter:
    """An adapter that knows the org's time zone already: each call counted is a task call."""
    adapter = _adapter(sb)
    adapter.org_zone()
    sb.reset_stats()
    return adapter


def _leads(sb: SalesforceSandbox) -> list[str]:
    return sorted(rid for rid, r in sb.records("Lead", deleted=False).items() if not r["IsConverted"])


def _tasks(sb: SalesforceSandbox, prefix: str, n: int) -> list[TaskRequest]:
    """``n`` tasks for a rep, keyed as leadsync's are (``trigger:contact:time``, about 50 characters)."""
    rep = next(u["Id"] for u in sb.users(active=True) if u["Id"] != sb.org.api_user)
    leads = _leads(sb)
    return [
        TaskRequest(
            key=f"{prefix}:{leads[i % len(leads)]}:{NOW + timedelta(seconds=i):%Y-%m-%dT%H:%M:%SZ}",
            contact_id=leads[i % len(leads)],
            owner_id=rep,
            title=f"Call back ({prefix} {i})",
            due_at=NOW + timedelta(hours=4),
            body=f"leadsync action {prefix} {i}",
        )
        for i in range(n)
    ]


def _stored(sb: SalesforceSandbox, task_id: str) -> dict[str, Any]:
    return sb.records_json("Task")[task_id]


def _calls(sb: SalesforceSandbox) -> dict[str, int]:
    return {e: n for e, n in sb.stats()["by_endpoint"].items() if "/oauth2/" not in e}


class TestManyACall:
    def test_new_tasks_go_in_one_collection_call(self, sb: SalesforceSandbox, crm: SalesforceAdapter) -> None:
        queue = sb.queues()["Inbound Leads"]
        tasks = _tasks(sb, "batch", 5)
        tasks[3] = replace(tasks[3], owner_id=queue)
        results = crm.create_tasks(tasks)
        assert [r.key for r in results] == [t.key for t in tasks]
        assert all(r.created and r.crm_id and r.error is None for r in results)
        assert _calls(sb) == {COLLECTION: 1}
        assert sb.stats()["auto_assign"] == {f"{COLLECTION}: FALSE": 1}
        for task, result in zip(tasks, results, strict=True):
            stored = _stored(sb, str(result.crm_id))
            assert (stored["Leadsync_Key__c"], stored["WhoId"], stored["Subject"]) == (
                task.key,
                task.contact_id,
                task.title,
            )
            assert stored["ActivityDate"] == "2026-11-23" and stored["Status"] == "Not Started"
            assert (task.body or "") in stored["Description"] and "Due by 2026-11-23" in stored["Description"]
        # A queue owns no task: the integration user holds it, and the description names the queue.
        held = _stored(sb, str(results[3].crm_id))
        assert held["OwnerId"] == sb.org.api_user and queue in held["Description"]
        assert _stored(sb, str(results[0].crm_id))["OwnerId"] == tasks[0].owner_id
        assert crm.task_batch == 200

    def test_a_duplicate_and_a_refused_task_among_new_ones(
        self, sb: SalesforceSandbox, crm: SalesforceAdapter
    ) -> None:
        inactive = sb.users(active=False)[0]["Id"]
        tasks = _tasks(sb, "mixed", 4)
        before = crm.create_task(tasks[1])  # made by an earlier attempt
        tasks[2] = replace(tasks[2], owner_id=inactive)
        sb.reset_stats()
        results = crm.create_tasks(tasks)
        assert [r.key for r in results] == [t.key for t in tasks]
        assert results[0].created and results[3].created
        assert results[1] == TaskResult(tasks[1].key, before.crm_id)  # found, not created again
        # Refused for its inactive owner alone (INACTIVE_OWNER_OR_USER): created again without it
        # (issue 13), one more collection call.
        assert results[2].created and results[2].crm_id
        assert _calls(sb) == {COLLECTION: 2, QUERY: 1}  # one query finds the duplicates
        made = list(sb.records("Task", deleted=False).values())
        keys = [t["Leadsync_Key__c"] for t in made]
        assert keys.count(tasks[1].key) == 1 and keys.count(tasks[2].key) == 1
        assert next(t["OwnerId"] for t in made if t["Leadsync_Key__c"] == tasks[2].key) != inactive

    def test_a_whole_batch_again_is_found_with_one_query(
        self, sb: SalesforceSandbox, crm: SalesforceAdapter
    ) -> None:
        tasks = _tasks(sb, "stage_mql", 200)
        first = crm.create_tasks(tasks)
        assert all(r.created for r in first) and _calls(sb) == {COLLECTION: 1}
        sb.reset_stats()
        again = _adapter(sb).create_tasks(tasks)  # a restarted daemon, after a crash
        assert again == [TaskResult(r.key, r.crm_id) for r in first]
        assert _calls(sb) == {COLLECTION: 1, QUERY: 2}  # the Organization query, then the keys
        keys = [t["Leadsync_Key__c"] for t in sb.records("Task", deleted=False).values()]
        assert sum(keys.count(t.key) for t in tasks) == 200

    def test_long_keys_are_looked_up_in_queries_that_fit_the_uri(
        self, sb: SalesforceSandbox, crm: SalesforceAdapter
    ) -> None:
        tasks = [replace(t, key=f"{t.key}:{'x' * 100}") for t in _tasks(sb, "long", 150)]
        assert sum(len(t.key) + 9 for t in tasks) > KEYS_PER_URI  # too long for one query's URI
        first = crm.create_tasks(tasks)
        sb.reset_stats()
        again = crm.create_tasks(tasks)
        assert again == [TaskResult(r.key, r.crm_id) for r in first]
        assert _calls(sb) == {COLLECTION: 1, QUERY: 2}
        assert sb.stats()["by_status"].keys() == {"200"}  # no 414 URI Too Long

    def test_one_task_still_goes_alone(self, sb: SalesforceSandbox, crm: SalesforceAdapter) -> None:
        (task,) = _tasks(sb, "single", 1)
        made = crm.create_task(task)
        assert made.created and _calls(sb) == {"POST /services/data/vXX.X/sobjects/Task": 1}
        assert crm.create_tasks([task]) == [TaskResult(task.key, made.crm_id)]
        assert crm.create_tasks([]) == []


class TestLocksAndErrors:
    def test_locked_tasks_are_sent_again_alone(self, sb: SalesforceSandbox, crm: SalesforceAdapter) -> None:
        slept: list[float] = []
        writer = TaskWriter(crm.client, crm.org_zone(), sleep=slept.append)
        tasks = _tasks(sb, "locked", 4)
        sb.lock_rows(n=2)  # the first two records' lead roll-ups are held by another transaction
        results = writer.create_many(tasks)
        assert all(r.created for r in results) and slept == [0.5]
        assert _calls(sb) == {COLLECTION: 2}

    def test_still_locked_raises_for_the_whole_call_and_the_next_finds_them(
        self, sb: SalesforceSandbox, crm: SalesforceAdapter
    ) -> None:
        slept: list[float] = []
        writer = TaskWriter(crm.client, crm.org_zone(), sleep=slept.append)
        tasks = _tasks(sb, "stuck", 3)
        sb.lock_rows(n=3 * 3 + 2)  # all three, three times; then the first two once more
        try:
            with pytest.raises(TransientError, match="UNABLE_TO_LOCK_ROW"):
                writer.create_many(tasks)
        finally:
            sb.lock_rows(unlock=True)
        assert slept == [0.5, 1.0, 2.0]
        made = [t["Leadsync_Key__c"] for t in sb.records("Task", deleted=False).values()]
        assert [made.count(t.key) for t in tasks] == [0, 0, 1]  # the third got through on the last try
        results = writer.create_many(tasks)
        assert [r.created for r in results] == [True, True, False] and all(r.crm_id for r in results)

    def test_errors_of_the_whole_call_propagate(self, sb: SalesforceSandbox, crm: SalesforceAdapter) -> None:
        tasks = _tasks(sb, "down", 2)
        sb.set_faults(fail_next=6)  # every try of the retry policy
        try:
            with pytest.raises(TransientError):
                crm.create_tasks(tasks)
        finally:
            sb.clear_faults()
        assert not [
            t for t in sb.records("Task").values() if str(t.get("Leadsync_Key__c")).startswith("down:")
        ]
