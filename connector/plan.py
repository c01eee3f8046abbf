"""``leadsync plan``: the arithmetic that turns a sales quota into a marketing commitment."""

from __future__ import annotations

import math
from dataclasses import dataclass

from connector.rules.schema import Commitments

__all__ = ["Plan", "make_plan"]


@dataclass(frozen=True)
class Plan:
    """Leads needed for the quota, per month and per quarter, against the marketing commitment.

    ``sales_quota`` is read as a yearly quota (the unit a revenue contract is signed for).
    """

    quota: float
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
        return self.leads / 12

    @property
    def leads_per_quarter(self) -> float:
        return self.leads / 4

    @property
    def covers(self) -> bool | None:
        if self.committed_per_month is None:
            return None
        return self.committed_per_month >= math.ceil(self.leads_per_month - 1e-9)

    def render(self) -> str:
        def n(x: float) -> str:
            return f"{math.ceil(x - 1e-9):,}"

        lines = [
            f"Sales quota (a year)          {self.quota:,.0f}",
            f"Average deal                  {self.average_deal:,.0f}",
            f"Customers needed              {n(self.customers)}   = quota / average deal",
            f"Lead-to-customer rate         {self.rate:.2%}",
            f"Leads needed                  {n(self.leads)}   = customers / rate",
            "",
            "                     needed   committed",
            f"  per month      {n(self.leads_per_month):>10}  {self._committed(1):>10}",
            f"  per quarter    {n(self.leads_per_quarter):>10}  {self._committed(3):>10}",
            "",
        ]
        if self.covers is None:
            lines.append("No `marketing_mqls_per_month` in the rules: nothing to compare.")
        elif self.covers:
            spare = self.committed_per_month - math.ceil(self.leads_per_month - 1e-9)  # type: ignore[operator]
            lines.append(f"The marketing commitment covers the quota ({spare:,.0f} leads a month to spare).")
        else:
            short = math.ceil(self.leads_per_month - 1e-9) - self.committed_per_month  # type: ignore[operator]
            lines.append(
                f"The marketing commitment does NOT cover the quota: {short:,.0f} leads a month short."
            )
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
    return Plan(c.sales_quota, c.average_deal, c.lead_to_customer_rate, c.marketing_mqls_per_month)
