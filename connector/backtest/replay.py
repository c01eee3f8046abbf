"""Point in time: replay one contact, as a fresh lead, through its own history under one playbook.

The decision procedure (CONTRACT §4, steps 1 and 5-7) is asked at the contact's creation and at
each moment its activities arrive, in order; the handoff is the first moment it would have made
the contact MQL or SQL. A disqualify rule that holds first ends the replay (a disqualified contact
stays so). Between two such moments the score can only fall (decay grows, positive windows
expire) except where a negative engagement rule's window expires: those moments are asked too.

Re-deciding from scratch at every moment costs the square of a contact's activities. Instead:

* conditions that read no activity (``title``, ``employees``, BANT answers...) hold or not for
  the whole replay (records carry only today's value): they are tested once, at creation;
* the engagement counts are kept up to date as activities arrive (each activity is matched
  against each rule once, by the rule's own compiled counter, and windows drop activities as
  time moves on), and the score is summed from them exactly as ``score_contact`` does;
* the engine's ``score_contact`` gives the score (and its breakdown) at the handoff itself.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from leadsync.model import Activity, Contact
from leadsync.rules.compiled import EngagementRule, PoolRule, Rules
from leadsync.rules.conditions import ContactPredicate
from leadsync.rules.history import CHRONOLOGICAL, History
from leadsync.rules.rulesfile import MAX_SCORE
from leadsync.rules.scoring import Score, score_contact
from leadsync.timeutil import EARLIEST, whole_days

__all__ = ["Replay", "Replayer", "fresh_lead", "history_at", "reads_activities", "sorted_activities"]

_TICK = timedelta(microseconds=1)


def reads_activities(cond: Any) -> bool:
    """Whether a condition of the rules file counts activities somewhere inside it."""
    if isinstance(cond, dict):
        return "activity" in cond or any(reads_activities(v) for v in cond.values())
    if isinstance(cond, list):
        return any(reads_activities(v) for v in cond)
    return False


def fresh_lead(contact: Contact) -> Contact:
    """The contact as it was at its creation, as far as the records can tell: a lead nobody owns."""
    return replace(
        contact,
        stage=None,
        stage_changed_at=None,
        score=None,
        owner_id=None,
        disqualification_reason=None,
        mql_at=None,
        sql_at=None,
        assigned_at=None,
    )


def history_at(rules: Rules, activities: Sequence[Activity], now: datetime) -> History:
    return History(list(activities), now, rules.contact_types, rules.sales_types)


class _Growing(History):
    """A ``History`` that activities join one by one, in order of time."""

    __slots__ = ()

    def __init__(self, rules: Rules) -> None:
        super().__init__([], EARLIEST, rules.contact_types, rules.sales_types)
        self._last_known = True

    def add(self, activity: Activity) -> None:
        bucket = self._by_type.get(activity.type)
        if bucket is None:
            self._by_type[activity.type] = [activity]
        else:
            bucket.append(activity)
        if activity.type in self._contact_types and (self._last is None or activity.at > self._last):
            self._last = activity.at
        self._touches = None

    def only(self, activity: Activity) -> History:
        """This history holding ``activity`` alone (to match it against one rule)."""
        self._by_type = {activity.type: [activity]}
        return self


@dataclass(slots=True)
class Replay:
    """One contact's replay under one playbook."""

    handoff_at: datetime | None = None
    kind: str | None = None  # "mql" or "sql"
    score: float = 0.0  # the highest score up to the handoff, or up to the cut without one
    disqualified_at: datetime | None = None
    reason: str | None = None
    pool: PoolRule | None = None  # the routing pool the contact matched at its handoff
    engine: Score | None = None  # the engine's score at the handoff
    mismatch: bool = False  # the engine's score there differs from the replay's (a bug)


@dataclass(slots=True)
class _Counted:
    rule: EngagementRule
    times: deque[datetime]  # matching activities still inside the window (all, without one)
    window: timedelta | None


