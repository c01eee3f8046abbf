"""The outbox's way to the CRM: pending contact writes in batches, then tasks, each once.

A sync job commits what it means to write (the outbox) with its batch, then sends it from here,
with the run's context (``run.py``): the connection, its adapter and state store, the run's time.
Each write call's outcome is recorded in its own transaction as it comes back: a record the CRM
took is done, one it refused for now is tried again (up to ``MAX_WRITE_ATTEMPTS``), one it rejects
becomes a dead letter, and one it refuses for a cause in the setup (``refusals.py``) stays pending
while the run stops with ``SetupRefused``, once the call's outcomes are recorded. A task's
attempt is counted durably before the call, so after a crash the adapter looks for the task it
may have created instead of creating another.
"""

from __future__ import annotations

import contextvars
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any

from leadsync.api import ContactChange, TaskRequest, TaskResult
from leadsync.decision import Action
from leadsync.sync.refusals import Refusals, letter_cause
from leadsync.sync.run import RunContext
from leadsync.sync.snapshot import apply_written
from leadsync.sync.state import DeadLetter, FailedWrite
from leadsync.sync.tables import ActionRow
from leadsync.writable import TIME, values_from_json

__all__ = ["MAX_WRITE_ATTEMPTS", "action_payload", "send", "send_actions", "send_writes"]

MAX_WRITE_ATTEMPTS = 5  # a record the CRM keeps refusing as "try again" becomes a dead letter
# A task whose call never started because another call of its chunk failed: nothing to record,
# and its counted attempt only makes the next run look for it before creating it.
_NOT_SENT = RuntimeError("not sent: another task call of the same chunk failed")


def send(ctx: RunContext, *, hold_partial: bool = False) -> None:
    """Send the outbox to the CRM: contact writes in batches, then tasks, each once.

    ``hold_partial``: tasks only by full calls (``task_batch``); the rest wait for a later batch
    or the run's end (``send_actions`` without it), so a run's tasks take as few calls as they
    can, a minute or so later at most.
    """
    send_writes(ctx)
    send_actions(ctx, hold_partial=hold_partial)


def send_writes(ctx: RunContext) -> None:
    """The pending contact writes, ``ctx.batch_size`` a call, each outcome recorded as it comes."""
    store, name, now, result = ctx.store, ctx.connection, ctx.now, ctx.result
    seen: set[int] = set()
    while True:
        rows = [r for r in store.pending_writes(name, ctx.batch_size + len(seen)) if r.id not in seen]
        rows = rows[: ctx.batch_size]
        if not rows:
            break
        seen.update(r.id for r in rows)
        changes = [
            ContactChange(r.contact_id, values_from_json(r.values), values_from_json(r.current)) for r in rows
        ]
        results = {w.contact_id: w for w in ctx.adapter.write_contacts(changes)}
        done: dict[str, dict[str, Any]] = {}
        failed: list[FailedWrite] = []
        dead: list[DeadLetter] = []
        refused = Refusals()
        for row in rows:
            outcome = results.get(row.contact_id)
            if outcome is not None and outcome.ok:
                # A field the CRM refused alone (an unknown owner) was left out: not written.
                landed = {f: v for f, v in row.values.items() if f not in outcome.dropped}
                done.setdefault(row.contact_id, {}).update(landed)
                if outcome.dropped:
                    ctx.log.warning(
                        "write_field_dropped",
                        contact_id=row.contact_id,
                        fields=list(outcome.dropped),
                        error=outcome.error,
                    )
                    result.add("fields_dropped", len(outcome.dropped))
                continue
            error = outcome.error if outcome else "the CRM returned no result for this record"
            if outcome is not None and outcome.cause is not None:  # the setup's fault: kept due
                refused.add(outcome.cause, outcome.cause_name, error)
                failed.append(FailedWrite(row.id, row.attempts, error, dead=False))
                continue
            if outcome is not None and outcome.unsent:  # the CRM was down: not the record's attempt
                failed.append(FailedWrite(row.id, row.attempts, error, dead=False))
                continue
            retry = outcome is not None and outcome.retryable and row.attempts + 1 < MAX_WRITE_ATTEMPTS
            failed.append(FailedWrite(row.id, row.attempts + 1, error, dead=not retry))
            if retry:
                continue
            exhausted = outcome is not None and outcome.retryable
            cause = letter_cause(error, outcome.cause if outcome else None, exhausted=exhausted)
            dead.append(DeadLetter("write", row.contact_id, None, row.values, error or "rejected", cause))
            ctx.log.warning("write_rejected", contact_id=row.contact_id, error=error, cause=cause)
        with store.transaction() as s:
            store.writes_done(s, [r.id for r in rows if r.contact_id in done], now)
            store.record_written(s, name, done, now)
            apply_written(s, name, done)
            store.writes_failed(s, failed)
            store.dead_letters(s, name, dead, now)
        written = sum(1 for r in rows if r.contact_id in done)
        kept = sum(refused.counts.values())
        for count, n in (
            ("contacts_written", written),
            ("writes_retry_later", len(failed) - len(dead) - kept),
            ("writes_kept_due", kept),
        ):
            if n:
                result.add(count, n)
        if dead:
            result.add("dead_letters", len(dead))
            result.add("writes_refused", len(dead))
        if refused:
            ctx.log.error("writes_refused_by_setup", refused=kept, causes=_causes(refused))
            raise refused.error(ctx.rules_file)


