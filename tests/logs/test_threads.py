"""A run's context reaches the threads the loop starts: the read-ahead reader and the task pool."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import structlog

from leadsync.api import Contact, Page, TaskRequest, TaskResult
from leadsync.sync.loop import SyncJob
from leadsync.sync.state import StateStore
from tests.logs.support import Captured
from tests.sync.fake_crm import FakeCrm
from tests.sync.test_loop import NOW, RULES, crm

log = structlog.get_logger("leadsync.adapters.threaded")


@dataclass
class ThreadedCrm(FakeCrm):
    """The fake CRM, read ahead on a thread of the loop's and given tasks four at a time."""

    concurrent_reads: bool = True
    task_concurrency: int = 4

    def read_contacts(self, cursor: str | None) -> Iterator[Page[Contact]]:
        for page in super().read_contacts(cursor):
            log.info("threaded_page", thread=threading.current_thread().name)
            yield page

    def create_task(self, task: TaskRequest) -> TaskResult:
        log.info("threaded_task", thread=threading.current_thread().name)
        return super().create_task(task)


def test_lines_from_the_loops_threads_name_the_run(json_log: Captured, leadsync_store: StateStore) -> None:
    fake = ThreadedCrm(owners=crm().owners)
    fake.contacts, fake.modified, fake.activities = (base := crm()).contacts, base.modified, base.activities
    result = SyncJob("threaded", fake, RULES, leadsync_store, clock=lambda: NOW).run()
    pages, tasks = json_log.events("threaded_page"), json_log.events("threaded_task")
    assert pages and tasks
    assert {e["thread"] for e in pages} == {"leadsync-read-ahead"}
    assert any(e["thread"].startswith("leadsync-tasks") for e in tasks)
    assert {(e["connection"], e["run_id"]) for e in pages + tasks} == {("threaded", result.run_id)}
