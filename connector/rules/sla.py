"""Step 9 of the decision: the first-touch promise and the attempts before recycling."""

from __future__ import annotations

from datetime import datetime

from leadsync.decision import SlaState
from leadsync.rules.compiled import SlaRule
from leadsync.rules.history import History, is_connection

__all__ = ["clock_start", "due_at", "sla_state"]


def clock_start(
    contact_mql_at: datetime | None, sql_at: datetime | None, stage_changed_at: datetime | None
) -> datetime | None:
    """The SLA clock starts at ``mql_at``, else ``sql_at``, else ``stage_changed_at``."""
    return contact_mql_at or sql_at or stage_changed_at


def due_at(sla: SlaRule | None, start: datetime | None) -> datetime | None:
    """When the first touch is due, counting business hours when the rules set them."""
    if sla is None or sla.first_touch is None or start is None:
        return None
    return sla.calendar.add(start, *sla.first_touch)


def sla_state(sla: SlaRule, history: History, start: datetime | None, now: datetime) -> tuple[SlaState, bool]:
    """The SLA status for an owned MQL/SQL, and whether its attempts are exhausted."""
    if start is None:
        return SlaState(), False
    due = due_at(sla, start)
    touches = [t for t in history.touches if t.at >= start]
    first = touches[0].at if touches else None
    state = SlaState(due_at=due, first_touch_at=first, attempts=len(touches))
    if due is not None:
        if first is not None:
            state.status = "met" if first <= due else "breached"
        else:
            state.status = "breached" if now > due else "pending"
    exhausted = (
        sla.attempts is not None
        and len(touches) >= sla.attempts
        and not any(is_connection(t) for t in touches)
    )
    if exhausted:
        state.status = "exhausted"
    return state, exhausted
