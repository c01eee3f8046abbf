"""Contact write-back: ``PUT /crm/v8/{module}``, 100 records a call, one result per change.

- ``"trigger": []`` on every write unless the ``triggers`` option names some: with no
  ``trigger`` key Zoho still runs approvals, blueprints and orchestration, and with ``[]`` none,
  so leadsync's writes start no workflow that writes back and loops
  (https://www.zoho.com/crm/developer/docs/api/v8/update-records.html).
- Zoho answers 200, 207 (mixed) or 400 (every record refused) with one ``data[]`` item per
  record sent, in order; each item's ``code`` decides: ``SUCCESS``; ``RECORD_LOCKED`` (an
  approval or a blueprint holds it) is sent again a few times with backoff, then left to the
  outbox (retryable); ``INVALID_DATA`` and ``MANDATORY_NOT_FOUND`` name the field
  (``details.api_name``) and fail that record alone.
- A refusal caused by the org's setup (an unknown owner, a missing scope: ``refusals.py``)
  carries its ``cause`` on the result; the loop stops the run and keeps it due.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import structlog

from leadsync.api import JSON, AuthError, ContactChange, WriteResult
from leadsync.api.writekit import merged_changes, send_chunks

from .client import ZohoClient
from .convert import PlannedWrite, plan_write
from .mapping import ZohoMapping
from .refusals import item_cause, scope_refused

__all__ = ["BATCH", "TRIGGERS", "ContactWriter", "item_error"]

BATCH = 100
TRIGGERS = ("workflow", "approval", "blueprint", "pathfinder", "orchestration")
log = structlog.get_logger("leadsync.zoho.writes")
_LOCKED = "RECORD_LOCKED"
_RETRYABLE = {_LOCKED, "TOO_MANY_REQUESTS", "INTERNAL_ERROR"}


def item_error(item: JSON) -> str:
    """A refused record's error text, naming the field Zoho names."""
    code = str(item.get("code") or "ERROR")
    details = item.get("details") if isinstance(item.get("details"), dict) else {}
    field = (details or {}).get("api_name")
    path = str((details or {}).get("json_path") or "")
    if field == "id" and re.search(r"\]\.Owner(\.id)?$", path):
        field = "Owner"  # an owner lookup's id: Zoho names the inner key, the path says which field
    text = f"{code}: {item.get('message') or ''}".rstrip(": ")
    return f"{text} [{field}]" if field else text


def refused_for_owner(error: str) -> bool:
    """Zoho refused the record for its ``Owner`` alone: ``INVALID_DATA`` at ``$.data[i].Owner``
    (no such user, or an inactive one), as ``item_error`` names it (a task's error shows the path)."""
    if error.startswith("INVALID_DATA"):
        return error.endswith("[Owner]")
    return "INVALID_DATA" in error and re.search(r"\]\.Owner(\.id)?'", error) is not None


class ContactWriter:
    """Writes ``ContactChange``s to Leads and Contacts."""

    def __init__(
        self,
        client: ZohoClient,
        mapping: ZohoMapping,
        module_of: Callable[[Sequence[str]], dict[str, str]],
        *,
        batch_size: int = BATCH,
        triggers: Sequence[str] = (),
        lock_retries: int = 3,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.client = client
        self.mapping = mapping
        self.module_of = module_of
        self.batch_size = max(1, min(BATCH, batch_size))
        self.triggers = list(triggers)
        self.lock_retries = lock_retries
        # lock backoffs wait through the retry policy (its clock, or a test's recorder)
        self.sleep = sleep or client.retry.sleep

    def write(self, changes: Sequence[ContactChange]) -> list[WriteResult]:
        merged = merged_changes(changes)
        modules = self.module_of([c.contact_id for c in merged])
        results: dict[str, WriteResult] = {}
        todo: dict[str, list[PlannedWrite]] = {}
        for p in (plan_write(c, modules.get(c.contact_id), self.mapping) for c in merged):
            if p.error:
                results[p.contact_id] = WriteResult(p.contact_id, ok=False, error=p.error)
            elif not p.fields:
                results[p.contact_id] = WriteResult(p.contact_id, ok=True)
            else:
                todo.setdefault(p.module, []).append(p)
        chunks = (
            planned[i : i + self.batch_size]
            for planned in todo.values()
            for i in range(0, len(planned), self.batch_size)
        )
        results.update(send_chunks(chunks, lambda chunk: self._batch(chunk[0].module, chunk)))
        ok = sum(r.ok for r in results.values())
        log.info("contacts_written", changes=len(changes), ok=ok, failed=len(results) - ok)
        return [results[c.contact_id] for c in changes]

    def _batch(self, module: str, chunk: Sequence[PlannedWrite]) -> dict[str, WriteResult]:
        out: dict[str, WriteResult] = {}
        pending = list(chunk)
        for attempt in range(self.lock_retries + 1):
            locked: list[PlannedWrite] = []
            for p, item in zip(pending, self._send(module, pending), strict=True):
                code = str(item.get("code") or "")
                if code == "SUCCESS":
                    out[p.contact_id] = WriteResult(p.contact_id, ok=True)
                elif code == _LOCKED and attempt < self.lock_retries:
                    locked.append(p)
                else:
                    cause = item_cause(item, p.fields)
                    out[p.contact_id] = WriteResult(
                        p.contact_id,
                        ok=False,
                        error=item_error(item),
                        retryable=code in _RETRYABLE,
                        cause=cause[0] if cause else None,
                        cause_name=cause[1] if cause else None,
                    )
            if not locked:
                break
            log.info("records_locked", module=module, records=len(locked), attempt=attempt + 1)
            self.sleep(0.5 * 2**attempt)
            pending = locked
        return out

    def _send(self, module: str, chunk: Sequence[PlannedWrite]) -> list[JSON]:
        body: dict[str, Any] = {"data": [{"id": p.contact_id, **p.fields} for p in chunk]}
        body["trigger"] = self.triggers
        try:
            answer = self.client.request("PUT", f"/{module}", body=body)
        except AuthError as exc:
            if not scope_refused(exc.body):
                raise
            details = {"module": module}
            refused = {"code": "OAUTH_SCOPE_MISMATCH", "message": str(exc)[:500], "details": details}
            return [refused for _ in chunk]
        items = (answer.body or {}).get("data")
        if not isinstance(items, list) or len(items) != len(chunk):
            refused = {
                "code": "REQUEST_REFUSED",
                "message": f"Zoho answered HTTP {answer.status}: {answer.body!r}"[:500],
            }
            return [refused for _ in chunk]
        return [i if isinstance(i, dict) else {"code": "ERROR", "message": str(i)} for i in items]
