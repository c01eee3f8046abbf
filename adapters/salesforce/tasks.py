"""Tasks for reps, once per action key, up to 200 a call: Salesforce enforces the "once" itself.

``leadsync setup`` gives Task a text field ``Leadsync_Key__c`` marked External ID and Unique.
Creating a task with a key that exists fails with ``DUPLICATE_VALUE``, so a create is always safe
to send again — after a crash, a timeout, a retry — and the existing task is then looked up by its
key. No search index to wait for.

``create_many`` (the adapter's ``create_tasks``, which the sync loop uses) sends one sObject
Collections create (``POST composite/sobjects``, ``allOrNone: false``) per 200 tasks: Salesforce
answers 200 with one result per record, in order, so a refused task fails alone. Per record:
created → its id; ``DUPLICATE_VALUE`` → made before, and ONE query (``Leadsync_Key__c IN (…)``)
finds the existing tasks of all the call's duplicates (more only when their keys would not fit
one query's URI); any other refusal → the task's error, a dead letter. A record that is locked
(``UNABLE_TO_LOCK_ROW``: its lead's activity roll-up is held by another transaction) is sent
again with the others locked, with backoff; still locked, the call raises ``TransientError``,
which stands for the whole call: the next attempt's create finds the tasks this one made.
``create`` (the adapter's ``create_task``) is the same for one task through ``POST
sobjects/Task``: one call either way, and the single-record create is what the independent fake
in ``tests_mockforce/`` can check.

The task is assigned to the owner (``OwnerId``; a lead still in a queue has none Salesforce lets
own a task, so the integration user does and the description names the queue), names the lead
or contact (``WhoId``), is due on ``ActivityDate`` (a date, in the org's time zone — Salesforce
shows dates as they are) and carries the exact due time in its description.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from datetime import tzinfo
from urllib.parse import quote_plus

import structlog

from leadsync.api import (
    JSON,
    AuthError,
    CrmError,
    QuotaExhausted,
    RetryableError,
    TaskRequest,
    TaskResult,
    TransientError,
)
from leadsync.api.writekit import task_due

from .activities import KEY_FIELD
from .client import SalesforceClient
from .reads import soql_list
from .writes import AUTO_ASSIGN_OFF, COLLECTION, TASK_REFUSED, error_text

__all__ = ["KEYS_PER_URI", "TaskWriter", "task_record"]

log = structlog.get_logger("leadsync.salesforce.tasks")
SUBJECT_MAX = 255
QUEUE_PREFIX = "00G"
DUPLICATE = "DUPLICATE_VALUE"
_AGAIN = {"UNABLE_TO_LOCK_ROW", "REQUEST_RUNNING_TOO_LONG", "SERVER_UNAVAILABLE"}
# A query is a GET: Salesforce answers 414 past 16,384 bytes of URI, 431 past 16,384 of URI and
# headers. The key list may take this many URL-encoded bytes, leaving ~1.3 KB for the rest of the
# request line (~100 bytes) and the headers (~500 with the bearer token): 200 of leadsync's keys
# (``trigger:contact id:time or activity id``, 45-60 characters, 65-75 bytes encoded) fit.
KEYS_PER_URI = 15_000


def task_record(task: TaskRequest, zone: tzinfo) -> JSON:
    """The Task fields for ``task``: key, lead or contact, owner (or the queue noted), due date."""
    record: JSON = {
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
    due_date, description = task_due(task, zone, description)
    if due_date:
        record["ActivityDate"] = due_date
    if description:
        record["Description"] = description
    return record


class TaskWriter:
    """Creates tasks, each once per key, ``COLLECTION`` to a call."""

    def __init__(
        self,
        client: SalesforceClient,
        zone: tzinfo,
        *,
        lock_retries: int = 3,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.client = client
        self.zone = zone
        self.lock_retries = lock_retries
        # lock backoffs wait through the retry policy (its clock, or a test's recorder)
        self.sleep = sleep or client.retry.sleep

    def create(self, task: TaskRequest) -> TaskResult:
        """One task, one ``POST sobjects/Task``: the single-record create, as simple a fake knows."""
        try:
            # The header also covers the lead a task's roll-up touches in the same transaction.
            body = self.client.rest("POST", "sobjects/Task", task_record(task, self.zone), AUTO_ASSIGN_OFF)
            item: JSON = {"success": True, "id": (body or {}).get("id"), "errors": []}
        except CrmError as exc:
            if (errors := _refusal(exc)) is None:
                raise
            item = {"success": False, "errors": errors}
        return self._results([task], {0: item})[0]

    def create_many(self, tasks: Sequence[TaskRequest]) -> list[TaskResult]:
        """One result per task, in order: one collection call per 200 tasks."""
        results: list[TaskResult] = []
        for start in range(0, len(tasks), COLLECTION):
            chunk = tasks[start : start + COLLECTION]
            results += self._results(chunk, self._answers(chunk))
        return results

    def _results(self, chunk: Sequence[TaskRequest], answers: dict[int, JSON]) -> list[TaskResult]:
        """Each task's result from Salesforce's answer for it; the duplicates' tasks found by key."""
        duplicates = {i: item for i, item in answers.items() if DUPLICATE in _codes(item)}
        found = self._existing({i: chunk[i] for i in duplicates}, duplicates)
        results = [found[i] if i in found else _outcome(t, answers[i]) for i, t in enumerate(chunk)]
        log.info(
            "tasks_sent",
            tasks=len(chunk),
            created=sum(r.created for r in results),
            found=sum(r.crm_id is not None and not r.created for r in results),
            refused=sum(r.crm_id is None for r in results),
        )
        return results

    def _answers(self, chunk: Sequence[TaskRequest]) -> dict[int, JSON]:
        """Salesforce's result for each task (by index): the locked ones sent again, with backoff."""
        answers: dict[int, JSON] = {}
        pending = list(range(len(chunk)))
        for attempt in range(self.lock_retries + 1):
            if attempt:
                log.info("tasks_locked", tasks=len(pending), attempt=attempt)
                self.sleep(0.5 * 2 ** (attempt - 1))
            items = self._send([chunk[i] for i in pending])
            answers.update(zip(pending, items, strict=True))
            pending = [i for i, item in zip(pending, items, strict=True) if _codes(item) & _AGAIN]
            if not pending:
                return answers
        raise TransientError(
            f"{len(pending)} of {len(chunk)} tasks still locked after {self.lock_retries + 1} tries "
            f"({', '.join(sorted(_codes(answers[pending[0]])))}); the next run finds the ones created"
        )

    def _send(self, tasks: Sequence[TaskRequest]) -> list[JSON]:
        records = [{"attributes": {"type": "Task"}, **task_record(t, self.zone)} for t in tasks]
        try:
            # The header also covers the lead a task's roll-up touches in the same transaction.
            body = self.client.rest(
                "POST", "composite/sobjects", {"allOrNone": False, "records": records}, AUTO_ASSIGN_OFF
            )
        except CrmError as exc:
            if (errors := _refusal(exc)) is None:
                raise
            # The whole request refused (malformed): every task fails with it.
            return [{"success": False, "errors": errors} for _ in tasks]
        items = body if isinstance(body, list) else []
        if len(items) != len(tasks):
            raise CrmError(f"Salesforce answered {len(items)} results for {len(tasks)} tasks")
        return [dict(i) for i in items]

    def _existing(self, tasks: dict[int, TaskRequest], refusals: dict[int, JSON]) -> dict[int, TaskResult]:
        """The tasks made before for the keys Salesforce called duplicates, in one query."""
        if not tasks:
            return {}
        by_key: dict[str, str] = {}
        for keys in _fitting(sorted({t.key for t in tasks.values()})):
            match = f"= {soql_list(keys)[1:-1]}" if len(keys) == 1 else f"IN {soql_list(keys)}"
            soql = f"SELECT Id, {KEY_FIELD} FROM Task WHERE {KEY_FIELD} {match}"
            for row in self.client.query(soql):
                by_key.setdefault(str(row.get(KEY_FIELD)), str(row["Id"]))
        out = {}
        for i, task in tasks.items():
            task_id = by_key.get(task.key) or _folded(by_key, task.key)
            if task_id:
                out[i] = TaskResult(task.key, task_id)
            else:
                out[i] = TaskResult(
                    task.key,
                    None,
                    error=f"Salesforce says a task with key {task.key} exists, but none is visible: "
                    f"{error_text(refusals[i])}"[:500],
                )
        return out


