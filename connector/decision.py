"""What a decision is (CONTRACT.md §5): the record written per contact, and its JSON form."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leadsync.timeutil import format_ts

__all__ = ["Action", "Conflict", "Decision", "LastWritten", "SlaState", "number"]


def number(value: float) -> int | float:
    """A whole number as an int, anything else rounded to 6 places (so 0.1 + 0.2 prints 0.3)."""
    value = round(value, 6)
    return int(value) if value == int(value) else value


@dataclass(frozen=True, slots=True)
class LastWritten:
    """What leadsync last wrote to the CRM for one contact, so that manual changes can win.

    ``values`` holds only the fields leadsync wrote that a person's change pins
    (``leadsync.writable.PINNABLE_FIELDS``: ``stage``, ``owner_id``, ``disqualification_reason``
    as a code); a field never written is absent.
    """

    values: dict[str, Any] = field(default_factory=dict)
    written_at: datetime | None = None


@dataclass(slots=True)
class SlaState:
    status: str = "none"
    due_at: datetime | None = None
    first_touch_at: datetime | None = None
    attempts: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "due_at": format_ts(self.due_at),
            "first_touch_at": format_ts(self.first_touch_at),
            "attempts": self.attempts,
        }


@dataclass(frozen=True, slots=True)
class Action:
    """A side effect the daemon does once per ``key``, ever: a task or a notification."""

    type: str  # "task" or "notify"
    key: str
    owner_id: str | None
    title: str | None = None
    due_at: datetime | None = None
    to: tuple[str, ...] | None = None  # a notification's recipients (CONTRACT §8)

    def describe(self) -> str:
        """For a person: `task "TITLE" due TIME` or `notify owner:u1, channel:sales`."""
        if self.type == "task":
            return f'task "{self.title}" due {format_ts(self.due_at)}'
        return f"notify {', '.join(self.to or ()) or 'nobody'}"

    def to_json(self) -> dict[str, Any]:
        if self.type == "task":
            return {
                "type": "task",
                "key": self.key,
                "title": self.title,
                "owner_id": self.owner_id,
                "due_at": format_ts(self.due_at),
            }
        return {"type": "notify", "key": self.key, "to": list(self.to or ()), "owner_id": self.owner_id}


@dataclass(frozen=True, slots=True)
class Conflict:
    """A field a person changed in the CRM after leadsync wrote it: kept, not overwritten."""

    field: str
    crm_value: Any
    wanted: Any


@dataclass(slots=True)
class Decision:
    """The outcome of the decision procedure for one contact at one ``now``."""

    contact_id: str
    score: float
    fit_score: float
    engagement_score: float
    decay: float
    breakdown: list[tuple[str, float]]
    stage: str
    previous_stage: str
    mql_at: datetime | None
    sql_at: datetime | None
    owner_id: str | None
    assigned_at: datetime | None
    routing: str
    disqualification_reason: str | None
    sla: SlaState
    actions: list[Action] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    unknown_reason: bool = False

    def to_json(self) -> dict[str, Any]:
        """The decision exactly as ``leadsync evaluate`` writes it."""
        return {
            "contact_id": self.contact_id,
            "score": number(self.score),
            "fit_score": number(self.fit_score),
            "engagement_score": number(self.engagement_score),
            "decay": number(self.decay),
            "breakdown": [{"rule": r, "points": number(p)} for r, p in self.breakdown],
            "stage": self.stage,
            "previous_stage": self.previous_stage,
            "mql_at": format_ts(self.mql_at),
            "sql_at": format_ts(self.sql_at),
            "owner_id": self.owner_id,
            "routing": self.routing,
            "disqualification_reason": self.disqualification_reason,
            "sla": self.sla.to_json(),
            "actions": [a.to_json() for a in self.actions],
            "changed": self.changed,
        }
