"""When time alone could next change a decision, so the daemon re-decides a contact nobody
touched in the CRM exactly when its SLA falls due, its score decays, an engagement window
closes, an activity stamped after the run's ``now`` comes due, it should be archived, or an
`sla_due_soon` notice falls due (CONTRACT §8) —
from state, without reading the CRM again."""

from __future__ import annotations

from datetime import datetime, timedelta

from leadsync.decision import Decision
from leadsync.model import Contact
from leadsync.rules.compiled import Rules
from leadsync.rules.history import History
from leadsync.timeutil import duration_delta

__all__ = ["MAX_RECHECK", "next_change_at"]

# Conditions may hide windows (an activity condition's within_days): never wait longer than this.
MAX_RECHECK = timedelta(days=1)
_SECOND = timedelta(seconds=1)


def next_change_at(
    rules: Rules, contact: Contact, history: History, decision: Decision, now: datetime
) -> datetime:
    """The earliest moment after ``now`` at which the same inputs may decide differently."""
    candidates = [now + MAX_RECHECK]
    if history.next_at is not None:  # an activity after ``now`` counts from its own time
        candidates.append(history.next_at)
    due = decision.sla.due_at
    if decision.sla.status == "pending" and due is not None:
        # Breached once `now > due_at`: the first second after it (timestamps are whole seconds).
        candidates.append(due + _SECOND)
        for action in rules.actions:  # CONTRACT §8: `sla_due_soon` fires at `due_at − before`
            if action.before is not None:
                candidates.append(due - duration_delta(*action.before))
    last = history.last_contact_done or contact.created_at
    decay = rules.decay
    if decay is not None:
        first = last + timedelta(days=decay.after_inactive_days)
        if first > now:
            candidates.append(first)
        elif decay.every_days:
            periods = (now - first) // timedelta(days=decay.every_days) + 1
            candidates.append(first + periods * timedelta(days=decay.every_days))
    archive = rules.sla.archive_after_inactive_days if rules.sla else None
    if archive is not None and decision.stage in ("mql", "nurture"):
        moment = last + timedelta(days=archive)
        if moment > now:
            candidates.append(moment)
    for rule in rules.engagement:
        window = rule.window_days
        if window is None:
            continue
        for activity in history.of_type(rule.activity_type):
            leaves = activity.at + timedelta(days=window)
            if leaves > now:
                candidates.append(leaves)
    return min(c for c in candidates if c > now)