def _outcome(task: TaskRequest, item: JSON) -> TaskResult:
    """A task Salesforce created, or refused (not as a duplicate): the refusal is a dead letter."""
    if not item.get("success"):
        return TaskResult(task.key, None, error=f"{TASK_REFUSED}{error_text(item)}")
    task_id = str(item.get("id") or "")
    if not task_id:
        return TaskResult(task.key, None, error=f"Salesforce created no task: {item!r}"[:500])
    return TaskResult(task.key, task_id, created=True)


def _refusal(exc: CrmError) -> list[JSON] | None:
    """A request Salesforce refused (400) as a collection item's errors; None for an error that
    stands for the whole call as ever (sign-in, the API budget, one worth trying again, 5xx)."""
    if exc.status != 400 or isinstance(exc, AuthError | QuotaExhausted | RetryableError):
        return None
    try:
        errors = json.loads(exc.body or "")
    except ValueError:
        errors = None
    if not isinstance(errors, list) or not all(isinstance(e, dict) for e in errors) or not errors:
        return [{"statusCode": "REQUEST_REFUSED", "message": exc.body or str(exc)}]
    return [
        {"statusCode": e.get("errorCode"), "message": e.get("message"), "fields": e.get("fields")}
        for e in errors
    ]


def _codes(item: JSON) -> set[str]:
    return {str(e.get("statusCode") or "") for e in item.get("errors") or []}


def _folded(by_key: dict[str, str], key: str) -> str | None:
    """A key SOQL matched without regard to case (a key of another case than the one sent)."""
    return next((tid for k, tid in by_key.items() if k.casefold() == key.casefold()), None)


def _fitting(keys: Sequence[str]) -> Iterator[list[str]]:
    """The keys in lists whose ``IN (…)`` fits a query's URI: one list for a call's usual keys."""
    chunk: list[str] = []
    size = 0
    for key in keys:
        cost = len(quote_plus(soql_list([key]))) + 3  # the comma between, URL-encoded
        if chunk and size + cost > KEYS_PER_URI:
            yield chunk
            chunk, size = [], 0
        chunk.append(key)
        size += cost
    if chunk:
        yield chunk
