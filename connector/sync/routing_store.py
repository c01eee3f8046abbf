"""The routing index of a sync run, backed by the state store.

Routing looks at contacts other than the ones it routes: the earliest-created contact at the same
company domain (account match) and how many contacts an owner was assigned today (capacity per
day). A run used to load every stored contact into a ``RoutingIndex`` before it read anything, so
an idle run cost time, and a backfill memory, in proportion to the contacts stored. This index
asks the state store instead, and only when routing asks:

- ``same_domain(domain)``: the stored contacts at ``domain`` (``StateStore.contacts_at_domain``,
  on the index ``ix_contacts_domain``);
- ``assigned_on(owner, day)``: the stored contacts assigned to ``owner`` on ``day``, local to the
  rules (``StateStore.assigned_between``, on ``ix_contacts_assigned``, over a span a day wider on
  each side, filtered by local date: a day need not be one span of UTC when a clock change falls
  at midnight).

What the run tells the index (the batch's contacts as read, the owners routing assigns) is held
in memory, in ``RoutingIndex``'s own structures, and wins over the store's row of the same contact
until ``settle``: the loop calls it once a batch is committed, when the store holds the same
values (a snapshot keeps the decision's owner and ``assigned_at``; ``snapshot.py``). What the
store answered is kept until then too (the store does not change while a batch is decided: one
replica syncs a connection at a time, ``leases.py``). So the index holds a batch's worth, and
every batch sees what the store holds now: other runs' and replicas' assignments, contacts
deleted or moved, a restart, without a copy to keep in step. A dry run commits nothing and never
settles: its assignments stay in memory for its later batches, as they did before.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from leadsync.rules.routing import FREE_MAIL_DOMAINS, RoutingIndex
from leadsync.sync.state import StateStore

__all__ = ["StoredRoutingIndex"]

_DAY = timedelta(days=1)


class StoredRoutingIndex(RoutingIndex):
    """A ``RoutingIndex`` over the contacts of ``connection`` in ``store``, read when asked."""

    def __init__(self, store: StateStore, connection: str, tz: ZoneInfo) -> None:
        super().__init__(tz)
        self._store = store
        self._connection = connection
        self._domains: dict[str, list[tuple[datetime, str]]] = {}  # stored (created_at, id) by domain
        self._stored_owner: dict[str, str | None] = {}  # stored owner of the contacts in _domains
        self._days: dict[tuple[str, date], list[str]] = {}  # stored ids assigned, by (owner, day)
        self.queries = 0  # store reads so far (what an idle run costs: none)

    def settle(self) -> None:
        """The store now holds what the index was told: forget it, and what the store answered."""
        RoutingIndex.__init__(self, self.tz)
        self._domains.clear()
        self._stored_owner.clear()
        self._days.clear()

    def _told(self, contact_id: str) -> bool:
        """Whether the run told the index of this contact since the last ``settle`` (then its
        values here are newer than the store's)."""
        return contact_id in self.current_owner

    def owner_of(self, contact_id: str) -> str | None:
        if self._told(contact_id):
            return self.current_owner[contact_id]
        return self._stored_owner.get(contact_id)

    def same_domain(self, domain: str) -> list[tuple[datetime, str]]:
        if domain in FREE_MAIL_DOMAINS:  # never placed (they say nothing of the company)
            return []
        stored = self._domains.get(domain)
        if stored is None:
            self.queries += 1
            stored = []
            for cid, created_at, owner in self._store.contacts_at_domain(self._connection, domain):
                stored.append((created_at, cid))
                self._stored_owner[cid] = owner
            self._domains[domain] = stored
        merged = [entry for entry in stored if not self._told(entry[1])]
        merged.extend(super().same_domain(domain))
        merged.sort()
        return merged

    def assigned_on(self, owner_id: str, day: date) -> int:
        stored = self._days.get((owner_id, day))
        if stored is None:
            self.queries += 1
            start = datetime.combine(day, time(), self.tz)
            rows = self._store.assigned_between(self._connection, owner_id, start - _DAY, start + 2 * _DAY)
            stored = [cid for cid, at in rows if at.astimezone(self.tz).date() == day]
            self._days[(owner_id, day)] = stored
        return super().assigned_on(owner_id, day) + sum(1 for cid in stored if not self._told(cid))
