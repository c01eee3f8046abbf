"""Tasks for reps, once per action key: Zoho enforces the "once" itself.

``leadsync setup`` gives Tasks a text field ``Leadsync_Key`` that does not allow duplicates.
Creating a task whose key exists is refused ``DUPLICATE_DATA`` — whose ``details`` name the
existing record (``duplicate_record.id``) — so a create is always safe to send again, after a
crash, a timeout or a retry. When the refusal does not carry the id, the task is looked up by
its key (search). One call for a new task, one for one made before.

The task is owned by the lead's owner (``Owner``), linked to a lead through ``What_Id`` +
``$se_module: Leads`` or to a contact through ``Who_Id``, due on ``Due_Date`` (a date, in the
org's time zone) with the exact due time in its description.
https://www.zoho.com/crm/developer/docs/api/v8/insert-records.html
"""

from __future__ import annotations

from datetime import tzinfo

import structlog

from connector.api import CrmError, TaskRequest, TaskResult

from .activities import KEY_FIELD
from .client import JSON, ZohoClient
from .paging import pages

__all__ = ["TaskWriter"]

SUBJECT_MAX = 255
log = structlog.get_logger("leadsync.zoho.tasks")


class TaskWriter:
    def __init__(self, client: ZohoClient, zone: tzinfo, triggers: list[str] | None = None) -> None:
        self.client = client
        self.zone = zone
        self.triggers = triggers or []

    def create(self, task: TaskRequest, module: str | None) -> TaskResult:
        if module not in ("Leads", "Contacts"):
            return TaskResult(task.key, None, error=f"`{task.contact_id}` is no Zoho lead or contact")
        record: JSON = {
            KEY_FIELD: task.key,
            "Subject": task.title[:SUBJECT_MAX],
            "Status": "Not Started",
            "Priority": "High",
        }
        if module == "Leads":
            record["What_Id"] = {"id": task.contact_id}
            record["$se_module"] = "Leads"
        else:
            record["Who_Id"] = {"id": task.contact_id}
        if task.owner_id:
            record["Owner"] = {"id": task.owner_id}
        description = task.body
        if task.due_at is not None:
            local = task.due_at.astimezone(self.zone)
            record["Due_Date"] = local.date().isoformat()
            due = f"Due by {local:%Y-%m-%d %H:%M} ({local.tzname()})."
            description = f"{due}\n\n{description}" if description else due
        if description:
            record["Description"] = description
        answer = self.client.request("POST", "/Tasks", body={"data": [record], "trigger": self.triggers})
        items = (answer.body or {}).get("data") or [{}]
        item = items[0] if isinstance(items[0], dict) else {}
        code = str(item.get("code") or "")
        raw = item.get("details")
        details: JSON = raw if isinstance(raw, dict) else {}
        if code == "SUCCESS" and details.get("id"):
            log.info("task_created", key=task.key, task=details["id"])
            return TaskResult(task.key, str(details["id"]), created=True)
        if code == "DUPLICATE_DATA":
            found = (details.get("duplicate_record") or {}).get("id")
            return TaskResult(task.key, str(found)) if found else self._existing(task.key)
        return TaskResult(
            task.key, None, error=f"Zoho refused the task: {code}: {item.get('message')} {details}"[:500]
        )

    def _existing(self, key: str) -> TaskResult:
        escaped = key.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").replace(",", "\\,")
        params = {"criteria": f"({KEY_FIELD}:equals:{escaped})", "fields": KEY_FIELD}
        try:
            rows = [r for page in pages(self.client, "/Tasks/search", params, tokens=False) for r in page]
        except CrmError as exc:
            return TaskResult(
                key, None, error=f"Zoho says a task with key {key} exists; looking it up failed: {exc}"
            )
        match = next((r for r in rows if r.get(KEY_FIELD) == key), None)
        if match is None:
            return TaskResult(key, None, error=f"Zoho says a task with key {key} exists, but none is visible")
        return TaskResult(key, str(match.get("id")))
