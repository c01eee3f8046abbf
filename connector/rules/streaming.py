"""``decide_all``'s procedure one contact at a time, for inputs larger than memory.

``Decider.first`` takes steps 1-7 (and 9-11 when the contact needs no routing) and gives the
decision, or the routing key of a contact that must wait for step 8; the caller keeps the waiting
contact's records wherever it likes and hands them back to ``Decider.route`` in order of key, once
every contact has been seen and the routing index is built. Each step is ``decide``'s own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from leadsync.decision import Decision
from leadsync.model import Activity, Contact, Owner
from leadsync.rules.compiled import Rules
from leadsync.rules.decide import _ROUTED, RunStats, _first_steps, _last_steps, _route, _Work
from leadsync.rules.history import History
from leadsync.rules.notices import NOBODY, Audience
from leadsync.rules.routing import Router

__all__ = ["Decider", "RouteKey"]

RouteKey = tuple[datetime, str]  # (mql_at or sql_at or now, contact id): the order of step 8

_NOBODY_PINNED: frozenset[str] = frozenset()  # offline: no field was written by leadsync before


class Decider:
    """Decides contacts one by one at ``now``, as ``decide_all`` does without ``last_written``."""

    def __init__(
        self,
        rules: Rules,
        owners: Mapping[str, Owner] | None,
        now: datetime,
        explain: str | None = None,
        notes: list[str] | None = None,
        stats: RunStats | None = None,
    ) -> None:
        self.rules = rules
        self.owners = owners
        self.now = now
        self.explain = explain
        self.notes = notes
        self.stats = stats
        self.audience = Audience.of(owners) if rules.actions else NOBODY

    def _work(self, contact: Contact, activities: Iterable[Activity], notes: list[str] | None) -> _Work:
        rules = self.rules
        history = History(activities, self.now, rules.contact_types, rules.sales_types)
        return _first_steps(rules, contact, history, self.now, _NOBODY_PINNED, notes)

    def first(self, contact: Contact, activities: Iterable[Activity]) -> Decision | RouteKey:
        """The decision, or the routing key when the contact is a new MQL or SQL."""
        notes = self.notes if self.explain == contact.id else None
        mark = 0 if notes is None else len(notes)
        work = self._work(contact, activities, notes)
        stats = self.stats
        if stats is not None and not work.reason_known:
            raw = (contact.disqualification_reason or "").strip()
            stats.unknown_reasons[raw] = stats.unknown_reasons.get(raw, 0) + 1
        if work.stage in _ROUTED:
            if notes is not None:
                del notes[mark:]  # ``route`` takes the steps again, notes and all
            return (work.mql_at or work.sql_at or self.now, contact.id)
        return _last_steps(self.rules, work, self.now, self.audience)

    def route(self, contact: Contact, activities: Iterable[Activity], router: Router) -> Decision:
        """The decision of a contact ``first`` kept waiting: steps 1-7 again, then 8-11."""
        notes = self.notes if self.explain == contact.id else None
        work = self._work(contact, activities, notes)
        _route(self.rules, work, router, self.owners is not None, self.now)
        return _last_steps(self.rules, work, self.now, self.audience)
