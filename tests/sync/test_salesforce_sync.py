"""The sync loop with the Salesforce adapter against the local Salesforce sandbox, on SQLite and PostgreSQL.

Crash and resume, manual changes, the API budget, partial failures, conversions and deletions:
what a RevOps admin relies on, proven end to end (127.0.0.1 only).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from leadsync.adapters.salesforce.adapter import SalesforceAdapter
from leadsync.adapters.salesforce.client import SalesforceClient
from leadsync.api import QuotaExhausted
from leadsync.demo import _with_owners
from leadsync.rules.loader import load_rules, rules_from_source
from leadsync.rules.yamlsource import load_yaml_text
from leadsync.sandboxes.salesforce.sandbox import SalesforceSandbox
from leadsync.sync.loop import SyncJob
from leadsync.sync.state import StateStore, open_store
from tests.sandbox.sf_support import sandbox_adapter as adapter
from tests.sync.conftest import fresh_store
from tests.sync.fake_crm import Crash

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # Monday 11:00 in Madrid
COLLECTION_CREATE = "POST /services/data/vXX.X/composite/sobjects"
PLAYBOOK = Path(__file__).parents[2] / "examples" / "rules" / "qualification-matrix.yaml"
WRITTEN = (
    "Status", "OwnerId", "Leadsync_Score__c", "Leadsync_Reason__c", "Leadsync_SLA_Status__c",
    "Leadsync_SLA_Due__c", "Leadsync_MQL_At__c", "Leadsync_SQL_At__c", "Leadsync_Assigned_At__c",
)  # fmt: skip


def sandbox(leads: int = 40, visitors: int = 1) -> SalesforceSandbox:
    """A fresh org, set up for leadsync, where ``visitors`` just asked for a demo on the website."""
    sb = SalesforceSandbox(port=0, seed=3, leads=leads, now=NOW).start()
    adapter(sb).setup(load_rules(PLAYBOOK).reason_labels)
    for first, last in [("Marta", "Vidal"), ("Jon", "Arrieta"), ("Laura", "Ferrer")][:visitors]:
        _web_visitor(sb, first, last)
    return sb


def _web_visitor(sb: SalesforceSandbox, first: str, last: str) -> None:
    """A CEO of a Spanish energy company who read, watched and asked: an MQL, waiting in a queue."""
    org = sb.org
    web = {
        "FirstName": first,
        "LastName": last,
        "Email": f"{first.lower()}.{last.lower()}@energia-norte.es",
        "Company": "Energía Norte",
        "Title": "CEO",
        "Country": "ES",
        "Industry": "Energy",
        "Status": "Open - Not Contacted",
        "LeadSource": "Web",
        "OwnerId": sb.queues()["Inbound Leads"],
    }
    lead = org.insert("Lead", web, at=NOW - timedelta(days=3))
    campaigns = {c["Name"]: c["Id"] for c in sb.records_json("Campaign").values()}
    # 15 (Spain, energy) + 20 (a case study) + 25 (a whole webinar) + 50 (a demo request): an MQL.
    for name, status, ago in (
        ("Website: Case Study Download", "Downloaded", timedelta(days=3)),
        ("Webinar: Lead Scoring 101 (Nov)", "Attended", timedelta(days=2)),
        ("Website: Demo Request", "Submitted", timedelta(minutes=9)),
    ):
        member = {"CampaignId": campaigns[name], "LeadId": lead["Id"], "Status": status}
        org.insert("CampaignMember", member, at=NOW - ago)


def rules_for(sb: SalesforceSandbox) -> Any:
    reps = [u["Id"] for u in sb.users(active=True) if u["Id"] not in (sb.org.api_user, sb.org.admin_user)]
    return rules_from_source(
        load_yaml_text(_with_owners(PLAYBOOK.read_text(encoding="utf-8"), reps), "rules")
    )


def job(sb: SalesforceSandbox, store: StateStore, crm: SalesforceAdapter | None = None, **kw: Any) -> SyncJob:
    return SyncJob("sf", crm or adapter(sb), rules_for(sb), store, clock=lambda: NOW, **kw)


def crm_state(sb: SalesforceSandbox) -> dict[str, Any]:
    """What a person would see in Salesforce: leadsync's fields on every lead, and its tasks."""
    leads = {rid: tuple(str(r.get(f)) for f in WRITTEN) for rid, r in sb.records_json("Lead").items()}
    tasks = sorted(
        (t.get("Leadsync_Key__c"), t.get("WhoId"), t.get("OwnerId"), t.get("Subject"), t.get("ActivityDate"))
        for t in sb.records_json("Task").values()
        if t.get("Leadsync_Key__c")
    )
    return {"leads": leads, "tasks": tasks}


@pytest.fixture(scope="module")
def reference() -> Iterator[dict[str, Any]]:
    """The outcome of two clean runs on a fresh org."""
    sb = sandbox()
    try:
        store = open_store("sqlite://")
        first = job(sb, store).run()
        second = job(sb, store).run()
        assert first.counts["contacts_written"] > 0 and second.counts.get("contacts_written", 0) == 0
        yield crm_state(sb)
    finally:
        sb.stop()


