"""Contact write-back: sObject Collections of ≤200, Bulk API 2.0 for big runs, one result per change.

- ``PATCH composite/sobjects`` with ``allOrNone: false``: Salesforce answers 200 even when items
  fail, so every item's ``success``/``errors`` is read; a failed record never holds back the
  others (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_update.htm).
- ``Sforce-Auto-Assign: FALSE`` on every write: without it an org's active Lead assignment rule
  runs on each update and undoes leadsync's routing.
- ``UNABLE_TO_LOCK_ROW`` (another transaction holds the record or its parent) is retried for those
  items only, with backoff; still locked after that, the result is retryable and the outbox tries
  again next run.
- A refusal caused by the org's setup (a missing field or permission, an unknown owner:
  ``refusals.py``) carries its ``cause`` on the result; the loop stops the run and keeps it due.
- Above ``bulk_threshold`` changes (default 2,000), one Bulk API 2.0 update job per object instead
  (a null is sent as ``#N/A``; an empty cell leaves a field alone); its failed-records CSV gives
  the per-record errors.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from typing import Any

import structlog

from leadsync.api import JSON, AuthError, ContactChange, CrmError, QuotaExhausted, RetryableError, WriteResult
from leadsync.api.writekit import merged_changes, send_chunks

from .client import SalesforceClient
from .convert import PlannedWrite, plan_write
from .mapping import SalesforceMapping
from .refusals import item_cause, text_cause

__all__ = ["AUTO_ASSIGN_OFF", "COLLECTION", "ContactWriter", "error_text"]

COLLECTION = 200
AUTO_ASSIGN_OFF = {"Sforce-Auto-Assign": "FALSE"}
log = structlog.get_logger("leadsync.salesforce.writes")
_LOCKED = {"UNABLE_TO_LOCK_ROW"}
_RETRYABLE = _LOCKED | {"REQUEST_RUNNING_TOO_LONG", "SERVER_UNAVAILABLE"}
_CONVERTED = "CANNOT_UPDATE_CONVERTED_LEAD"


class ContactWriter:
    """Writes ``ContactChange``s to Leads and Contacts."""

    def __init__(
        self,
        client: SalesforceClient,
        mapping: SalesforceMapping,
        *,
        batch_size: int = COLLECTION,
        bulk_threshold: int = 2000,
        lock_retries: int = 3,
        sleep: Callable[[float], None] | None = None,
        bulk_poll_s: float = 1.0,
    ) -> None:
        self.client = client
        self.mapping = mapping
        self.batch_size = max(1, min(COLLECTION, batch_size))
        self.bulk_threshold = bulk_threshold
        self.lock_retries = lock_retries
        # lock backoffs wait through the retry policy (its clock, or a test's recorder)
        self.sleep = sleep or client.retry.sleep
        self.bulk_poll_s = bulk_poll_s

    def write(self, changes: Sequence[ContactChange]) -> list[WriteResult]:
        results: dict[str, WriteResult] = {}
        todo: list[PlannedWrite] = []
        for p in (plan_write(c, self.mapping) for c in merged_changes(changes)):
            if p.error:
                results[p.contact_id] = WriteResult(p.contact_id, ok=False, error=p.error)
            elif not p.fields:
                results[p.contact_id] = WriteResult(p.contact_id, ok=True)
            else:
                todo.append(p)
        todo.sort(key=lambda p: p.sobject)  # one object per collection call where possible
        if len(todo) > self.bulk_threshold:
            results.update(self._bulk(todo))
        else:
            chunks = (todo[i : i + self.batch_size] for i in range(0, len(todo), self.batch_size))
            results.update(send_chunks(chunks, self._collection))
        ok = sum(r.ok for r in results.values())
        log.info("contacts_written", changes=len(changes), ok=ok, failed=len(results) - ok)
        return [results[c.contact_id] for c in changes]

    # -- sObject Collections --------------------------------------------------------------------

    def _collection(self, chunk: Sequence[PlannedWrite]) -> dict[str, WriteResult]:
        out: dict[str, WriteResult] = {}
        pending = list(chunk)
        for attempt in range(self.lock_retries + 1):
            locked: list[PlannedWrite] = []
            for p, item in zip(pending, self._send(pending), strict=True):
                codes = {str(e.get("statusCode") or "") for e in item.get("errors") or []}
                if item.get("success"):
                    out[p.contact_id] = WriteResult(p.contact_id, ok=True)
                elif codes & _LOCKED and attempt < self.lock_retries:
                    locked.append(p)
                else:
                    cause = item_cause(item, p.sobject, p.fields)
                    out[p.contact_id] = WriteResult(
                        p.contact_id,
                        ok=False,
                        error=error_text(item),
                        retryable=bool(codes & _RETRYABLE) and cause is None,
                        cause=cause[0] if cause else None,
                        cause_name=cause[1] if cause else None,
                    )
            if not locked:
                break
            log.info("records_locked", records=len(locked), attempt=attempt + 1)
            self.sleep(0.5 * 2**attempt)
            pending = locked
        return out

    def _send(self, chunk: Sequence[PlannedWrite]) -> list[JSON]:
        records = [{"attributes": {"type": p.sobject}, "id": p.contact_id, **p.fields} for p in chunk]
        try:
            body = self.client.rest(
                "PATCH", "composite/sobjects", {"allOrNone": False, "records": records}, AUTO_ASSIGN_OFF
            )
        except (AuthError, QuotaExhausted, RetryableError):
            raise
        except CrmError as exc:  # the whole request refused (malformed): every item fails with it
            item = {
                "success": False,
                "errors": [{"statusCode": "REQUEST_REFUSED", "message": exc.body or str(exc)}],
            }
            return [item for _ in chunk]
        items = body if isinstance(body, list) else []
        if len(items) != len(chunk):
            raise CrmError(f"Salesforce answered {len(items)} results for {len(chunk)} records")
        return [dict(i) for i in items]

    # -- Bulk API 2.0 ---------------------------------------------------------------------------

    def _bulk(self, todo: Sequence[PlannedWrite]) -> dict[str, WriteResult]:
        out: dict[str, WriteResult] = {}
        by_object: dict[str, list[PlannedWrite]] = {}
        for p in todo:
            by_object.setdefault(p.sobject, []).append(p)
        for sobject, planned in by_object.items():
            rows = [{"Id": p.contact_id, **{k: _cell(v) for k, v in p.fields.items()}} for p in planned]
            jobs = self._bulk_update(sobject, rows)
            failed: dict[str, str] = {}
            for job in jobs:
                if int(job.get("numberRecordsFailed") or 0):
                    for row in csv.DictReader(io.StringIO(self._failed_rows(sobject, str(job["job_id"])))):
                        failed[str(row.get("sf__Id") or row.get("Id") or "")] = str(
                            row.get("sf__Error") or ""
                        )
            log.info("bulk_update", object=sobject, records=len(rows), failed=len(failed))
            for p in planned:
                error = failed.get(p.contact_id)
                if error is None:
                    out[p.contact_id] = WriteResult(p.contact_id, ok=True)
                    continue
                cause = text_cause(error, sobject, p.fields)
                out[p.contact_id] = WriteResult(
                    p.contact_id,
                    ok=False,
                    error=error,
                    retryable=error.split(":")[0] in _RETRYABLE and cause is None,
                    cause=cause[0] if cause else None,
                    cause_name=cause[1] if cause else None,
                )
        return out

    def _bulk_update(self, sobject: str, rows: list[dict[str, str]]) -> list[JSON]:
        def update(sf: Any) -> list[JSON]:
            return list(getattr(sf.bulk2, sobject).update(records=rows, wait=self.bulk_poll_s))

        return self.client.call(f"bulk2 update {sobject}", update)

    def _failed_rows(self, sobject: str, job_id: str) -> str:
        def failed(sf: Any) -> str:
            return str(getattr(sf.bulk2, sobject).get_failed_records(job_id) or "")

        return self.client.call("bulk2 failed records", failed)


def _cell(value: Any) -> str:
    """A value as a Bulk API 2.0 CSV cell: ``#N/A`` clears, booleans are true/false."""
    if value is None:
        return "#N/A"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


