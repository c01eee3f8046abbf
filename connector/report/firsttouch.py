"""One handed-off contact's SLA as the report counts it (CONTRACT §6, section ``sla``).

The clock starts at ``handoff_at``; the first touch is due ``first_touch_within`` later in business
hours, holidays closed (``leadsync.rules.sla.due_at``, the decision's own arithmetic, §4 step 9).
The first touch is the earliest sales touch with ``handoff_at <= at <= now``. Speed to lead is the
whole minutes from the clock's start to that touch, open minutes only when business hours are set.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import datetime, timedelta

from leadsync.rules.compiled import SlaRule
from leadsync.rules.history import History
from leadsync.rules.sla import due_at

__all__ = ["FirstTouch", "first_touch", "first_touch_at", "speed_minutes"]

_MINUTE = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class FirstTouch:
    """``status`` is ``on_time``, ``late`` or ``open``; ``minutes`` None without a first touch."""

    status: str
    due_at: datetime
    touched_at: datetime | None
    minutes: int | None


def speed_minutes(sla: SlaRule, start: datetime, touched: datetime) -> int:
    """Whole minutes (rounded down) from ``start`` to ``touched``; with business hours, only the
    open ones (a start outside them counts from the next opening, a touch outside them up to the
    last closing before it)."""
    span = sla.calendar.open_time(start, touched) if sla.business_hours else touched - start
    return max(0, span // _MINUTE)


def first_touch_at(history: History, handoff_at: datetime) -> datetime | None:
    """The earliest sales touch with ``handoff_at <= at <= now`` (the history's ``now``)."""
    touches = history.touches  # at or before now, in order of time
    i = bisect_left(touches, handoff_at, key=lambda a: a.at)
    return touches[i].at if i < len(touches) else None


def first_touch(sla: SlaRule, history: History, handoff_at: datetime, now: datetime) -> FirstTouch:
    """The contact's first touch after its handoff, and whether it came within the SLA."""
    due = due_at(sla, handoff_at)
    assert due is not None  # the report has an sla section only with first_touch_within
    touched = first_touch_at(history, handoff_at)
    if touched is not None:
        status = "on_time" if touched <= due else "late"
        return FirstTouch(status, due, touched, speed_minutes(sla, handoff_at, touched))
    return FirstTouch("late" if now > due else "open", due, None, None)
