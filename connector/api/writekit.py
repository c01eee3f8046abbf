"""What the writers share: one change per contact, chunks sent until the CRM is down, and a task's
due date and description.

Each CRM's ``writes.py`` and ``tasks.py`` keep what differs: what a chunk is sent as, and the
record's field names. HubSpot dues a task at an exact time and so takes no ``task_due``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import tzinfo
from typing import Protocol, TypeVar

from leadsync.api import ContactChange, RetryableError, TaskRequest, TaskResult, WriteResult

__all__ = [
    "ChunkGuard",
    "merged_changes",
    "retry_tasks_without_owner",
    "retry_without_owner",
    "send_chunks",
    "task_due",
]


def merged_changes(changes: Sequence[ContactChange]) -> list[ContactChange]:
    """One change per contact, in first-seen order; later values win, the first ``current`` stays.

    Every CRM refuses a batch that names a record twice (HubSpot, Salesforce's collections, Zoho).
    """
    by_id: dict[str, ContactChange] = {}
    for c in changes:
        first = by_id.get(c.contact_id)
        by_id[c.contact_id] = (
            c if first is None else ContactChange(c.contact_id, {**first.values, **c.values}, first.current)
        )
    return list(by_id.values())


def retry_without_owner(
    changes: Sequence[ContactChange],
    results: Sequence[WriteResult],
    refused_for_owner: Callable[[str], bool],
    write: Callable[[Sequence[ContactChange]], list[WriteResult]],
) -> list[WriteResult]:
    """``results``, where a change the CRM refused for its owner id alone was sent once more
    without ``owner_id``: the stage, score, SLA and the rest land, the owner is ``dropped``.

    Each CRM names its owner error its own way, so ``refused_for_owner`` (of the error text) is the
    adapter's. A CRM
    refuses the whole record for one bad owner id, and would refuse it again on every retry.
    """
    by_id = {c.contact_id: c for c in merged_changes(changes)}
    again: list[ContactChange] = []
    for r in {r.contact_id: r for r in results}.values():
        change = by_id.get(r.contact_id)
        if r.ok or change is None or "owner_id" not in change.values or not refused_for_owner(r.error or ""):
            continue
        rest = {f: v for f, v in change.values.items() if f != "owner_id"}
        again.append(ContactChange(r.contact_id, rest, change.current))
    if not again:
        return list(results)
    second = {r.contact_id: r for r in write(again)}
    out: list[WriteResult] = []
    for r in results:
        retried = second.get(r.contact_id)
        if retried is None or r.ok:
            out.append(r)
        elif retried.ok:
            out.append(WriteResult(r.contact_id, ok=True, error=r.error, dropped=("owner_id",)))
        else:
            out.append(retried)
    return out


def retry_tasks_without_owner(
    tasks: Sequence[TaskRequest],
    results: Sequence[TaskResult],
    refused_for_owner: Callable[[str], bool],
    create: Callable[[Sequence[TaskRequest]], list[TaskResult]],
) -> list[TaskResult]:
    """``results`` (one per task, in order), where a task the CRM refused for its owner alone was
    created once more without one: the rep's task lands unassigned rather than not at all."""
    again = [
        (i, replace(t, owner_id=None))
        for i, (t, r) in enumerate(zip(tasks, results, strict=True))
        if r.crm_id is None and t.owner_id and r.error and refused_for_owner(r.error)
    ]
    if not again:
        return list(results)
    out = list(results)
    for (i, _), retried in zip(again, create([t for _, t in again]), strict=True):
        out[i] = retried
    return out


class _Planned(Protocol):
    @property
    def contact_id(self) -> str: ...


P = TypeVar("P", bound=_Planned)


class ChunkGuard:
    """Sends chunks until the CRM is down: once a chunk raises ``RetryableError`` (the retry
    policy gave up), no chunk is sent any more and each record of the rest fails as retryable,
    so the outbox keeps it for the next run. Chunks may go out on several threads at once."""

    def __init__(self) -> None:
        self.stopped: RetryableError | None = None
        self._lock = threading.Lock()

    def send(
        self, step: Callable[[Sequence[P]], dict[str, WriteResult]], chunk: Sequence[P]
    ) -> dict[str, WriteResult]:
        """``step(chunk)``'s results, or the whole chunk failed once the CRM is known to be down."""
        if self.stopped is None:
            try:
                return step(chunk)
            except RetryableError as exc:
                with self._lock:
                    self.stopped = self.stopped or exc
        error = str(self.stopped)
        return {
            p.contact_id: WriteResult(p.contact_id, ok=False, error=error, retryable=True, unsent=True)
            for p in chunk
        }


def send_chunks(
    chunks: Iterable[Sequence[P]], send: Callable[[Sequence[P]], dict[str, WriteResult]]
) -> dict[str, WriteResult]:
    """Each chunk's results from ``send``, one after the other, until the CRM is down (``ChunkGuard``)."""
    guard = ChunkGuard()
    results: dict[str, WriteResult] = {}
    for chunk in chunks:
        results.update(guard.send(send, chunk))
    return results


def task_due(task: TaskRequest, zone: tzinfo, description: str) -> tuple[str | None, str]:
    """(the due date in the org's zone, ISO; the description, led by the exact due time).

    Salesforce and Zoho due a task on a date, shown as it is; the time leadsync means goes in the text.
    """
    if task.due_at is None:
        return None, description
    local = task.due_at.astimezone(zone)
    due = f"Due by {local:%Y-%m-%d %H:%M} ({local.tzname()})."
    return local.date().isoformat(), f"{due}\n\n{description}" if description else due
