"""The outbox's way to the CRM: pending contact writes in batches, then tasks, each once.

A sync job commits what it means to write (the outbox) with its batch, then sends it from here.
Each write call's outcome is recorded in its own transaction as it comes back: a record the CRM
took is done, one it refused for now is tried again (up to ``MAX_WRITE_ATTEMPTS``), one it rejects
becomes a dead letter. A task's attempt is counted durably before the call, so after a crash the
adapter looks for the task it may have created instead of creating another.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from connector.api import ContactChange, TaskRequest
from connector.sync.plan import from_json_values
from connector.sync.snapshot import apply_written
from connector.sync.state import DeadLetter, FailedWrite

if TYPE_CHECKING:
    from connector.sync.loop import RunResult, SyncJob

__all__ = ["MAX_WRITE_ATTEMPTS", "send", "send_actions", "send_writes"]

MAX_WRITE_ATTEMPTS = 5  # a record the CRM keeps refusing as "try again" becomes a dead letter


def send(job: SyncJob, result: RunResult, now: datetime) -> None:
    """Send the outbox to the CRM: contact writes in batches, then tasks, each once."""
    send_writes(job, result, now)
    send_actions(job, result, now)


def send_writes(job: SyncJob, result: RunResult, now: datetime) -> None:
    """The pending contact writes, ``job.batch_size`` a call, each outcome recorded as it comes."""
    seen: set[int] = set()
    while True:
        rows = [r for r in job.store.pending_writes(job.name, job.batch_size + len(seen)) if r.id not in seen]
        rows = rows[: job.batch_size]
        if not rows:
            break
        seen.update(r.id for r in rows)
        changes = [
            ContactChange(r.contact_id, from_json_values(r.values), from_json_values(r.current)) for r in rows
        ]
        results = {w.contact_id: w for w in job.adapter.write_contacts(changes)}
        done: dict[str, dict[str, Any]] = {}
        failed: list[FailedWrite] = []
        dead: list[DeadLetter] = []
        for row in rows:
            outcome = results.get(row.contact_id)
            if outcome is not None and outcome.ok:
                done.setdefault(row.contact_id, {}).update(row.values)
                continue
            error = outcome.error if outcome else "the CRM returned no result for this record"
            retry = outcome is not None and outcome.retryable and row.attempts + 1 < MAX_WRITE_ATTEMPTS
            failed.append(FailedWrite(row.id, row.attempts + 1, error, dead=not retry))
            if retry:
                continue
            dead.append(DeadLetter("write", row.contact_id, None, row.values, error or "rejected"))
            job.log.warning("write_rejected", contact_id=row.contact_id, error=error)
        with job.store.transaction() as s:
            job.store.writes_done(s, [r.id for r in rows if r.contact_id in done], now)
            job.store.record_written(s, job.name, done, now)
            apply_written(s, job.name, done)
            job.store.writes_failed(s, failed)
            job.store.dead_letters(s, job.name, dead, now)
        written = sum(1 for r in rows if r.contact_id in done)
        for name, n in (("contacts_written", written), ("writes_retry_later", len(failed) - len(dead))):
            if n:
                result.add(name, n)
        if dead:
            result.add("dead_letters", len(dead))


def send_actions(job: SyncJob, result: RunResult, now: datetime) -> None:
    """The pending actions (tasks), one call each, the attempt counted before the call."""
    while rows := job.store.pending_actions(job.name, job.batch_size):
        for row in rows:
            # Count the attempt durably first: after a crash from here on, the adapter must
            # look for a task this attempt may have created before creating one.
            attempts = row.attempts + 1
            with job.store.transaction() as s:
                job.store.update_action(s, job.name, row.key, attempts=attempts)
            p = row.payload
            title = p.get("title") or f"leadsync: notify {p.get('to')} ({row.key.split(':', 1)[0]})"
            due = from_json_values({"sla_due_at": p.get("due_at")})["sla_due_at"]
            outcome = job.adapter.create_task(
                TaskRequest(
                    key=row.key,
                    contact_id=row.contact_id,
                    owner_id=p.get("owner_id"),
                    title=title,
                    due_at=due,
                    body=f"leadsync action {row.key}",
                    may_exist=row.attempts > 0,
                )
            )
            with job.store.transaction() as s:
                if outcome.crm_id is not None:
                    job.store.update_action(
                        s, job.name, row.key, status="done", crm_id=outcome.crm_id, done_at=now
                    )
                    result.add("tasks_created" if outcome.created else "tasks_found")
                else:
                    job.store.update_action(s, job.name, row.key, status="dead", last_error=outcome.error)
                    letter = DeadLetter("task", row.contact_id, row.key, p, outcome.error or "rejected")
                    job.store.dead_letters(s, job.name, [letter], now)
                    result.add("dead_letters")
