"""``leadsync plan``: the arithmetic that turns a sales quota into a marketing commitment."""

from __future__ import annotations

import math
from dataclasses import dataclass

from leadsync.rules.rulesfile import Commitments

__all__ = ["Plan", "make_plan"]

_MONTHS = {"month": 1, "quarter": 3, "year": 12}


def _whole(x: float) -> int:
    """Round up: a plan that needs 208.3 leads needs 209 (the epsilon absorbs float noise)."""
    return math.ceil(x - 1e-9)


@dataclass(frozen=True)
class Plan:
    """Leads needed for the quota, per month and per quarter, against the marketing commitment.

    customers = quota / average deal; leads = customers / lead-to-customer rate. The quota is
    for ``period`` (``commitments.quota_period``, a quarter unless the rules say otherwise).
    """

    quota: float
    period: str
    average_deal: float
    rate: float
    committed_per_month: float | None

    @property
    def customers(self) -> float:
        return self.quota / self.average_deal

    @property
    def leads(self) -> float:
        return self.customers / self.rate

    @property
    def leads_per_month(self) -> float:
        return self.leads / _MONTHS[self.period]

    @property
    def leads_per_quarter(self) -> float:
        return self.leads_per_month * 3

    @property
    def shortfall_per_month(self) -> float | None:
        """Leads a month the commitment lacks (negative: to spare), or None without one."""
        if self.committed_per_month is None:
            return None
        return _whole(self.leads_per_month) - self.committed_per_month

    def render(self) -> str:
        lines = [
            f"Sales quota (a {self.period}){' ' * (9 - len(self.period))}{self.quota:>14,.0f}",
            f"Average deal                {self.average_deal:>14,.0f}",
            f"Customers needed            {_whole(self.customers):>14,}   = quota / average deal",
            f"Lead-to-customer rate       {self.rate:>14.2%}",
            f"Leads needed                {_whole(self.leads):>14,}   = customers / rate",
            "",
            "                  leads needed   marketing commits",
            f"  per month      {_whole(self.leads_per_month):>12,}   {self._committed(1):>17}",
            f"  per quarter    {_whole(self.leads_per_quarter):>12,}   {self._committed(3):>17}",
            "",
        ]
        short = self.shortfall_per_month
        if short is None:
            lines.append("No `commitments.marketing_mqls_per_month` in the rules: nothing to compare.")
        elif short <= 0:
            lines.append(f"The marketing commitment covers the quota ({-short:,.0f} leads a month to spare).")
        else:
            lines.append(f"The marketing commitment does NOT cover the quota: {short:,.0f} a month short.")
        return "\n".join(lines)

    def _committed(self, months: int) -> str:
        if self.committed_per_month is None:
            return "-"
        return f"{self.committed_per_month * months:,.0f}"


def make_plan(commitments: Commitments | None) -> Plan | list[str]:
    """The plan, or the names of what the rules file lacks for it."""
    c = commitments or Commitments()
    missing = [
        name for name in ("sales_quota", "average_deal", "lead_to_customer_rate") if getattr(c, name) is None
    ]
    if missing:
        return missing
    assert c.sales_quota and c.average_deal and c.lead_to_customer_rate
    return Plan(
        c.sales_quota, c.quota_period, c.average_deal, c.lead_to_customer_rate, c.marketing_mqls_per_month
    )
