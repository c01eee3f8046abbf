"""The first touch and whether it met the SLA, per contact, for the CRM's own reports.

Where the mapping names them (``first_touch_at``, ``sla_met``: optional writable fields), the daemon
writes each contact's numbers exactly as ``leadsync report`` counts them (CONTRACT §6, section
``sla``; ``leadsync.report.firsttouch``): the clock starts at the handoff (``mql_at``, else
``sql_at``), the first touch is the earliest sales touch from the handoff to ``now``, and it met the
SLA when it came by the due time of §4 step 9 (business hours and holidays as the rules set them).
So a CRM report of the fields (share of ``sla_met`` true among those set) is the report's
compliance, and the values stay after the contact moves on from ``mql``/``sql`` (opportunity,
nurture), unlike ``sla_status``, which is the live state of an open handoff.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from leadsync.decision import Decision
from leadsync.report.firsttouch import first_touch, first_touch_at
from leadsync.rules.compiled import Rules
from leadsync.rules.history import History

__all__ = ["touch_values"]


def touch_values(
    rules: Rules, decision: Decision, history: History, now: datetime, names: Collection[str]
) -> dict[str, Any]:
    """``first_touch_at`` (None until sales touches a handed-off contact) and ``sla_met`` (True,
    False, or None while open, never handed off, or without ``sla.first_touch_within``), those of
    ``names`` only."""
    if not names:
        return {}
    handoff = decision.mql_at or decision.sql_at
    touched: datetime | None = None
    met: bool | None = None
    sla = rules.sla
    if handoff is not None:
        if sla is not None and sla.first_touch is not None:
            counted = first_touch(sla, history, handoff, now)
            touched = counted.touched_at
            met = None if counted.status == "open" else counted.status == "on_time"
        else:
            touched = first_touch_at(history, handoff)
    values = {"first_touch_at": touched, "sla_met": met}
    return {name: values[name] for name in names}
