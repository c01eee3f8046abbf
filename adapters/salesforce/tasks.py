"""Tasks for reps, once per action key: Salesforce enforces the "once" itself.

``leadsync setup`` gives Task a text field ``Leadsync_Key__c`` marked External ID and Unique.
Creating a task with a key that exists fails with ``DUPLICATE_VALUE``, so a create is always safe
to send again — after a crash, a timeout, a retry — and the existing task is then looked up by its
key. One call for a new task, two for one made before; no search index to wait for.

The task is assigned to the owner (``OwnerId``; a lead still in a queue has none Salesforce lets
own a task, so the integration user does and the description names the queue), names the lead
or contact (``WhoId``), is due
on ``ActivityDate`` (a date, in the org's time zone — Salesforce shows dates as they are) and
carries the exact due time in its description.
"""

from __future__ import annotations

from datetime import tzinfo

import structlog

from connector.api import CrmError, TaskRequest, TaskResult

from .activities import KEY_FIELD
from .client import SalesforceClient
from .reads import soql_list
from .writes import AUTO_ASSIGN_OFF

__all__ = ["TaskWriter"]

log = structlog.get_logger("leadsync.salesforce.tasks")
SUBJECT_MAX = 255
QUEUE_PREFIX = "00G"


class TaskWriter:
    def __init__(self, client: SalesforceClient, zone: tzinfo) -> None:
        self.client = client
        self.zone = zone

    def create(self, task: TaskRequest) -> TaskResult:
        record: dict[str, object] = {
            KEY_FIELD: task.key,
            "WhoId": task.contact_id,
            "Subject": task.title[:SUBJECT_MAX],
            "Status": "Not Started",
            "Priority": "High",
        }
        description = task.body
        if task.owner_id and task.owner_id.startswith(QUEUE_PREFIX):
            # Salesforce lets no queue own a task: the integration user holds it, and says whose it is.
            note = f"For the lead queue {task.owner_id}: the lead has no owner yet."
            description = f"{note}\n\n{description}" if description else note
        elif task.owner_id:
            record["OwnerId"] = task.owner_id
        if task.due_at is not None:
            local = task.due_at.astimezone(self.zone)
            record["ActivityDate"] = local.date().isoformat()
            due = f"Due by {local:%Y-%m-%d %H:%M} ({local.tzname()})."
            description = f"{due}\n\n{description}" if description else due
        if description:
            record["Description"] = description
        try:
            # The header also covers the lead a task's roll-up touches in the same transaction.
            body = self.client.rest("POST", "sobjects/Task", record, AUTO_ASSIGN_OFF)
        except CrmError as exc:
            if "DUPLICATE_VALUE" in (exc.body or "") and exc.status == 400:
                return self._existing(task.key)
            if exc.status == 400:  # the record itself is refused (a bad owner, a closed lead)
                return TaskResult(task.key, None, error=f"Salesforce refused the task: {exc.body or exc}")
            raise
        task_id = str((body or {}).get("id") or "")
        if not task_id:
            return TaskResult(task.key, None, error=f"Salesforce created no task: {body!r}"[:500])
        log.info("task_created", key=task.key, task=task_id)
        return TaskResult(task.key, task_id, created=True)

    def _existing(self, key: str) -> TaskResult:
        rows = self.client.query(f"SELECT Id FROM Task WHERE {KEY_FIELD} = {soql_list([key])[1:-1]}")
        if not rows:
            return TaskResult(
                key, None, error=f"Salesforce says a task with key {key} exists, but none is visible"
            )
        return TaskResult(key, str(rows[0]["Id"]))
