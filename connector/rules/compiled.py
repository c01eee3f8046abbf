"""The runtime form of a rules file: compiled conditions and ready-made lookups."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from leadsync.rules.clock import Calendar
from leadsync.rules.conditions import ActivityPredicate, ContactPredicate, History
from leadsync.rules.owners import OwnerRef
from leadsync.rules.rulesfile import RulesFile

__all__ = [
    "ActionRule",
    "DecayRule",
    "EngagementRule",
    "FitRule",
    "MqlRule",
    "PoolRule",
    "Rules",
    "SlaRule",
    "SqlRule",
]

Counter = Callable[[History, datetime], int]


@dataclass(frozen=True)
class FitRule:
    name: str
    test: ContactPredicate
    points: float


@dataclass(frozen=True)
class EngagementRule:
    name: str
    activity_type: str
    window_days: int | None
    count: Counter
    points: float
    min_count: int
    per_occurrence: bool
    max_points: float | None


@dataclass(frozen=True)
class DecayRule:
    after_inactive_days: int
    points: float
    every_days: int | None


@dataclass(frozen=True)
class MqlRule:
    score_at_least: float
    fit_at_least: float | None


@dataclass(frozen=True)
class SqlRule:
    criteria: tuple[tuple[str, ContactPredicate], ...]
    require: int


@dataclass(frozen=True)
class SlaRule:
    first_touch: tuple[int, str] | None
    calendar: Calendar
    business_hours: bool
    attempts: int | None
    exhausted_stage: str
    exhausted_reason: str
    archive_after_inactive_days: int | None


@dataclass(frozen=True)
class PoolRule:
    name: str
    test: ContactPredicate | None
    owners: tuple[str, ...]
    weighted: bool
    weights: tuple[float, ...]


@dataclass(frozen=True)
class ActionRule:
    trigger: str
    activity_type: str | None  # None for the stage, routing and SLA triggers
    where: ActivityPredicate | None  # an activity trigger's: on the triggering activity
    task_title: str | None
    due_in: tuple[int, str] | None  # None with a task means `sla`
    notify: tuple[str, ...] | None  # recipients: `owner`, `channel:NAME`, `team:NAME` (CONTRACT §8)
    if_contact: ContactPredicate | None = None  # any other trigger's `where`: on the decided contact
    before: tuple[int, str] | None = None  # `sla_due_soon` only


@dataclass(frozen=True)
class Rules:
    """Everything the decision procedure needs, validated and compiled."""

    source: RulesFile
    file: str
    calendar: Calendar
    contact_types: frozenset[str]
    sales_types: frozenset[str]
    fit: tuple[FitRule, ...]
    engagement: tuple[EngagementRule, ...]
    decay: DecayRule | None
    floor: float | None
    mql: MqlRule | None
    sql: SqlRule | None
    disqualify: tuple[tuple[str, ContactPredicate], ...]
    sla: SlaRule | None
    account_match: bool
    pools: tuple[PoolRule, ...]
    actions: tuple[ActionRule, ...]
    reason_labels: dict[str, str]
    reason_lookup: dict[str, str] = field(repr=False)
    activity_fields: frozenset[str] = frozenset()  # the activity properties any rule reads
    owner_refs: tuple[OwnerRef, ...] = ()  # every owner id the file names, with its line

    @property
    def activity_types(self) -> frozenset[str]:
        return self.contact_types | self.sales_types

    def reason_code(self, value: str | None) -> tuple[str | None, bool]:
        """A CRM reason value as a code, and whether it is known (unknown values are kept)."""
        if value is None or not value.strip():
            return None, True
        code = self.reason_lookup.get(value.strip().casefold())
        return (code, True) if code else (value, False)
