"""The report's accumulator: one decided contact at a time, never the whole input.

``ReportBuilder.add(contact, history, decision)`` takes a contact as read, its History (its
de-duplicated activities at or before ``now``) and its Decision at ``now``; ``result()`` gives the
report as CONTRACT §6's JSON object. What it keeps grows with the number of periods, sources,
owners and reasons, and one integer per first touch (for the percentiles): not with activities.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leadsync.decision import Decision, number
from leadsync.model import Contact, Owner
from leadsync.report.arith import percentile, projected, rate
from leadsync.report.firsttouch import first_touch
from leadsync.report.window import Window, local_date, month_key, period_key
from leadsync.rules.compiled import Rules, SlaRule
from leadsync.rules.history import History
from leadsync.timeutil import format_ts

__all__ = ["NONE", "ReportBuilder", "source_of", "stage_changed_after"]

NONE = "(none)"  # a null or empty lead source, a null owner


def source_of(contact: Contact) -> str:
    """The contact's ``lead_source``, or ``(none)`` when it is null or blank."""
    source = contact.lead_source
    return source if source is not None and source.strip() else NONE


def stage_changed_after(contact: Contact, decision: Decision, now: datetime) -> datetime | None:
    """``stage_changed_at`` after the decision: ``now`` when it changed the stage, else the input's."""
    return now if decision.stage != decision.previous_stage else contact.stage_changed_at


@dataclass(slots=True)
class _Funnel:
    handoffs: int = 0
    sql: int = 0
    opportunity: int = 0
    customer: int = 0
    nurture: int = 0
    disqualified: int = 0
    open: int = 0

    def add(self, decision: Decision) -> None:
        stage = decision.stage
        self.handoffs += 1
        self.sql += decision.sql_at is not None
        self.opportunity += stage in ("opportunity", "customer")
        self.customer += stage == "customer"
        self.nurture += stage == "nurture"
        self.disqualified += stage == "disqualified"
        self.open += stage in ("mql", "sql")

    def to_json(self) -> dict[str, Any]:
        return {
            "handoffs": self.handoffs,
            "sql": self.sql,
            "opportunity": self.opportunity,
            "customer": self.customer,
            "nurture": self.nurture,
            "disqualified": self.disqualified,
            "open": self.open,
            "sql_rate": rate(self.sql, self.handoffs),
            "customer_rate": rate(self.customer, self.handoffs),
        }


@dataclass(slots=True)
class _Sla:
    handoffs: int = 0
    on_time: int = 0
    late: int = 0
    open: int = 0
    speeds: list[int] = field(default_factory=list)

    def add(self, status: str, minutes: int | None) -> None:
        self.handoffs += 1
        self.on_time += status == "on_time"
        self.late += status == "late"
        self.open += status == "open"
        if minutes is not None:
            self.speeds.append(minutes)

    def to_json(self) -> dict[str, Any]:
        speeds = sorted(self.speeds)
        return {
            "handoffs": self.handoffs,
            "on_time": self.on_time,
            "late": self.late,
            "open": self.open,
            "compliance": rate(self.on_time, self.on_time + self.late),
            "speed_to_lead_min": {"median": percentile(speeds, 50), "p90": percentile(speeds, 90)},
        }


@dataclass(slots=True)
class _Reason:
    count: int = 0
    by_source: dict[str, int] = field(default_factory=dict)


