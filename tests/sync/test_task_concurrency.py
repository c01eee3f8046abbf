"""Tasks created side by side (``task_concurrency``) and many a call (``create_tasks``): each once,
every outcome recorded."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import select

from leadsync.api import TaskRequest, TaskResult, TransientError
from leadsync.sync.state import StateStore, open_store
from leadsync.sync.tables import ActionRow
from tests.sync.fake_crm import FakeCrm
from tests.sync.test_loop import crm, crm_state, job


@dataclass
class SideBySideCrm(FakeCrm):
    """A fake CRM whose task calls take a moment and may overlap; one contact's task can fail."""

    task_concurrency: int = 4
    failing_contact: str | None = None
    peak: int = 0
    _in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def create_task(self, task: TaskRequest) -> TaskResult:
        with self._lock:
            self._in_flight += 1
            self.peak = max(self.peak, self._in_flight)
        try:
            time.sleep(0.05)
            if task.contact_id == self.failing_contact:
                raise TransientError("the CRM is down for this one")
            with self._lock:
                return super().create_task(task)
        finally:
            with self._lock:
                self._in_flight -= 1


F = TypeVar("F", bound=FakeCrm)


def _like_crm(kind: type[F], **kw: object) -> F:
    """A fake of ``kind`` holding the same owners, activities and contacts as ``crm()``."""
    base = crm()
    fake = kind(owners=base.owners, activities=base.activities, **kw)  # type: ignore[arg-type]
    for c in base.contacts.values():
        fake.put(c)
    return fake


def side_by_side(**kw: object) -> SideBySideCrm:
    return _like_crm(SideBySideCrm, **kw)


def test_tasks_overlap_and_the_crm_ends_as_with_one_at_a_time(store: StateStore, tmp_path: Path) -> None:
    serial = crm()
    job(serial, open_store(f"sqlite:///{tmp_path}/serial.db")).run()
    fake = side_by_side()
    result = job(fake, store).run()
    assert len(fake.tasks) == len(serial.tasks) >= 2
    assert fake.peak > 1
    assert result.counts["tasks_created"] == len(fake.tasks)
    assert crm_state(fake)["tasks"] == crm_state(serial)["tasks"]
    assert job(fake, store).run().counts.get("tasks_created", 0) == 0


def test_one_failed_task_call_leaves_the_others_recorded_and_the_next_run_makes_it(
    store: StateStore, tmp_path: Path
) -> None:
    probe = side_by_side()
    job(probe, open_store(f"sqlite:///{tmp_path}/probe.db")).run()
    failing = sorted(t["contact_id"] for t in probe.tasks.values())[1]

    fake = side_by_side(failing_contact=failing)
    with pytest.raises(TransientError):
        job(fake, store).run()
    made = {t["contact_id"] for t in fake.tasks.values()}
    assert failing not in made and made
    done = {key for key, status in _action_status(store).items() if status == "done"}
    assert done == set(fake.tasks)  # every task that was created is recorded as done

    fake.failing_contact = None
    job(fake, store).run()
    assert crm_state(fake)["tasks"] == crm_state(probe)["tasks"]  # the failed one too, none twice


@dataclass
class BatchCrm(FakeCrm):
    """A fake CRM that creates tasks ``task_batch`` a call; a call holding one contact's task can fail."""

    task_batch: int = 2
    failing_contact: str | None = None
    batches: list[list[TaskRequest]] = field(default_factory=list)

    def create_tasks(self, tasks: list[TaskRequest]) -> list[TaskResult]:
        assert 1 <= len(tasks) <= self.task_batch
        self.batches.append(list(tasks))
        if any(t.contact_id == self.failing_contact for t in tasks):
            raise TransientError("the CRM is down for this call")
        return [super(BatchCrm, self).create_task(t) for t in tasks]

    def create_task(self, task: TaskRequest) -> TaskResult:
        raise AssertionError("an adapter with create_tasks is given its tasks in batches")


def batched(**kw: object) -> BatchCrm:
    return _like_crm(BatchCrm, **kw)


def test_tasks_go_task_batch_a_call_and_the_crm_ends_as_with_one_a_call(
    store: StateStore, tmp_path: Path
) -> None:
    serial = crm()
    job(serial, open_store(f"sqlite:///{tmp_path}/serial.db")).run()
    fake = batched()
    result = job(fake, store).run()
    assert len(serial.tasks) >= 3
    assert crm_state(fake)["tasks"] == crm_state(serial)["tasks"]
    assert result.counts["tasks_created"] == len(fake.tasks)
    assert len(fake.batches) == -(-len(fake.tasks) // 2)  # ceil: full calls, then the rest
    assert all(not t.may_exist for call in fake.batches for t in call)  # first attempts: nothing to look for
    assert job(fake, store).run().counts.get("tasks_created", 0) == 0


def test_a_runs_tasks_wait_to_fill_a_call_and_the_rest_go_at_its_end(store: StateStore) -> None:
    """Decided 2 contacts a batch, the run's tasks still go in as few calls as task_batch allows."""
    fake = batched(task_batch=100)
    result = job(fake, store, decide_batch=2).run()
    assert result.counts["tasks_created"] == len(fake.tasks) >= 3
    assert len(fake.batches) == 1


def test_a_failed_batch_call_is_tried_again_next_run_as_tasks_that_may_exist(
    store: StateStore, tmp_path: Path
) -> None:
    probe = batched()
    job(probe, open_store(f"sqlite:///{tmp_path}/probe.db")).run()
    failing = sorted(t["contact_id"] for t in probe.tasks.values())[0]

    fake = batched(failing_contact=failing)
    with pytest.raises(TransientError):
        job(fake, store).run()
    done = {key for key, status in _action_status(store).items() if status == "done"}
    assert done == set(fake.tasks)  # what a call before the failure created is recorded
    failed = {t.key for t in fake.batches[-1]}

    fake.failing_contact = None
    fake.batches.clear()
    job(fake, store).run()
    assert crm_state(fake)["tasks"] == crm_state(probe)["tasks"]  # the failed call's tasks too, none twice
    retried = {t.key: t.may_exist for call in fake.batches for t in call}
    assert failed <= set(retried) and all(retried[k] for k in failed)


def _action_status(store: StateStore) -> dict[str, str]:
    with store.transaction() as s:
        return {row.key: row.status for row in s.scalars(select(ActionRow))}
