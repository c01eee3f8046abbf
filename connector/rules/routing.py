"""Step 8 of the decision: who owns a new MQL or SQL (CONTRACT.md §4).

Contacts are routed one at a time in order of (``mql_at`` or ``sql_at``, ``id``), so that round
robin, smooth weighted round robin and per-day capacity depend only on the input. The pointers of
each pool live in ``RoutingState``: ``evaluate`` starts them fresh, the daemon keeps them.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from leadsync.model import Contact, Owner
from leadsync.rules.compiled import PoolRule

__all__ = ["FREE_MAIL_DOMAINS", "Router", "RoutingIndex", "RoutingState"]

# Addresses at these domains say nothing about the company, so they never account-match.
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.es",
        "yahoo.fr",
        "yahoo.co.uk",
        "hotmail.com",
        "hotmail.es",
        "hotmail.fr",
        "outlook.com",
        "outlook.es",
        "live.com",
        "msn.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "proton.me",
        "protonmail.com",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "yandex.com",
        "yandex.ru",
        "mail.ru",
        "zoho.com",
        "zohomail.com",
        "qq.com",
        "163.com",
        "126.com",
        "libero.it",
        "orange.fr",
        "free.fr",
        "laposte.net",
        "t-online.de",
        "terra.com.br",
        "uol.com.br",
        "bol.com.br",
        "rediffmail.com",
        "fastmail.com",
        "hey.com",
        "tutanota.com",
    }
)


@dataclass
class RoutingState:
    """Where each pool's rotation stands: the next index (round robin) or current weights."""

    next_index: dict[str, int] = field(default_factory=dict)
    current_weights: dict[str, dict[str, float]] = field(default_factory=dict)


