"""One sync run: what its steps share (``RunContext``) and what it did (``RunResult``).

``SyncJob.run`` makes a context at the start of each run and hands it to its own steps and to the
outbox's senders (``outbox.py``), which need the connection, its adapter and state store, the
run's time and its tally, and nothing of the loop itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leadsync.api import CrmAdapter
from leadsync.sync.changes import ContactPlan
from leadsync.sync.state import StateStore

__all__ = ["RunContext", "RunResult"]


@dataclass
class RunResult:
    """What one run did, for logs, ``leadsync status``, the daemon's metrics and the demo.

    ``stages``: how many decisions went from one stage to another, by (previous, decided) stage
    (a contact that stays a lead counts under ``("lead", "lead")``).
    """

    run_id: str
    status: str = "ok"
    counts: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    plans: list[ContactPlan] = field(default_factory=list)
    error: str | None = None
    stages: dict[tuple[str, str], int] = field(default_factory=dict)
    rules_changed: str | None = None  # the new rules' short hash, when they changed since last run
    from_state: set[str] = field(default_factory=set)  # the contacts decided from state (sweep, retry)

    def add(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n

    def decided(self, previous: str, stage: str) -> None:
        """Count one decision, from its previous stage to the one decided."""
        self.stages[previous, stage] = self.stages.get((previous, stage), 0) + 1

    def summary(self, connection: str) -> str:
        """One line: ``hubspot: ok; 300 read, 0 swept, 12 changed, 12 written, 3 tasks, ...``."""
        c = self.counts
        echoes = c.get("echoes_skipped", 0)
        # Unchanged since leadsync last held them: its own writes read back, or contacts read
        # again near the present because the CRM's search can show a change late.
        own = f" ({echoes} of them unchanged since leadsync last saw them, skipped)" if echoes else ""
        rules = ""
        if self.rules_changed:
            redecided = c.get("contacts_redecided", 0)
            rules = f"rules changed (sha {self.rules_changed}): {redecided:,} contacts re-decided; "
        kept = c.get("writes_kept_due", 0) + c.get("tasks_kept_due", 0)
        held = f", {kept} refused by the CRM's setup and kept due" if kept else ""
        return (
            f"{connection}: {self.status}; {rules}{c.get('contacts_read', 0)} read{own}, "
            f"{c.get('contacts_swept', 0)} swept, "
            f"{c.get('contacts_changed', 0)} changed, {c.get('contacts_written', 0)} written, "
            f"{c.get('tasks_created', 0)} tasks, {c.get('dead_letters', 0)} dead letters, "
            f"{c.get('conflicts', 0)} conflicts{held}"
        )


@dataclass(frozen=True)
class RunContext:
    """One run of one connection: whose, against which CRM and state, at what time, how, its tally.

    ``batch_size``: contact writes a call. ``dry_run``: nothing is written anywhere (the plans are
    kept in the result). ``keep_plans``: the result keeps every plan of a run that writes too.
    ``rules_file``: where the rules came from (a refusal's fix names its lines).
    """

    connection: str
    adapter: CrmAdapter
    store: StateStore
    batch_size: int
    now: datetime
    result: RunResult
    log: Any  # structlog's logger, bound to the connection and the run
    dry_run: bool = False
    keep_plans: bool = False
    rules_file: str | None = None
