"""What the Salesforce and Zoho writers share: chunks sent until the CRM is down, and a task's due
date and description.

Each CRM's ``writes.py`` and ``tasks.py`` keep what differs: what a chunk is sent as, and the
record's field names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import tzinfo
from typing import Protocol, TypeVar

from leadsync.api import RetryableError, TaskRequest, WriteResult

__all__ = ["send_chunks", "task_due"]


class _Planned(Protocol):
    @property
    def contact_id(self) -> str: ...


P = TypeVar("P", bound=_Planned)


def send_chunks(
    chunks: Iterable[Sequence[P]], send: Callable[[Sequence[P]], dict[str, WriteResult]]
) -> dict[str, WriteResult]:
    """Each chunk's results from ``send``; once it raises ``RetryableError`` (the retry policy gave
    up: the CRM is down), the chunks left are not sent and their records fail as retryable, so
    the outbox keeps them for the next run."""
    results: dict[str, WriteResult] = {}
    stopped: RetryableError | None = None
    for chunk in chunks:
        if stopped is None:
            try:
                results.update(send(chunk))
                continue
            except RetryableError as exc:
                stopped = exc
        for p in chunk:
            results[p.contact_id] = WriteResult(p.contact_id, ok=False, error=str(stopped), retryable=True)
    return results


def task_due(task: TaskRequest, zone: tzinfo, description: str) -> tuple[str | None, str]:
    """(the due date in the org's zone, ISO; the description, led by the exact due time).

    Both CRMs due a task on a date, shown as it is; the time leadsync means goes in the text.
    """
    if task.due_at is None:
        return None, description
    local = task.due_at.astimezone(zone)
    due = f"Due by {local:%Y-%m-%d %H:%M} ({local.tzname()})."
    return local.date().isoformat(), f"{due}\n\n{description}" if description else due