class RoutingIndex:
    """What routing needs to know of every contact: its owner now, when it was assigned, and
    its company domain. The daemon keeps one for a whole run and updates it page by page."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self.current_owner: dict[str, str | None] = {}
        self._placed: dict[str, tuple[str, datetime]] = {}  # id -> (domain, created_at)
        self._by_domain: dict[str, list[tuple[datetime, str]]] = {}
        self._assigned: dict[str, tuple[str, date]] = {}  # id -> (owner, local day of assigned_at)
        self._per_day: dict[tuple[str, date], int] = {}

    @classmethod
    def of(cls, contacts: Iterable[Contact], tz: ZoneInfo) -> RoutingIndex:
        contacts = list(contacts)
        index = cls(tz)
        if len({c.id for c in contacts}) != len(contacts):
            for c in contacts:  # a repeated id: the later record replaces the earlier
                index.upsert(c.id, c.domain, c.created_at, c.owner_id, c.assigned_at)
            return index
        # Every id once: append, then sort each domain's group once (upsert keeps it sorted
        # with an insertion per contact, which costs more for a whole run's contacts).
        by_domain = index._by_domain
        for c in contacts:
            index.current_owner[c.id] = c.owner_id
            domain = c.domain
            if domain and domain not in FREE_MAIL_DOMAINS:
                index._placed[c.id] = (domain, c.created_at)
                group = by_domain.get(domain)
                if group is None:
                    by_domain[domain] = [(c.created_at, c.id)]
                else:
                    group.append((c.created_at, c.id))
            if c.owner_id and c.assigned_at is not None:
                index._set_assigned(c.id, c.owner_id, c.assigned_at)
        for group in by_domain.values():
            group.sort()
        return index

    def upsert(
        self,
        contact_id: str,
        domain: str | None,
        created_at: datetime,
        owner_id: str | None,
        assigned_at: datetime | None,
    ) -> None:
        """Add a contact, or bring it up to date."""
        self.current_owner[contact_id] = owner_id
        placed = self._placed.pop(contact_id, None)
        if placed is not None:
            group = self._by_domain[placed[0]]
            group.remove((placed[1], contact_id))
        if domain and domain not in FREE_MAIL_DOMAINS:
            self._placed[contact_id] = (domain, created_at)
            bisect.insort(self._by_domain.setdefault(domain, []), (created_at, contact_id))
        self._set_assigned(contact_id, owner_id, assigned_at)

    def _set_assigned(self, contact_id: str, owner_id: str | None, assigned_at: datetime | None) -> None:
        before = self._assigned.pop(contact_id, None)
        if before is not None:
            self._per_day[before] -= 1
        if owner_id and assigned_at is not None:
            key = (owner_id, assigned_at.astimezone(self.tz).date())
            self._assigned[contact_id] = key
            self._per_day[key] = self._per_day.get(key, 0) + 1

    def count_assigned(self, owner_id: str, day: date, count: int) -> None:
        """Add ``count`` assignments of contacts routing will never change (``evaluate`` counts
        them while it reads, and keeps only the count)."""
        key = (owner_id, day)
        self._per_day[key] = self._per_day.get(key, 0) + count

    def owner_of(self, contact_id: str) -> str | None:
        """The owner ``contact_id`` has now (None: none, or a contact the index does not know)."""
        return self.current_owner.get(contact_id)

    def assigned_on(self, owner_id: str, day: date) -> int:
        """How many contacts ``owner_id`` was assigned on ``day`` (local to the rules)."""
        return self._per_day.get((owner_id, day), 0)

    def same_domain(self, domain: str) -> list[tuple[datetime, str]]:
        """(created_at, id) of the contacts at ``domain``, earliest first."""
        return self._by_domain.get(domain, [])

    def assign(self, contact_id: str, owner_id: str, at: datetime) -> None:
        """Record an assignment made now, for capacity and later account matches."""
        self.current_owner[contact_id] = owner_id
        self._set_assigned(contact_id, owner_id, at)


class Router:
    """Routes the contacts of one decision run over an index of every known contact."""

    def __init__(
        self,
        index: RoutingIndex,
        owners: Mapping[str, Owner],
        now: datetime,
        state: RoutingState,
    ) -> None:
        self.index = index
        self.owners = owners
        self.state = state
        self.now = now
        self.today = now.astimezone(index.tz).date()

    def is_active(self, owner_id: str | None) -> bool:
        """An owner missing from the owners file counts as active."""
        if not owner_id:
            return False
        owner = self.owners.get(owner_id)
        return owner is None or owner.active

    def _has_capacity(self, owner_id: str) -> bool:
        owner = self.owners.get(owner_id)
        if owner is None or owner.capacity_per_day is None:
            return True
        return self.index.assigned_on(owner_id, self.today) < owner.capacity_per_day

    def _eligible(self, owner_id: str) -> bool:
        return self.is_active(owner_id) and self._has_capacity(owner_id)

    def account_owner(self, contact: Contact) -> str | None:
        """The active owner of the earliest-created other contact at the same company domain."""
        if not contact.domain or contact.domain in FREE_MAIL_DOMAINS:
            return None
        for _, other in self.index.same_domain(contact.domain):
            owner = self.index.owner_of(other)
            if other != contact.id and self.is_active(owner):
                return owner
        return None

    def from_pool(self, pool: PoolRule) -> str | None:
        """The next eligible owner of ``pool``, advancing its rotation."""
        if pool.weighted:
            return self._weighted(pool)
        size = len(pool.owners)
        start = self.state.next_index.get(pool.name, 0) % size
        for step in range(size):
            index = (start + step) % size
            if self._eligible(pool.owners[index]):
                self.state.next_index[pool.name] = (index + 1) % size
                return pool.owners[index]
        return None

    def _weighted(self, pool: PoolRule) -> str | None:
        # nginx's smooth weighted round robin: every eligible peer gains its weight, the highest
        # current weight wins (ties to the earlier owner) and pays back the total.
        current = self.state.current_weights.setdefault(pool.name, {})
        best: str | None = None
        total = 0.0
        for owner, weight in zip(pool.owners, pool.weights, strict=True):
            if not self._eligible(owner):
                continue
            current[owner] = current.get(owner, 0.0) + weight
            total += weight
            if best is None or current[owner] > current[best]:
                best = owner
        if best is not None:
            current[best] -= total
        return best

    def assign(self, contact: Contact, owner_id: str) -> None:
        self.index.assign(contact.id, owner_id, self.now)

    def route(
        self,
        contact: Contact,
        account_match: bool,
        pools: tuple[PoolRule, ...],
        pool_matches: Callable[[PoolRule], bool],
    ) -> tuple[str | None, str]:
        """(owner, how): ``account_match``, ``pool:NAME`` or ``unassigned``."""
        if account_match:
            owner = self.account_owner(contact)
            if owner is not None:
                self.assign(contact, owner)
                return owner, "account_match"
        for pool in pools:
            if pool_matches(pool):
                owner = self.from_pool(pool)
                if owner is None:
                    return None, "unassigned"
                self.assign(contact, owner)
                return owner, f"pool:{pool.name}"
        return None, "unassigned"