class Replayer:
    """Replays contacts under one compiled playbook (see the module's docstring)."""

    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        source = rules.source
        fit_src = source.scoring.fit if source.scoring else []
        named = [f.name for f in fit_src] == [r.name for r in rules.fit]
        # A fit rule tested once unless it reads activities (or cannot be matched to its source).
        self.fit = [(r, not named or reads_activities(fit_src[i].if_)) for i, r in enumerate(rules.fit)]
        dis_src = source.disqualify
        self.disqualify = [
            (code, test, len(dis_src) != len(rules.disqualify) or reads_activities(dis_src[i].if_))
            for i, (code, test) in enumerate(rules.disqualify)
        ]
        self.sql: list[tuple[ContactPredicate, bool]] = []
        if rules.sql is not None and source.stages is not None and source.stages.sql is not None:
            bant = source.stages.sql.bant
            self.sql = [(test, reads_activities(bant.get(name))) for name, test in rules.sql.criteria]  # type: ignore[call-overload]
        self.by_type: dict[str, list[int]] = {}
        for i, e in enumerate(rules.engagement):
            self.by_type.setdefault(e.activity_type, []).append(i)

    def replay(
        self, contact: Contact, activities: Sequence[Activity], until: datetime, cut: datetime | None = None
    ) -> Replay:
        """Replay ``contact`` (already a fresh lead) through ``activities`` (sorted by time, each
        id once) up to ``until``, exclusive; ``cut`` ends the score's maximum (the outcome)."""
        rules = self.rules
        created = contact.created_at
        out = Replay()
        if created >= until:
            return out
        h = _Growing(rules)
        probe = _Growing(rules)
        fit_const = 0.0
        for rule, varies in self.fit:
            if not varies and rule.points and rule.test(contact, h, created):
                fit_const += rule.points
        # Field-only disqualify rules, once; all are asked in the file's order (first match wins).
        disq_const = [not varies and test(contact, h, created) for _, test, varies in self.disqualify]
        sql_const = sum(1 for test, varies in self.sql if not varies and test(contact, h, created))
        counted = [
            _Counted(e, deque(), None if e.window_days is None else timedelta(days=e.window_days))
            for e in rules.engagement
        ]
        expiries: list[datetime] = []
        next_act = 0
        n = len(activities)
        best = float("-inf")
        t = created
        while True:
            while next_act < n and activities[next_act].at <= t:
                a = activities[next_act]
                next_act += 1
                h.add(a)
                for i in self.by_type.get(a.type, ()):
                    c = counted[i]
                    if c.rule.count(probe.only(a), a.at):
                        c.times.append(a.at)
                        if c.window is not None and c.rule.points < 0:
                            heapq.heappush(expiries, a.at + c.window + _TICK)
            total, fit = self._score(contact, h, t, fit_const, counted)
            if cut is None or t <= cut or best == float("-inf"):  # won before creation: its first score
                best = max(best, total)
            done = self._decide(contact, h, t, total, fit, sql_const, disq_const, out)
            if done:
                if out.handoff_at is not None:
                    self._at_handoff(contact, activities[:next_act], t, total, out)
                    out.score = best
                break
            # The next moment: the next activity's time, or a negative window's expiry.
            while expiries and expiries[0] <= t:
                heapq.heappop(expiries)
            candidates = [
                x
                for x in (
                    activities[next_act].at if next_act < n else None,
                    expiries[0] if expiries else None,
                )
                if x is not None
            ]
            if not candidates:
                break
            t = max(min(candidates), created)
            if t >= until:
                break
        if out.handoff_at is None:
            out.score = best if best != float("-inf") else 0.0
        return out

    def _score(
        self, contact: Contact, h: History, t: datetime, fit_const: float, counted: list[_Counted]
    ) -> tuple[float, float]:
        """The score at ``t`` as ``score_contact`` sums it, from the kept counts."""
        rules = self.rules
        fit = fit_const
        for rule, varies in self.fit:
            if varies and rule.points and rule.test(contact, h, t):
                fit += rule.points
        engagement = 0.0
        for c in counted:
            times = c.times
            if c.window is not None:
                start = t - c.window
                while times and times[0] < start:
                    times.popleft()
            e = c.rule
            count = len(times)
            if count < e.min_count or not e.points:
                continue
            points = e.points
            if e.per_occurrence:
                points = e.points * count
                if e.max_points is not None and abs(points) > e.max_points:
                    points = e.max_points if points > 0 else -e.max_points
            engagement += points
        decay = 0.0
        if rules.decay is not None:
            d = rules.decay
            idle = whole_days(h.last_contact_done or contact.created_at, t)
            if idle >= d.after_inactive_days:
                periods = 1 + ((idle - d.after_inactive_days) // d.every_days if d.every_days else 0)
                decay = d.points * periods
        total = fit + engagement + decay
        if rules.floor is not None and total < rules.floor:
            total = rules.floor
        return min(max(total, -MAX_SCORE), MAX_SCORE), fit

    def _decide(
        self,
        contact: Contact,
        h: History,
        t: datetime,
        total: float,
        fit: float,
        sql_const: int,
        disq_const: list[bool],
        out: Replay,
    ) -> bool:
        """Steps 5-7 at ``t`` for a lead; True when the replay ends here."""
        rules = self.rules
        for (code, test, varies), holds in zip(self.disqualify, disq_const, strict=True):
            if holds or (varies and test(contact, h, t)):
                out.disqualified_at, out.reason = t, code
                return True
        if rules.sql is not None:
            held = sql_const + sum(1 for test, varies in self.sql if varies and test(contact, h, t))
            if held >= rules.sql.require:
                out.handoff_at, out.kind = t, "sql"
                return True
        mql = rules.mql
        if (
            mql is not None
            and total >= mql.score_at_least
            and (mql.fit_at_least is None or fit >= mql.fit_at_least)
        ):
            out.handoff_at, out.kind = t, "mql"
            return True
        return False

    def _at_handoff(
        self, contact: Contact, activities: Sequence[Activity], t: datetime, total: float, out: Replay
    ) -> None:
        """The engine's score at the handoff, and the routing pool the contact matches then."""
        rules = self.rules
        history = history_at(rules, activities, t)
        out.engine = score_contact(rules, contact, history, t)
        out.mismatch = abs(out.engine.total - total) > 1e-6
        for pool in rules.pools:
            if pool.test is None or pool.test(contact, history, t):
                out.pool = pool
                break


def sorted_activities(activities: Sequence[Activity]) -> list[Activity]:
    """Each id once (the last one read, as ``History`` keeps it), in order of time."""
    if len({a.id for a in activities}) != len(activities):
        activities = list({a.id: a for a in activities}.values())
    return sorted(activities, key=CHRONOLOGICAL)
