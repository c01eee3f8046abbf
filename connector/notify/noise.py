"""Noise control, as pure functions: for each notice due on a route in one run, send it now, hold
it until a time, hold it for the next run, or merge it into that route's digest.

In this order, per route (a channel, or one owner's Slack or e-mail):

1. **Quiet hours** (``quiet_hours: business_hours``, the default): outside the rules' business
   hours a notice waits for the next opening (``Hold(until=opening)``); ``sla_breached`` never
   waits. ``quiet_hours: none`` sends at any hour. Without a calendar, every hour is open.
2. **Digest**: when more than ``digest_over`` notices are left to send, they all go as one message
   listing them (``Merged(digest)``, the same ``Digest`` for each).
3. **Per-run cap** (``max_per_run``): past that many messages in a run, the rest wait for the next
   run (``Hold(until=None)``), ``sla_breached`` first in line.

Nothing is dropped: every notice given gets exactly one plan, and a held one is planned again in
a later run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from leadsync.notify.notice import Digest, Notice
from leadsync.rules.clock import Calendar

__all__ = ["Due", "Hold", "Merged", "Plan", "Policy", "SendNow", "plan_run"]

URGENT = frozenset({"sla_breached"})  # never waits for the opening, first past a cap


@dataclass(frozen=True)
class Policy:
    """A route's noise controls (a channel's own, else the section's)."""

    quiet_hours: str = "business_hours"  # or "none"
    digest_over: int = 10
    max_per_run: int | None = None


@dataclass(frozen=True)
class Due:
    """A notice due on a route in this run."""

    route: str
    policy: Policy
    notice: Notice


@dataclass(frozen=True)
class SendNow:
    pass


@dataclass(frozen=True)
class Hold:
    """Not now: at ``until`` (quiet hours), or at the next run (None: the run's cap was reached)."""

    until: datetime | None
    reason: str


@dataclass(frozen=True)
class Merged:
    digest: Digest


Plan = SendNow | Hold | Merged


def quiet_until(notice: Notice, policy: Policy, calendar: Calendar | None, now: datetime) -> datetime | None:
    """When a notice held by quiet hours may go (None: now)."""
    if notice.trigger in URGENT or policy.quiet_hours == "none" or calendar is None:
        return None
    opening = calendar.next_open(now)
    return opening if opening > now else None


def plan_run(due: Iterable[Due], now: datetime, calendar: Calendar | None) -> dict[tuple[str, str], Plan]:
    """The plan of every (route, notice key) due in this run."""
    routes: dict[str, list[Due]] = {}
    for item in due:
        routes.setdefault(item.route, []).append(item)
    plans: dict[tuple[str, str], Plan] = {}
    for route, items in routes.items():
        plans.update(_plan_route(route, items, now, calendar))
    return plans


def _plan_route(
    route: str, items: Sequence[Due], now: datetime, calendar: Calendar | None
) -> dict[tuple[str, str], Plan]:
    plans: dict[tuple[str, str], Plan] = {}
    ready: list[Notice] = []
    for item in items:
        until = quiet_until(item.notice, item.policy, calendar, now)
        if until is not None:
            plans[(route, item.notice.key)] = Hold(until, "quiet_hours")
        else:
            ready.append(item.notice)
    if not ready:
        return plans
    policy = items[0].policy
    if len(ready) > policy.digest_over:
        digest = Digest(route, tuple(ready))
        plans.update({(route, n.key): Merged(digest) for n in ready})
        return plans
    # Urgent first, then in the order given; sorted() keeps that order within each group.
    ordered = sorted(ready, key=lambda n: n.trigger not in URGENT)
    cap = policy.max_per_run if policy.max_per_run is not None else len(ordered)
    for i, notice in enumerate(ordered):
        plans[(route, notice.key)] = SendNow() if i < cap else Hold(None, "max_per_run")
    return plans
