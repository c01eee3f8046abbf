"""Step 11's triggers about routing and the SLA, and who a notification goes to (CONTRACT §8).

``fired`` gives the (key suffix, time) of a contact trigger that holds for a decision, and
``Audience.expand`` turns a rule's recipients into the decision's `to`: `owner` becomes
`owner:ID` (nobody when the contact has none), `team:NAME` every active owner whose `teams` has
NAME as `owner:ID`, in the owners file's order, and `channel:NAME` stays. A person named twice
(`[owner, team:sales]` when the owner is in sales) is listed once, where first named.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from leadsync.decision import SlaState
from leadsync.model import Owner
from leadsync.rules.compiled import ActionRule
from leadsync.timeutil import duration_delta, format_ts

__all__ = ["NOBODY", "Audience", "fired"]

_ROUTED_BY_RULES = "account_match"


@dataclass(frozen=True)
class Audience:
    """The owners file's teams: team name → its active owners' ids, in the file's order."""

    teams: Mapping[str, tuple[str, ...]]

    @classmethod
    def of(cls, owners: Mapping[str, Owner] | None) -> Audience:
        teams: dict[str, list[str]] = {}
        for owner in (owners or {}).values():
            if owner.active:
                for team in owner.teams:
                    members = teams.setdefault(team, [])
                    if owner.id not in members:
                        members.append(owner.id)
        return cls({team: tuple(ids) for team, ids in teams.items()})

    def expand(self, recipients: tuple[str, ...], owner_id: str | None) -> tuple[str, ...]:
        out: list[str] = []
        for recipient in recipients:
            if recipient == "owner":
                found: tuple[str, ...] = (f"owner:{owner_id}",) if owner_id else ()
            elif recipient.startswith("team:"):
                found = tuple(f"owner:{i}" for i in self.teams.get(recipient[5:], ()))
            else:
                found = (recipient,)
            out.extend(r for r in found if r not in out)
        return tuple(out)


NOBODY = Audience({})


def fired(
    rule: ActionRule,
    routing: str,
    assigned_at: datetime | None,
    sla: SlaState,
    now: datetime,
) -> tuple[str, datetime] | None:
    """For `assigned` and the SLA triggers: (key suffix, when), or None when it does not hold."""
    trigger = rule.trigger
    if trigger == "assigned":
        routed = routing == _ROUTED_BY_RULES or routing.startswith("pool:")
        if routed and assigned_at is not None:
            return format_ts(assigned_at) or "", assigned_at
        return None
    due = sla.due_at
    if due is None:
        return None
    if trigger == "sla_due_soon":
        assert rule.before is not None  # the loader requires it
        holds = sla.status == "pending" and now >= due - duration_delta(*rule.before)
    elif trigger == "sla_breached":
        holds = sla.status == "breached" and sla.first_touch_at is None
    else:  # sla_exhausted
        holds = sla.status == "exhausted"
    return (format_ts(due) or "", due) if holds else None
