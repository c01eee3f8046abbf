"""What the writers share: one change per contact, chunks sent until the CRM is down, and a task's
due date and description.

Each CRM's ``writes.py`` and ``tasks.py`` keep what differs: what a chunk is sent as, and the
record's field names. HubSpot dues a task at an exact time and so takes no ``task_due``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import tzinfo
from typing import Protocol, TypeVar

from leadsync.api import ContactChange, RetryableError, TaskRequest, WriteResult

__all__ = ["ChunkGuard", "merged_changes", "send_chunks", "task_due"]


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
        return {p.contact_id: WriteResult(p.contact_id, ok=False, error=error, retryable=True) for p in chunk}


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
