"""``ApiBudget``: how much of its API allowance the CRM says a connection has spent.

Each CRM meters its API differently and reports it on its responses: HubSpot a daily request
quota (``X-HubSpot-RateLimit-Daily`` and ``-Daily-Remaining``), Salesforce the org's rolling
24-hour request count (``Sforce-Limit-Info: api-usage=used/max``), Zoho the credits left for the
rolling 24 hours (``X-API-CREDITS-REMAINING``, sent once half are spent, without the total).

An adapter that knows says so through an optional method, ``api_budget() -> ApiBudget | None``
(None until the CRM has reported anything). The daemon reads it when its metrics are scraped
(``leadsync_api_budget_*``), from another thread than the run's: the method must only read what
the adapter already holds, never call the CRM.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ApiBudget"]


@dataclass(frozen=True)
class ApiBudget:
    """The CRM's last report of its allowance: what it counts in, and whichever figures it gave.

    ``unit`` names what is counted (``requests``, ``credits``), one word, the same for every
    report of an adapter. A figure the CRM did not give is None; the third of ``used``, ``limit``
    and ``remaining`` is worked out when two are known.
    """

    unit: str
    used: int | None = None
    limit: int | None = None
    remaining: int | None = None

    def __post_init__(self) -> None:
        if not self.unit.isidentifier():
            raise ValueError(f"an API budget's unit is one word, not {self.unit!r}")
        used, limit, remaining = self.used, self.limit, self.remaining
        if used is None and limit is not None and remaining is not None:
            object.__setattr__(self, "used", max(limit - remaining, 0))
        elif remaining is None and limit is not None and used is not None:
            object.__setattr__(self, "remaining", max(limit - used, 0))
        elif limit is None and used is not None and remaining is not None:
            object.__setattr__(self, "limit", used + remaining)