@pytest.fixture
def sb() -> Iterator[SalesforceSandbox]:
    box = sandbox()
    yield box
    box.stop()


class TestOneSync:
    def test_every_lead_is_written_with_assignment_rules_off_then_nothing(
        self, sb: SalesforceSandbox, store: StateStore, reference: dict[str, Any]
    ) -> None:
        sb.reset_stats()
        first = job(sb, store).run()
        assert (
            first.status == "ok" and first.counts["contacts_written"] == first.counts["contacts_changed"] > 0
        )
        assert first.counts.get("tasks_created", 0) > 0
        writes = {k: v for k, v in sb.stats()["auto_assign"].items()}
        assert writes and all(k.endswith(": FALSE") for k in writes), writes
        second = job(sb, store).run()
        assert second.counts.get("contacts_written", 0) == 0 and second.counts.get("tasks_created", 0) == 0
        assert crm_state(sb) == reference

    def test_a_runs_tasks_go_in_one_collection_call(self, store: StateStore) -> None:
        box = sandbox(visitors=3)
        try:
            box.reset_stats()
            result = job(box, store).run()
            calls = box.stats()["by_endpoint"]
        finally:
            box.stop()
        assert result.counts.get("tasks_created") == 3
        assert calls[COLLECTION_CREATE] == 1  # one sObject Collections create for the three
        assert not [e for e in calls if e.endswith("/sobjects/Task")], "no task created alone"


class TestCrashAndResume:
    """Killed at a Salesforce call and run again, the org ends as after an uninterrupted sync."""

    def test_crash_at_calls_throughout_the_run(self, store_url: str, reference: dict[str, Any]) -> None:
        probe = sandbox()
        calls = _count_calls(probe)
        probe.stop()
        assert calls > 10
        for k in range(1, calls + 1):  # every call of the first run: sign-in, reads, writes, tasks
            box = sandbox()
            try:
                with fresh_store(store_url, k) as state:
                    with pytest.raises(Crash):
                        job(box, state, _crashing(box, k)).run()
                    for _ in range(2):
                        job(box, state).run()
                assert crm_state(box) == reference, f"crash at call {k} of {calls}"
            finally:
                box.stop()

    def test_crash_after_the_tasks_call_makes_no_task_twice(self, store: StateStore) -> None:
        """Salesforce created the run's tasks, and the process died before the outbox recorded them."""
        clean, box = sandbox(visitors=3), sandbox(visitors=3)
        try:
            calm = open_store("sqlite://")
            for _ in range(2):
                job(clean, calm).run()
            with pytest.raises(Crash):
                job(box, store, _crashing_after_tasks(box)).run()
            made = _task_keys(box)
            assert len(made) == len(set(made)) == 3, "the tasks were created, each once"
            box.reset_stats()
            resumed = job(box, store).run()
            assert resumed.counts.get("tasks_found") == 3 and not resumed.counts.get("tasks_created")
            assert box.stats()["by_endpoint"][COLLECTION_CREATE] == 1  # sent again: Salesforce refuses
            job(box, store).run()
            assert crm_state(box) == crm_state(clean) and _task_keys(box) == made
        finally:
            clean.stop()
            box.stop()


def _crashing_after_tasks(sb: SalesforceSandbox) -> SalesforceAdapter:
    """An adapter whose process dies right after Salesforce answered its tasks' collection create."""
    crm = adapter(sb)
    client = crm.client
    real = client.rest

    def rest(method: str, path: str, body: Any = None, headers: Any = None) -> Any:
        answer = real(method, path, body, headers)
        if (method, path) == ("POST", "composite/sobjects"):
            raise Crash(f"{method} {path}")
        return answer

    client.rest = rest  # type: ignore[method-assign]
    return crm


def _count_calls(sb: SalesforceSandbox) -> int:
    crm = adapter(sb)
    job(sb, open_store("sqlite://"), crm).run()
    return crm.client.calls


def _crashing(sb: SalesforceSandbox, at: int) -> SalesforceAdapter:
    """An adapter whose process dies at its ``at``-th Salesforce call."""
    crm = adapter(sb)
    client = crm.client
    real = SalesforceClient._once

    def once(self: SalesforceClient, what: str, fn: Any) -> Any:
        if self.calls + 1 >= at:
            raise Crash(what)
        return real(self, what, fn)

    client._once = once.__get__(client)  # type: ignore[method-assign]
    return crm


