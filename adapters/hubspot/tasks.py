"""Tasks for sales reps, created once per action key.

A task carries its key in the custom task property ``leadsync_action_key`` (``leadsync setup``
creates it). When an earlier attempt may have created it (``TaskRequest.may_exist``), the adapter
first searches tasks by that key, so a run that crashed between creating a task and recording
it does not create it again. It is associated to the
contact with HubSpot's task→contact association type 204 and assigned through
``hubspot_owner_id`` (https://developers.hubspot.com/docs/api/crm/tasks).

Search is eventually consistent, so a task created a moment ago may not be found yet; keys
created by this adapter object are also remembered in memory.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import structlog

from connector.api import AuthError, CrmError, QuotaExhausted, RetryableError, TaskRequest, TaskResult

from .client import HubSpotClient
from .convert import format_ts
from .paging import SearchFilter, SearchRequest

__all__ = ["ACTION_KEY", "TASK_TO_CONTACT", "TaskWriter"]

ACTION_KEY = "leadsync_action_key"
TASK_TO_CONTACT = 204
log = structlog.get_logger("leadsync.hubspot.tasks")


class TaskWriter:
    """Creates HubSpot tasks idempotently by ``TaskRequest.key``."""

    def __init__(self, client: HubSpotClient, clock: Callable[[], datetime] | None = None) -> None:
        self.client = client
        self._now = clock or (lambda: datetime.now(UTC))
        self._created: dict[str, str] = {}

    def find(self, key: str) -> str | None:
        """The id of the task that carries ``key``, if HubSpot has one."""
        if key in self._created:
            return self._created[key]
        request = SearchRequest(
            groups=((SearchFilter(ACTION_KEY, "EQ", key),),),
            sort="hs_createdate",
            properties=(ACTION_KEY,),
            limit=10,
        )
        results = self.client.search("tasks", request).get("results") or []
        matches = [r for r in results if (r.get("properties") or {}).get(ACTION_KEY) in (None, key)]
        return str(matches[0]["id"]) if matches else None

    def create(self, task: TaskRequest) -> TaskResult:
        existing = self.find(task.key) if task.may_exist else self._created.get(task.key)
        if existing:
            log.info("task_exists", key=task.key, task_id=existing)
            return TaskResult(task.key, existing, created=False)
        props = {
            "hs_task_subject": task.title,
            "hs_task_body": task.body,
            "hs_timestamp": format_ts(task.due_at or self._now()),  # HubSpot's due date
            "hs_task_status": "NOT_STARTED",
            "hs_task_type": "TODO",
            ACTION_KEY: task.key,
        }
        if task.owner_id:
            props["hubspot_owner_id"] = task.owner_id
        try:
            record = self.client.create("tasks", props, (task.contact_id, TASK_TO_CONTACT))
        except (AuthError, QuotaExhausted, RetryableError):
            raise
        except CrmError as exc:
            log.warning("task_rejected", key=task.key, status=exc.status)
            return TaskResult(task.key, None, error=f"{exc}")
        task_id = str(record.get("id"))
        self._created[task.key] = task_id
        log.info("task_created", key=task.key, task_id=task_id, contact_id=task.contact_id)
        return TaskResult(task.key, task_id, created=True)
