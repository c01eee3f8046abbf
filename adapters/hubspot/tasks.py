"""Tasks for sales reps, created once per action key, up to 100 a call.

A task carries its key in the custom task property ``leadsync_task_key``, which ``leadsync setup``
creates with *unique values*: HubSpot itself refuses a second task with a key, so two processes
(or a lost answer and its retry) cannot make one twice. Before, the key was the non-unique
``leadsync_action_key``; HubSpot cannot make an existing property unique, so setup copies those
keys into the new property (``provisioning``). A task is associated to the contact with HubSpot's
task→contact association type 204 and assigned through ``hubspot_owner_id`` (https://developers.hubspot.com/docs/api/crm/tasks).

- **Many a call.** Tasks go out through ``POST /crm/v3/objects/tasks/batch/create``, each input
  tagged ``objectWriteTraceId`` with its key, so every result and every per-record error (207)
  names the task it belongs to.
- **Once per key.** When an earlier attempt may have created some of them
  (``TaskRequest.may_exist``), one search by key (``IN``, up to 100 keys) comes first, so a run
  that crashed between creating tasks and recording them does not create them again. Keys this
  adapter object created are also remembered in memory (search is eventually consistent).
- **Never sent twice blindly.** A create that fails where HubSpot may have carried it out (a 5xx,
  no answer) is not retried as it is: the writer waits for the search index, looks the keys up,
  and creates only the tasks it does not find, once. Failing again, the error goes to the loop,
  and the next run looks the tasks up before creating them.
- **A key HubSpot already holds** (its refusal names the key property, or is a 409) is looked up
  after the search index's lag: the task found is this key's task, not a dead letter.
- **One bad task stays one.** A whole batch refused (400: an owner HubSpot does not know, say)
  is sent again one task a call, so only the bad one becomes a dead letter.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from leadsync.api import JSON, AuthError, CrmError, QuotaExhausted, RetryableError, TaskRequest, TaskResult

from .client import HubSpotClient
from .convert import format_ts
from .errors import MaybeSent
from .paging import SearchFilter, SearchRequest
from .refusals import property_cause, scope_cause

__all__ = ["BATCH", "LEGACY_KEY", "TASK_KEY", "TASK_TO_CONTACT", "TaskWriter"]

TASK_KEY = "leadsync_task_key"  # unique values (leadsync setup)
LEGACY_KEY = "leadsync_action_key"  # leadsync's key property before it was unique
TASK_TO_CONTACT = 204
BATCH = 100  # HubSpot's batch limit; also the values one IN filter takes here
INDEX_WAIT_S = 5.0  # before looking up tasks a failed create may have made: search lags writes
log = structlog.get_logger("leadsync.hubspot.tasks")


class TaskWriter:
    """Creates HubSpot tasks idempotently by ``TaskRequest.key``."""

    def __init__(self, client: HubSpotClient) -> None:
        self.client = client
        self._created: dict[str, str] = {}

    def find(self, keys: Sequence[str]) -> dict[str, str]:
        """The ids of the tasks that carry these keys, for those HubSpot has (one search per 100)."""
        found = {k: self._created[k] for k in keys if k in self._created}
        rest = sorted({k for k in keys if k not in found})
        for start in range(0, len(rest), BATCH):
            chunk = rest[start : start + BATCH]
            request = SearchRequest(
                groups=((SearchFilter(TASK_KEY, "IN", values=tuple(chunk)),),),
                sort="hs_createdate",
                properties=(TASK_KEY,),
                limit=200,
            )
            for record in self.client.search("tasks", request).get("results") or []:
                key = (record.get("properties") or {}).get(TASK_KEY)
                if key in chunk and key not in found:  # the oldest, if a key was ever made twice
                    found[key] = str(record["id"])
        return found

    def create(self, tasks: Sequence[TaskRequest]) -> list[TaskResult]:
        """One result per task, in order: found from before, created now, or refused."""
        if len(tasks) > BATCH:
            raise ValueError(f"at most {BATCH} tasks a call, not {len(tasks)}")
        may_exist = [t.key for t in tasks if t.may_exist]
        found = self.find(may_exist) if may_exist else {}
        found.update({t.key: self._created[t.key] for t in tasks if t.key in self._created})
        results = {k: TaskResult(k, crm_id, created=False) for k, crm_id in found.items()}
        for key, crm_id in found.items():
            log.info("task_exists", key=key, task_id=crm_id)
        todo = list({t.key: t for t in tasks if t.key not in results}.values())
        if todo:
            results.update(self._create_unsure(todo))
        return [results[t.key] for t in tasks]

    def _create_unsure(self, tasks: list[TaskRequest]) -> dict[str, TaskResult]:
        """Create; if HubSpot may have done it although the call failed, look before creating again."""
        try:
            return self._create_batch(tasks)
        except MaybeSent as exc:
            log.warning("task_create_unsure", tasks=len(tasks), error=str(exc)[:200])
            found = self._find_after_lag(tasks)
            results = {k: TaskResult(k, crm_id, created=True) for k, crm_id in found.items()}
            todo = [t for t in tasks if t.key not in found]
            if todo:
                results.update(self._create_batch(todo))  # MaybeSent again: the next run looks
            return results

    def _create_batch(self, tasks: list[TaskRequest]) -> dict[str, TaskResult]:
        inputs = [(t.key, self._properties(t), (t.contact_id, TASK_TO_CONTACT)) for t in tasks]
        try:
            _, body = self.client.batch_create("tasks", inputs)
        except AuthError as exc:
            scope = scope_cause(exc)
            if scope is None:
                raise
            cause, name = scope
            text = str(exc)
            return {t.key: TaskResult(t.key, None, error=text, cause=cause, cause_name=name) for t in tasks}
        except (QuotaExhausted, RetryableError, MaybeSent):
            raise
        except CrmError as exc:
            if len(tasks) == 1:
                if _held(exc.status, f"{exc} {exc.body or ''}"):
                    return self._already_there(tasks)
                log.warning("task_rejected", key=tasks[0].key, status=exc.status)
                found = property_cause(exc.body, inputs[0][1])
                if found is not None:
                    key = tasks[0].key
                    return {key: TaskResult(key, None, error=f"{exc}", cause=found[0], cause_name=found[1])}
                return {tasks[0].key: TaskResult(tasks[0].key, None, error=f"{exc}")}
            log.info("task_batch_rejected_one_at_a_time", tasks=len(tasks), status=exc.status)
            return {k: r for t in tasks for k, r in self._create_batch([t]).items()}
        return self._outcomes(tasks, body)

    def _outcomes(self, tasks: list[TaskRequest], body: JSON) -> dict[str, TaskResult]:
        """Each task's result from a batch create's answer, matched by trace id (or by key)."""
        keys = {t.key for t in tasks}
        results: dict[str, TaskResult] = {}
        unmatched: list[JSON] = []
        for record in body.get("results") or []:
            key = record.get("objectWriteTraceId") or (record.get("properties") or {}).get(TASK_KEY)
            if key in keys and key not in results:
                results[key] = TaskResult(key, str(record.get("id")), created=True)
            else:
                unmatched.append(record)
        errors: dict[str, str] = {}
        bodies: dict[str, JSON] = {}
        general: list[str] = []
        held: set[str] = set()
        for err in body.get("errors") or []:
            text = f"HubSpot refused the task: {err.get('message') or err}"
            traces = (err.get("context") or {}).get("objectWriteTraceId") or []
            for key in traces:
                errors[str(key)] = text
                bodies[str(key)] = err
                if _held(None, f"{err.get('category')} {err.get('message')}"):
                    held.add(str(key))
            if not traces:
                general.append(text)
        if held:
            results.update(self._already_there([t for t in tasks if t.key in held and t.key not in results]))
        missing = [t for t in tasks if t.key not in results]
        if unmatched and len(unmatched) == len(missing) and not body.get("errors"):
            # Neither trace id nor key came back: HubSpot answered the inputs in their order.
            for task, record in zip(missing, unmatched, strict=True):
                results[task.key] = TaskResult(task.key, str(record.get("id")), created=True)
            missing = []
        for task in missing:
            error = errors.get(task.key) or "; ".join(general) or "HubSpot created no task and gave no error"
            log.warning("task_rejected", key=task.key, error=error[:200])
            why, name = property_cause(bodies.get(task.key), self._properties(task)) or (None, None)
            results[task.key] = TaskResult(task.key, None, error=error, cause=why, cause_name=name)
        for key, result in results.items():
            if result.created and result.crm_id:
                self._created[key] = result.crm_id
                log.info("task_created", key=key, task_id=result.crm_id)
        return results

    def _find_after_lag(self, tasks: list[TaskRequest]) -> dict[str, str]:
        """The ids HubSpot has for these tasks' keys, looked up once its search index has caught
        up with the writes (on the retry policy's clock, as every wait), and remembered."""
        self.client.retry.sleep(INDEX_WAIT_S)
        found = self.find([t.key for t in tasks])
        self._created.update(found)
        return found

    def _already_there(self, tasks: list[TaskRequest]) -> dict[str, TaskResult]:
        """Tasks HubSpot refused because their key is taken: found after the index's lag."""
        found = self._find_after_lag(tasks)
        results: dict[str, TaskResult] = {}
        for task in tasks:
            if task.key in found:
                log.info("task_exists", key=task.key, task_id=found[task.key])
                results[task.key] = TaskResult(task.key, found[task.key], created=False)
            else:
                error = f"HubSpot holds a task with key {task.key} that its search does not show yet"
                log.warning("task_rejected", key=task.key, error=error)
                results[task.key] = TaskResult(task.key, None, error=error)
        return results

    def _properties(self, task: TaskRequest) -> dict[str, str]:
        props = {
            "hs_task_subject": task.title,
            "hs_task_body": task.body,
            "hs_timestamp": format_ts(task.due_at or self.client.clock.now()),  # HubSpot's due date
            "hs_task_status": "NOT_STARTED",
            "hs_task_type": "TODO",
            TASK_KEY: task.key,
        }
        if task.owner_id:
            props["hubspot_owner_id"] = task.owner_id
        return props


def _held(status: int | None, text: str) -> bool:
    """Whether HubSpot refused a create because the task key is already taken: a 409, a CONFLICT,
    or an error that names the key property as taken (HubSpot documents no one wording for it)."""
    lowered = text.lower()
    taken = TASK_KEY in text and ("already" in lowered or "unique" in lowered)
    return status == 409 or "CONFLICT" in text or taken