def _most_first(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


class ReportBuilder:
    """Counts decided contacts into the sections of CONTRACT §6, one contact at a time."""

    def __init__(self, rules: Rules, window: Window, owners: Mapping[str, Owner] | None = None) -> None:
        self.rules = rules
        self.window = window
        self._names = {o.id: o.name for o in (owners or {}).values()}
        sla = rules.sla
        self._sla: SlaRule | None = sla if sla is not None and sla.first_touch is not None else None
        self.contacts = 0
        self._months: dict[str, int] = dict.fromkeys(window.months(), 0)
        self._funnel: dict[str, _Funnel] = {p: _Funnel() for p in window.periods()}
        self._sources: dict[str, _Funnel] = {}
        self._sla_periods: dict[str, _Sla] = {p: _Sla() for p in window.periods()}
        self._owners: dict[str, _Sla] = {}
        self._reasons: dict[str, _Reason] = {}
        self._unknown: dict[str, int] = {}

    def add(self, contact: Contact, history: History, decision: Decision) -> None:
        """Count one decided contact (its ``history`` as the decision saw it)."""
        self.contacts += 1
        w = self.window
        handoff = decision.mql_at or decision.sql_at
        if handoff is not None:
            day = local_date(handoff, w.tz)
            if w.contains(day):
                self._handoff(contact, history, decision, handoff, period_key(day, w.by), month_key(day))
        self._reason(contact, decision)

    def _handoff(
        self, contact: Contact, history: History, d: Decision, handoff: datetime, period: str, month: str
    ) -> None:
        self._months[month] += 1
        self._funnel[period].add(d)
        source = source_of(contact)
        funnel = self._sources.get(source)
        if funnel is None:
            funnel = self._sources[source] = _Funnel()
        funnel.add(d)
        if self._sla is None:
            return
        touch = first_touch(self._sla, history, handoff, self.window.now)
        self._sla_periods[period].add(touch.status, touch.minutes)
        owner = d.owner_id if d.owner_id is not None else NONE
        tally = self._owners.get(owner)
        if tally is None:
            tally = self._owners[owner] = _Sla()
        tally.add(touch.status, touch.minutes)

    def _reason(self, contact: Contact, d: Decision) -> None:
        if d.stage not in ("nurture", "disqualified") or d.disqualification_reason is None:
            return
        when = stage_changed_after(contact, d, self.window.now) or contact.created_at
        if not self.window.contains(local_date(when, self.window.tz)):
            return
        code, known = self.rules.reason_code(d.disqualification_reason)
        if code is None:  # a blank reason is no reason
            return
        if not known:
            text = code.strip()
            self._unknown[text] = self._unknown.get(text, 0) + 1
            return
        row = self._reasons.get(code)
        if row is None:
            row = self._reasons[code] = _Reason()
        row.count += 1
        source = source_of(contact)
        row.by_source[source] = row.by_source.get(source, 0) + 1

    # -- the report ---------------------------------------------------------------------------

    def result(self) -> dict[str, Any]:
        """The report as CONTRACT §6's JSON object (``sla`` only with ``first_touch_within``)."""
        out: dict[str, Any] = {"commitment": self._commitment(), "funnel": self._funnel_json()}
        if self._sla is not None:
            out["sla"] = self._sla_json()
        out["reasons"] = self._reasons_json()
        out["window"] = self._window_json()
        return out

    def _commitment(self) -> list[dict[str, Any]]:
        commitments = self.rules.source.commitments
        per_month = commitments.marketing_mqls_per_month if commitments else None
        committed = None if per_month is None else number(per_month)
        today = self.window.today
        rows = []
        for month, handoffs in self._months.items():
            expected = handoffs
            if month == month_key(today):
                days = calendar.monthrange(today.year, today.month)[1]
                expected = projected(handoffs, days, today.day)
            met = None if committed is None else expected >= committed
            rows.append(
                {
                    "month": month,
                    "handoffs": handoffs,
                    "committed": committed,
                    "projected": expected,
                    "met": met,
                }
            )
        return rows

    def _funnel_json(self) -> dict[str, Any]:
        periods = [{"period": p, **f.to_json()} for p, f in self._funnel.items()]
        order = sorted(self._sources.items(), key=lambda kv: (-kv[1].handoffs, kv[0]))
        return {"periods": periods, "by_source": [{"source": s, **f.to_json()} for s, f in order]}

    def _sla_json(self) -> dict[str, Any]:
        periods = [{"period": p, **t.to_json()} for p, t in self._sla_periods.items()]
        owners = [
            {"owner_id": o, "name": self._names.get(o), **t.to_json()}
            for o, t in sorted(self._owners.items())
        ]
        return {"periods": periods, "by_owner": owners}

    def _reasons_json(self) -> dict[str, Any]:
        specs = self.rules.source.reasons
        total = sum(r.count for r in self._reasons.values())
        ordered = sorted(self._reasons.items(), key=lambda kv: (-kv[1].count, kv[0]))
        rows = []
        for code, r in ordered:
            spec = specs.get(code)
            rows.append(
                {
                    "reason": code,
                    "label": spec.label if spec is not None else None,
                    "count": r.count,
                    "share": rate(r.count, total),
                    "by_source": dict(_most_first(r.by_source)),
                }
            )
        unknown = [{"value": v, "count": n} for v, n in _most_first(self._unknown)]
        return {"total": total, "rows": rows, "unknown": unknown}

    def _window_json(self) -> dict[str, Any]:
        w = self.window
        return {
            "from": w.start.isoformat(),
            "to": w.end.isoformat(),
            "by": w.by,
            "now": format_ts(w.now),
            "rules": self.rules.source.name,
            "contacts": self.contacts,
        }