def send_actions(ctx: RunContext, *, hold_partial: bool = False) -> None:
    """The pending actions (tasks), the attempts counted before the calls.

    A call creates one task (``create_task``) or, when the adapter has ``create_tasks``, up to its
    ``task_batch``. Up to the adapter's ``task_concurrency`` (optional, default 1) calls go out
    side by side. The attempts of a chunk are counted durably before any of its calls: after a
    crash from there on, the adapter looks for each task an attempt may have created before
    creating one. Every outcome that came back is recorded, also when another call of the chunk
    failed; then that error is raised (the earliest one, in the order of the chunk). With
    ``hold_partial``, tasks that would not fill a call of ``task_batch`` are left for later.
    """
    store, name, now, result = ctx.store, ctx.connection, ctx.now, ctx.result
    workers = max(1, int(getattr(ctx.adapter, "task_concurrency", 1)))
    batch = max(1, int(getattr(ctx.adapter, "task_batch", 1))) if _batched(ctx) else 1
    refused = Refusals()
    while rows := store.pending_actions(name, max(ctx.batch_size, batch)):
        if hold_partial and batch > 1:
            rows = rows[: len(rows) // batch * batch]
            if not rows:
                break
        with store.transaction() as s:
            for row in rows:
                store.update_action(s, name, row.key, attempts=row.attempts + 1)
        outcomes = _create_tasks(ctx, [_task_request(row) for row in rows], workers, batch)
        with store.transaction() as s:
            for row, outcome in zip(rows, outcomes, strict=True):
                if isinstance(outcome, BaseException):
                    continue
                if outcome.crm_id is not None:
                    store.update_action(s, name, row.key, status="done", crm_id=outcome.crm_id, done_at=now)
                    result.add("tasks_created" if outcome.created else "tasks_found")
                elif outcome.cause is not None:  # the setup's fault: stays pending (refusals.py)
                    store.update_action(s, name, row.key, last_error=outcome.error)
                    refused.add(outcome.cause, outcome.cause_name, outcome.error)
                    result.add("tasks_kept_due")
                else:
                    store.update_action(s, name, row.key, status="dead", last_error=outcome.error)
                    cause = letter_cause(outcome.error)
                    letter = DeadLetter(
                        "task", row.contact_id, row.key, row.payload, outcome.error or "rejected", cause
                    )
                    store.dead_letters(s, name, [letter], now)
                    result.add("dead_letters")
                    result.add("tasks_refused")
        errors = [o for o in outcomes if isinstance(o, BaseException) and o is not _NOT_SENT]
        if errors:
            raise errors[0]
        if refused:  # they stay pending: stop here rather than take them again
            kept = sum(refused.counts.values())
            ctx.log.error("tasks_refused_by_setup", refused=kept, causes=_causes(refused))
            raise refused.error(ctx.rules_file, "tasks")


def _causes(refused: Refusals) -> dict[str, int]:
    """For the log: refusals per ``cause:name``."""
    return {f"{c.value}:{n}" if n else c.value: k for (c, n), k in refused.counts.items()}


def action_payload(action: Action) -> dict[str, Any]:
    """An action as the outbox keeps it (its key and contact aside); ``_task_request`` reads it."""
    return {
        "type": action.type,
        "title": action.title,
        "owner_id": action.owner_id,
        "due_at": TIME.to_json(action.due_at),
        "to": list(action.to) if action.to is not None else None,
    }


def _task_request(row: ActionRow) -> TaskRequest:
    """The task an outbox row of ``actions`` asks for (a notification too: a task to its owner)."""
    p = row.payload
    to = p.get("to")
    who = ", ".join(to) if isinstance(to, list) else to  # a list since CONTRACT §8; text before
    title = p.get("title") or f"leadsync: notify {who or 'nobody'} ({row.key.split(':', 1)[0]})"
    return TaskRequest(
        key=row.key,
        contact_id=row.contact_id,
        owner_id=p.get("owner_id"),
        title=title,
        due_at=TIME.from_json(p.get("due_at")),
        body=f"leadsync action {row.key}",
        may_exist=row.attempts > 0,
    )


def _batched(ctx: RunContext) -> bool:
    return callable(getattr(ctx.adapter, "create_tasks", None))


def _create_tasks(
    ctx: RunContext, tasks: list[TaskRequest], workers: int, batch: int
) -> list[TaskResult | BaseException]:
    """Each task's outcome, or the error its call raised, in order; no call starts after an error.

    A call is one task (``create_task``) or, with ``create_tasks``, ``batch`` of them; its error
    is the outcome of every task it held.
    """
    groups = [tasks[i : i + batch] for i in range(0, len(tasks), batch)]
    if _batched(ctx):
        create_many = ctx.adapter.create_tasks  # type: ignore[attr-defined]

        def create(group: list[TaskRequest]) -> list[TaskResult]:
            results = list(create_many(group))
            if len(results) != len(group):
                raise RuntimeError(f"create_tasks gave {len(results)} results for {len(group)} tasks")
            return results
    else:

        def create(group: list[TaskRequest]) -> list[TaskResult]:
            return [ctx.adapter.create_task(group[0])]

    outcomes: list[list[TaskResult] | BaseException] = []
    if workers == 1 or len(groups) < 2:
        for group in groups:
            try:
                outcomes.append(create(group))
            except Exception as exc:
                outcomes.append(exc)
                break
        outcomes += [_NOT_SENT] * (len(groups) - len(outcomes))
    else:
        with ThreadPoolExecutor(min(workers, len(groups)), thread_name_prefix="leadsync-tasks") as pool:
            # each in a copy of the run's context, so its log lines name the connection and run
            futures = [pool.submit(contextvars.copy_context().run, create, group) for group in groups]
            _, pending = wait(futures, return_when=FIRST_EXCEPTION)
            for future in pending:  # something failed: start nothing more, let what runs finish
                future.cancel()
        outcomes = [_NOT_SENT if f.cancelled() else (f.exception() or f.result()) for f in futures]
    flat: list[TaskResult | BaseException] = []
    for group, outcome in zip(groups, outcomes, strict=True):
        flat += [outcome] * len(group) if isinstance(outcome, BaseException) else outcome
    return flat