TASK_REFUSED = "Salesforce refused the task: "
# Salesforce's refusals of an OwnerId: no such record, not an id, not a user or queue, inactive.
_OWNER_CODES = {"INVALID_CROSS_REFERENCE_KEY", "MALFORMED_ID", "FIELD_INTEGRITY_EXCEPTION"}


def refused_for_owner(error: str) -> bool:
    """Salesforce refused the record for its ``OwnerId`` alone (every error names it, or says
    ``INACTIVE_OWNER_OR_USER``), as ``error_text`` wrote the errors (a task's behind a prefix)."""
    parts = [p.strip() for p in error.removeprefix(TASK_REFUSED).split("; ") if p.strip()]
    return bool(parts) and all(
        p.startswith("INACTIVE_OWNER_OR_USER:")
        or (p.split(":", 1)[0] in _OWNER_CODES and p.endswith("[OwnerId]"))
        for p in parts
    )


def error_text(item: JSON) -> str:
    """A collection item's errors as one line: ``CODE: message [fields]``, for results and dead letters."""
    parts = []
    for e in item.get("errors") or []:
        code = e.get("statusCode") or "ERROR"
        fields = f" [{', '.join(e['fields'])}]" if e.get("fields") else ""
        hint = "; the lead was converted: leadsync follows its contact" if code == _CONVERTED else ""
        parts.append(f"{code}: {e.get('message') or ''}{fields}{hint}")
    return "; ".join(parts) or "Salesforce did not save the record"
