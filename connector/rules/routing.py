"""Step 8 of the decision: who owns a new MQL or SQL (CONTRACT.md §4).

Contacts are routed one at a time in order of (``mql_at`` or ``sql_at``, ``id``), so that round
robin, smooth weighted round robin and per-day capacity depend only on the input. The pointers of
each pool live in ``RoutingState``: ``evaluate`` starts them fresh, the daemon keeps them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from connector.model import Contact, Owner
from connector.rules.compiled import PoolRule

__all__ = ["FREE_MAIL_DOMAINS", "Router", "RoutingState"]

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


class Router:
    """Routes contacts of one run; owners assigned earlier in the run count for later ones."""

    def __init__(
        self,
        contacts: list[Contact],
        owners: Mapping[str, Owner],
        now: datetime,
        tz: ZoneInfo,
        state: RoutingState,
    ) -> None:
        self.owners = owners
        self.state = state
        self.today = now.astimezone(tz).date()
        self.tz = tz
        self.current_owner: dict[str, str | None] = {c.id: c.owner_id for c in contacts}
        self.assigned_today: dict[str, int] = {}
        self.by_domain: dict[str, list[Contact]] = {}
        for c in contacts:
            if c.owner_id and c.assigned_at and c.assigned_at.astimezone(tz).date() == self.today:
                self.assigned_today[c.owner_id] = self.assigned_today.get(c.owner_id, 0) + 1
            if c.domain and c.domain not in FREE_MAIL_DOMAINS:
                self.by_domain.setdefault(c.domain, []).append(c)
        for group in self.by_domain.values():
            group.sort(key=lambda c: (c.created_at, c.id))

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
        return self.assigned_today.get(owner_id, 0) < owner.capacity_per_day

    def _eligible(self, owner_id: str) -> bool:
        return self.is_active(owner_id) and self._has_capacity(owner_id)

    def account_owner(self, contact: Contact) -> str | None:
        """The active owner of the earliest-created other contact at the same company domain."""
        if not contact.domain or contact.domain in FREE_MAIL_DOMAINS:
            return None
        for other in self.by_domain.get(contact.domain, ()):
            owner = self.current_owner.get(other.id)
            if other.id != contact.id and self.is_active(owner):
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
        """Record an assignment made now, for capacity and later account matches."""
        self.current_owner[contact.id] = owner_id
        self.assigned_today[owner_id] = self.assigned_today.get(owner_id, 0) + 1

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
