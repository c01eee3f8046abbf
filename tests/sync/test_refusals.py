"""Refusals caused by the CRM's setup stop the run and keep the records due (loop and outbox),
on SQLite and PostgreSQL, against the in-memory CRM."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from leadsync.api import ContactChange, RefusalCause, TaskRequest, TaskResult, WriteResult
from leadsync.errors import SetupRefused
from leadsync.sync.refusals import RETRIES_EXHAUSTED, letter_cause
from leadsync.sync.state import StateStore
from tests.sync.fake_crm import FakeCrm
from tests.sync.test_loop import RULES, crm, job


@dataclass
class UnreadyCrm(FakeCrm):
    """The in-memory CRM, not set up yet: owner ``u2`` unknown, tasks' key field missing."""

    unknown_owner: str | None = "u2"
    task_field_missing: bool = False

    def write_contacts(self, changes: Sequence[ContactChange]) -> list[WriteResult]:
        bad = self.unknown_owner
        refused = [c for c in changes if bad is not None and c.values.get("owner_id") == bad]
        out = {r.contact_id: r for r in super().write_contacts([c for c in changes if c not in refused])}
        for c in refused:
            error = f"INVALID_OWNER_ID: {self.unknown_owner} is not a valid owner id"
            out[c.contact_id] = WriteResult(
                c.contact_id, False, error, cause=RefusalCause.UNKNOWN_OWNER, cause_name=self.unknown_owner
            )
        return [out[c.contact_id] for c in changes]

    def create_task(self, task: TaskRequest) -> TaskResult:
        if self.task_field_missing:
            error = 'PROPERTY_DOESNT_EXIST: Property "leadsync_task_key" does not exist'
            return TaskResult(task.key, None, error=error, cause=RefusalCause.MISSING_FIELD, cause_name="key")
        return super().create_task(task)


def unready(**kw: object) -> UnreadyCrm:
    """``test_loop.crm()``'s contacts, activities and owners in an ``UnreadyCrm``."""
    model = crm()
    fake = UnreadyCrm(owners=model.owners, **kw)  # type: ignore[arg-type]
    for c in model.contacts.values():
        fake.put(c)
    fake.activities.extend(model.activities)
    return fake


def owner_line() -> int:
    """The first line of the test rules that names ``u2``."""
    lines = Path(RULES.file).read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, 1) if "u2" in line.split("#")[0])


class TestUnknownOwner:
    def test_the_run_stops_names_the_rules_line_and_dead_letters_nothing(self, store: StateStore) -> None:
        fake = unready()
        with pytest.raises(SetupRefused) as stopped:
            job(fake, store).run()
        assert f"{RULES.file}:{owner_line()}: the CRM knows no active owner `u2`" in stopped.value.fixes[0]
        assert "nothing was dead-lettered" in str(stopped.value)
        status = store.status("test")
        assert status["dead_letters"] == 0 and status["runs"][0]["status"] == "refused"
        pending = store.pending_writes("test", 100)
        assert pending and all(row.attempts == 0 for row in pending)
        assert "u2" in {row.values.get("owner_id") for row in pending}

    def test_after_the_fix_the_next_run_writes_them(self, store: StateStore) -> None:
        fake = unready()
        with pytest.raises(SetupRefused):
            job(fake, store).run()
        fake.unknown_owner = None  # the admin corrected the owner in the CRM
        result = job(fake, store).run()
        assert result.status == "ok" and result.counts.get("dead_letters", 0) == 0
        assert {c.owner_id for c in fake.contacts.values()} >= {"u1", "u2"}
        assert store.status("test")["pending_writes"] == 0


class TestTaskRefusedBySetup:
    def test_tasks_stay_pending_then_are_created(self, store: StateStore) -> None:
        fake = unready(unknown_owner=None, task_field_missing=True)
        with pytest.raises(SetupRefused) as stopped:
            job(fake, store).run()
        assert "refused" in str(stopped.value) and "tasks" in str(stopped.value)
        assert "run `leadsync setup`" in stopped.value.fixes[0]
        status = store.status("test")
        assert status["dead_letters"] == 0 and status["pending_actions"] == 8
        fake.task_field_missing = False
        assert job(fake, store).run().status == "ok"
        assert len(fake.tasks) == 8 and store.status("test")["pending_actions"] == 0


@pytest.mark.parametrize(
    ("error", "cause", "exhausted", "expected"),
    [
        ("VALIDATION_ERROR: Property values were not valid", None, False, "VALIDATION_ERROR"),
        ("FIELD_CUSTOM_VALIDATION_EXCEPTION: locked", None, False, "FIELD_CUSTOM_VALIDATION_EXCEPTION"),
        ("UNABLE_TO_LOCK_ROW: busy", None, True, RETRIES_EXHAUSTED),
        ("the CRM returned no result for this record", None, False, "rejected"),
        ("anything", "invalid_value", False, "invalid_value"),
    ],
)
def test_a_dead_letters_cause(error: str, cause: str | None, exhausted: bool, expected: str) -> None:
    assert letter_cause(error, cause, exhausted=exhausted) == expected