class TestManualChangesWin:
    def test_a_reps_status_and_owner_are_kept_and_reported(
        self, sb: SalesforceSandbox, store: StateStore
    ) -> None:
        job(sb, store).run()
        written = store.written("sf", sorted(sb.records_json("Lead")))
        lead_id = next(cid for cid, fields in written.items() if {"owner_id", "stage"} <= set(fields))
        before = sb.records_json("Lead")[lead_id]
        rep = next(
            u["Id"] for u in sb.users(active=True) if u["Id"] not in (before["OwnerId"], sb.org.api_user)
        )
        status = "Nurture" if before["Status"] != "Nurture" else "Working - Contacted"
        sb.set_field("Lead", lead_id, "Status", status)
        sb.set_field("Lead", lead_id, "OwnerId", rep)
        result = job(sb, store).run()
        lead = sb.records_json("Lead")[lead_id]
        assert (lead["Status"], lead["OwnerId"]) == (status, rep)
        assert result.counts.get("conflicts", 0) >= 1


class TestApiBudget:
    def test_the_budget_stops_the_run_and_the_next_one_resumes(
        self, sb: SalesforceSandbox, store: StateStore, reference: dict[str, Any]
    ) -> None:
        sb.set_api_usage(used=79_990, maximum=100_000)  # leadsync stops at 80%
        with pytest.raises(QuotaExhausted) as stopped:
            job(sb, store).run()
        assert "80%" in str(stopped.value) and stopped.value.resume_at is not None
        assert store.status("sf")["runs"][0]["status"] == "failed"
        sb.set_api_usage(used=0)
        for _ in range(2):
            job(sb, store).run()
        assert crm_state(sb) == reference

    def test_request_limit_exceeded_stops_cleanly(self, sb: SalesforceSandbox, store: StateStore) -> None:
        sb.set_api_usage(used=100_000, maximum=100_000)  # other integrations used the day up
        with pytest.raises(QuotaExhausted, match="REQUEST_LIMIT_EXCEEDED"):
            job(sb, store, adapter(sb, api_budget=1.0)).run()
        assert store.cursor("sf") is None, "nothing read, nothing committed"


class TestPartialFailures:
    def test_a_refused_lead_is_a_dead_letter_and_locks_are_retried(
        self, sb: SalesforceSandbox, store: StateStore, reference: dict[str, Any]
    ) -> None:
        leads = sorted(sb.records_json("Lead"))
        sb.reject_writes(leads[0])  # a validation rule refuses it
        sb.lock_rows(n=2)  # a passing lock: retried within the call
        sb.lock_rows(ids=[leads[1]])  # a long one: still locked after the retries
        result = job(sb, store).run()
        assert result.counts["contacts_written"] == result.counts["contacts_changed"] - 2
        letters = store.recent_dead_letters("sf")
        assert [d.contact_id for d in letters] == [leads[0]]
        assert "FIELD_CUSTOM_VALIDATION_EXCEPTION" in letters[0].error
        assert store.status("sf")["pending_writes"] == 1, "the locked lead waits in the outbox"
        sb.lock_rows(unlock=True)
        sb.reject_writes(leads[0], reject=False)
        job(sb, store).run()
        assert sb.records_json("Lead")[leads[1]]["Leadsync_Score__c"] is not None
        assert store.status("sf")["pending_writes"] == 0


class TestConversionsAndDeletes:
    def test_a_converted_lead_carries_on_as_its_contact(
        self, sb: SalesforceSandbox, store: StateStore
    ) -> None:
        job(sb, store).run()
        lead_id = next(k.split(":")[1] for k in _task_keys(sb))
        tasks_before = _task_keys(sb)
        contact_id = sb.convert_lead(lead_id)["ContactId"]
        sb.advance(90)
        result = job(sb, store).run()
        assert result.counts.get("contacts_moved") == 1
        assert store.contacts("sf", [lead_id]) == {} and contact_id in store.contacts("sf", [contact_id])
        assert sb.records_json("Contact")[contact_id]["Leadsync_Score__c"] is not None
        assert _task_keys(sb) == tasks_before, "no task made twice"

    def test_a_deleted_lead_is_forgotten(self, sb: SalesforceSandbox, store: StateStore) -> None:
        job(sb, store).run()
        gone = sorted(sb.records_json("Lead"))[3]
        sb.delete(gone)
        sb.advance(90)  # the deleted-records resource wants a window of a minute or more
        result = job(sb, store).run()
        assert result.counts.get("contacts_deleted") == 1 and store.contacts("sf", [gone]) == {}


def _task_keys(sb: SalesforceSandbox) -> list[str]:
    return sorted(
        str(t["Leadsync_Key__c"]) for t in sb.records_json("Task").values() if t.get("Leadsync_Key__c")
    )


def test_leads_seen_moving_within_the_overlap_are_echoes(sb: SalesforceSandbox, store: StateStore) -> None:
    """A run right after another re-reads the last minutes of changes (late commits) at no cost."""
    job(sb, store).run()
    job(sb, store).run()
    sb.reset_stats()
    third = job(sb, store).run()
    assert third.counts.get("contacts_decided", 0) == 0
    assert not [e for e in sb.stats()["by_endpoint"] if "composite" in e or "PATCH" in e]
    assert timedelta(minutes=5) == adapter(sb).overlap
