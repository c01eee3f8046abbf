"""The shape of the rules file (CONTRACT.md §3) as pydantic models, strict about unknown keys.

Conditions are kept as raw values here and compiled by ``conditions.ConditionCompiler``, which
reports their problems with the line they are on.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat

__all__ = ["RulesFile"]

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)


class FitRule(_Model):
    name: str
    if_: Any = Field(alias="if")
    points: float


class EngagementRule(_Model):
    name: str
    activity: str
    where: Any = None
    min_count: int = Field(default=1, ge=1)
    within_days: int | None = Field(default=None, ge=1)
    points: float
    per: Literal["occurrence"] | None = None
    max_points: PositiveFloat | None = None


class Decay(_Model):
    after_inactive_days: int = Field(ge=0)
    points: float
    every_days: int | None = Field(default=None, ge=1)


class Scoring(_Model):
    floor: float | None = None
    fit: list[FitRule] = []
    engagement: list[EngagementRule] = []
    decay: Decay | None = None


class MqlStage(_Model):
    score_at_least: float
    fit_at_least: float | None = None


class SqlStage(_Model):
    bant: dict[Literal["budget", "authority", "need", "timeline"], Any]
    require: int | None = Field(default=None, ge=1)


class Stages(_Model):
    mql: MqlStage | None = None
    sql: SqlStage | None = None


class DisqualifyRule(_Model):
    reason: str
    if_: Any = Field(alias="if")


class BusinessHours(_Model):
    days: list[Day] = ["mon", "tue", "wed", "thu", "fri"]
    from_: str = Field(alias="from")
    to: str


class OnExhausted(_Model):
    stage: Literal["nurture", "disqualified"] = "nurture"
    reason: str = "no_response"


class Sla(_Model):
    first_touch_within: str | None = None
    business_hours: BusinessHours | None = None
    attempts: int | None = Field(default=None, ge=1)
    on_exhausted: OnExhausted = OnExhausted()
    archive_after_inactive_days: int | None = Field(default=None, ge=1)
    holidays: list[str] = []


class Pool(_Model):
    name: str
    if_: Any = Field(default=None, alias="if")
    owners: list[str] = Field(min_length=1)
    strategy: Literal["round_robin", "weighted"] = "round_robin"
    weights: dict[str, PositiveFloat] | None = None


class Routing(_Model):
    account_match: bool = False
    pools: list[Pool] = []


class TaskSpec(_Model):
    title: str
    due_in: str


class Action(_Model):
    trigger: str
    where: Any = None
    task: TaskSpec | None = None
    notify: str | None = None


class ReasonSpec(_Model):
    label: str | None = None
    aliases: list[str] = []


class Commitments(_Model):
    marketing_mqls_per_month: PositiveFloat | None = None
    quota_period: Literal["month", "quarter", "year"] = "quarter"
    sales_quota: PositiveFloat | None = None
    average_deal: PositiveFloat | None = None
    lead_to_customer_rate: float | None = Field(default=None, gt=0, le=1)


class RulesFile(_Model):
    version: Literal[1]
    name: str | None = None
    timezone: str = "UTC"
    scoring: Scoring = Scoring()
    stages: Stages = Stages()
    disqualify: list[DisqualifyRule] = []
    sla: Sla | None = None
    routing: Routing = Routing()
    actions: list[Action] = []
    reasons: dict[str, ReasonSpec | None] = {}
    activity_types: dict[str, Literal["contact", "sales"]] = {}
    commitments: Commitments | None = None
