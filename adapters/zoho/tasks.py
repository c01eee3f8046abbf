"""Tasks for reps, once per action key, up to 100 a call: Zoho enforces the "once" itself.

``leadsync setup`` gives Tasks a text field ``Leadsync_Key`` that does not allow duplicates.
Creating a task whose key exists is refused ``DUPLICATE_DATA`` — whose ``details`` name the
existing record (``duplicate_record.id``) — so a create is always safe to send again, after a
crash, a timeout or a retry. When the refusal does not carry the id, the task is looked up by
its key: one search for up to 50 such keys (``(Leadsync_Key:in:…)``; ``equals`` for one).

One insert (``POST /Tasks``) takes up to 100 tasks and Zoho answers each record on its own, in
order (201 when all were created, 207 when some were, 400 when none): a created record gives its
id, a duplicate the existing task's, and any other refusal (``INVALID_DATA``, a deleted lead…) an
error for that task alone, which the outbox keeps as a dead letter. An error of the whole call
(auth, credits, 5xx after the retries) is raised: the outbox then counts an attempt for every
task of the call, and sending them again finds the ones this call created.

The task is owned by the lead's owner (``Owner``), linked to a lead through ``What_Id`` +
``$se_module: Leads`` or to a contact through ``Who_Id``, due on ``Due_Date`` (a date, in the
org's time zone) with the exact due time in its description.
https://www.zoho.com/crm/developer/docs/api/v8/insert-records.html
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import tzinfo

import structlog

from leadsync.api import JSON, AuthError, CrmError, QuotaExhausted, RetryableError, TaskRequest, TaskResult
from leadsync.api.writekit import task_due

from .activities import KEY_FIELD, SEARCH_CHUNK
from .client import ZohoClient
from .paging import pages

__all__ = ["TASK_BATCH", "TaskWriter"]

TASK_BATCH = 100  # records one insert takes (Zoho's most)
SUBJECT_MAX = 255
PEOPLE = ("Leads", "Contacts")
# Errors that stand for the whole connection, not for one task: never made a task's dead letter.
_WHOLE_CALL = (AuthError, QuotaExhausted, RetryableError)
log = structlog.get_logger("leadsync.zoho.tasks")


class TaskWriter:
    def __init__(self, client: ZohoClient, zone: tzinfo, triggers: list[str] | None = None) -> None:
        self.client = client
        self.zone = zone
        self.triggers = triggers or []

    def create(self, task: TaskRequest, module: str | None) -> TaskResult:
        """One task, ``module`` being its contact's (Leads, Contacts, or None: neither)."""
        return self.create_many([task], {task.contact_id: module} if module else {})[0]

    def create_many(self, tasks: Sequence[TaskRequest], modules: Mapping[str, str]) -> list[TaskResult]:
        """One result per task, in order; ``modules`` says Leads or Contacts per contact id.

        A task whose contact is neither is refused here, unsent. A key given twice is sent once
        (Zoho would refuse the second as a duplicate of the first): the later ones are "found".
        """
        results: dict[str, TaskResult] = {}
        todo: dict[str, TaskRequest] = {}
        for task in tasks:
            if task.key in results or task.key in todo:
                continue
            if modules.get(task.contact_id) in PEOPLE:
                todo[task.key] = task
            else:
                results[task.key] = TaskResult(
                    task.key, None, error=f"`{task.contact_id}` is no Zoho lead or contact"
                )
        sendable = list(todo.values())
        for start in range(0, len(sendable), TASK_BATCH):
            results.update(self._insert(sendable[start : start + TASK_BATCH], modules))
        out: list[TaskResult] = []
        given: set[str] = set()
        for task in tasks:
            first = results[task.key]
            out.append(replace(first, created=False) if task.key in given else first)
            given.add(task.key)
        return out

    # -- one insert -----------------------------------------------------------------------------

    def record(self, task: TaskRequest, module: str) -> JSON:
        """The Tasks record for ``task``, linked to its lead or contact."""
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
        due_date, description = task_due(task, self.zone, task.body)
        if due_date:
            record["Due_Date"] = due_date
        if description:
            record["Description"] = description
        return record

    def _insert(self, chunk: Sequence[TaskRequest], modules: Mapping[str, str]) -> dict[str, TaskResult]:
        """One ``POST /Tasks`` for up to 100 tasks of distinct keys; each one's result by key."""
        body = {"data": [self.record(t, modules[t.contact_id]) for t in chunk], "trigger": self.triggers}
        answer = self.client.request("POST", "/Tasks", body=body)
        items = (answer.body or {}).get("data")
        if not isinstance(items, list) or len(items) != len(chunk):
            # Which records were made is unknown: the whole call failed, and sending it again is safe.
            raise CrmError(
                f"POST /Tasks: Zoho answered HTTP {answer.status} without one result per task "
                f"({len(chunk)} sent)",
                status=answer.status,
                body=repr(answer.body)[:500],
            )
        out: dict[str, TaskResult] = {}
        unnamed: list[str] = []
        for task, raw in zip(chunk, items, strict=True):
            item: JSON = raw if isinstance(raw, dict) else {"code": "ERROR", "message": str(raw)}
            outcome = _outcome(task.key, item)
            if outcome is None:
                unnamed.append(task.key)
            else:
                out[task.key] = outcome
        if unnamed:
            out.update(self._existing(unnamed))
        made = sum(r.created for r in out.values())
        refused = sum(r.crm_id is None for r in out.values())
        found = len(out) - made - refused
        log.info("tasks_sent", tasks=len(chunk), created=made, found=found, refused=refused)
        return out

    # -- duplicates Zoho did not name -----------------------------------------------------------

    def _existing(self, keys: Sequence[str]) -> dict[str, TaskResult]:
        """The tasks Zoho says exist, found by their keys: one search per 50 keys."""
        out: dict[str, TaskResult] = {}
        for start in range(0, len(keys), SEARCH_CHUNK):
            chunk = keys[start : start + SEARCH_CHUNK]
            params = {"criteria": _criteria(chunk), "fields": KEY_FIELD}
            try:
                rows = [r for page in pages(self.client, "/Tasks/search", params, tokens=False) for r in page]
            except _WHOLE_CALL:
                raise  # the tasks exist: the next attempt finds them, none becomes a dead letter
            except CrmError as exc:
                out.update((k, _unseen(k, f"looking it up failed: {exc}")) for k in chunk)
                continue
            # Zoho's search matches loosely (``equals`` behaves like "contains"): the exact key only
            found = {str(r.get(KEY_FIELD)): str(r.get("id")) for r in rows if r.get("id")}
            for key in chunk:
                out[key] = (
                    TaskResult(key, found[key]) if key in found else _unseen(key, "but none is visible")
                )
        return out


