"""``leadsync retry``: dead letters replayed by re-deciding from state and writing again.

A dead write's contact is re-decided from its state (its record and activities as last read; the
CRM is read for owners only) and what the decision changes is written again; a dead task's action
is made pending again (its attempts kept, so the adapter looks for the task before creating it).
One run of kind ``retry`` does it, flushing the outbox first as every run does.

After the run, a letter is removed when its work succeeded or was replaced: the contact was
re-decided and has no write pending (written now, or nothing left to write), or its task is done,
or the CRM refused it again (the new letter, with the new error and cause, replaces it). A letter
whose work is still pending (a setup refusal stopped the run, the CRM was down) stays.

``everything`` (``--all``) also re-decides, with the rules as they are now, every contact with a
write or task waiting in the outbox (refused for now, or kept due by a setup refusal), before
sending it.
"""

from __future__ import annotations

from dataclasses import dataclass

from leadsync.sync.loop import RunResult, SyncJob
from leadsync.sync.tables import DeadLetterRow

__all__ = ["RetryOutcome", "retry"]


@dataclass
class RetryOutcome:
    """What a retry replayed and what is left."""

    letters: int  # dead letters there were
    writes: int  # contacts re-decided for them
    tasks: int  # tasks made pending again
    cleared: int  # letters whose work succeeded (or was left with nothing to write)
    remaining: int  # dead letters after the retry
    refused_again: int = 0  # letters replaced by a new one: the CRM refused them again
    result: RunResult | None = None

    def summary(self, connection: str) -> str:
        run = self.result.summary(connection) if self.result else f"{connection}: not run"
        return (
            f"{run}\n{connection}: retried {self.letters} dead letters ({self.writes} contacts, "
            f"{self.tasks} tasks): {self.cleared} cleared, {self.refused_again} refused again; "
            f"{self.remaining} dead letters now"
        )


def retry(job: SyncJob, *, everything: bool = False) -> RetryOutcome:
    """Replay ``job``'s connection's dead letters (``everything``: and its pending work)."""
    store, name = job.store, job.name
    letters = store.dead_letter_rows(name)
    last_id = max((d.id for d in letters), default=0)
    write_ids = sorted({d.contact_id for d in letters if d.kind == "write" and d.contact_id})
    keys = sorted({d.key for d in letters if d.kind == "task" and d.key})
    ids = list(write_ids)
    if everything:
        ids += sorted((store.pending_write_contacts(name) | store.pending_action_contacts(name)) - set(ids))
    with store.transaction() as s:
        store.revive_actions(s, name, keys)
    outcome = RetryOutcome(len(letters), len(write_ids), len(keys), 0, len(letters))
    try:
        outcome.result = job.redecide(ids)
    finally:
        outcome.cleared, outcome.refused_again = _clear(job, letters, last_id)
        outcome.remaining = len(store.dead_letter_rows(name))
    return outcome


def _clear(job: SyncJob, letters: list[DeadLetterRow], last_id: int) -> tuple[int, int]:
    """Remove the letters whose work succeeded or was replaced by a newer letter; how many of each."""
    store, name = job.store, job.name
    result = job.last_result
    decided = result.from_state if result is not None else set()
    newer = [d for d in store.dead_letter_rows(name) if d.id > last_id]
    again = {(d.kind, d.contact_id if d.kind == "write" else d.key) for d in newer}
    pending = store.pending_write_contacts(name)
    statuses = store.action_statuses(name, [d.key for d in letters if d.kind == "task" and d.key])
    cleared: list[int] = []
    replaced: list[int] = []
    for d in letters:
        if (d.kind, d.contact_id if d.kind == "write" else d.key) in again:
            replaced.append(d.id)
        elif _succeeded(d, decided, pending, statuses):
            cleared.append(d.id)
    with store.transaction() as s:
        store.delete_dead_letters(s, cleared + replaced)
    return len(cleared), len(replaced)


def _succeeded(d: DeadLetterRow, decided: set[str], pending: set[str], statuses: dict[str, str]) -> bool:
    """A write re-decided with nothing left pending, or a task now done."""
    if d.kind == "write":
        return d.contact_id in decided and d.contact_id not in pending
    return statuses.get(d.key or "") == "done"