def _unseen(key: str, why: str) -> TaskResult:
    return TaskResult(key, None, error=f"Zoho says a task with key {key} exists, {why}")


def _outcome(key: str, item: JSON) -> TaskResult | None:
    """What Zoho's answer for one record means; None: a duplicate to look up by key."""
    code = str(item.get("code") or "")
    raw = item.get("details")
    details: JSON = raw if isinstance(raw, dict) else {}
    if code == "SUCCESS" and details.get("id"):
        return TaskResult(key, str(details["id"]), created=True)
    # A duplicate of leadsync's key (an org's own unique field on Tasks is a plain refusal)
    if code == "DUPLICATE_DATA" and details.get("api_name") in (None, KEY_FIELD):
        found = (details.get("duplicate_record") or {}).get("id")
        return TaskResult(key, str(found)) if found else None
    error = f"Zoho refused the task: {code}: {item.get('message')} {details}"
    return TaskResult(key, None, error=error[:500])


def _criteria(keys: Sequence[str]) -> str:
    """Search criteria matching these keys: ``equals`` for one, ``in`` for several."""
    escaped = [_escape(k) for k in keys]
    if len(escaped) == 1:
        return f"({KEY_FIELD}:equals:{escaped[0]})"
    return f"({KEY_FIELD}:in:{','.join(escaped)})"


def _escape(value: str) -> str:
    """A criteria value: backslash, parentheses and commas escaped with a backslash, as Zoho asks."""
    return value.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").replace(",", "\\,")
