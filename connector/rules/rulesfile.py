"""The shape of the rules file (CONTRACT.md §3) as pydantic models, strict about unknown keys.

Conditions are kept as raw values here and compiled by ``conditions.ConditionCompiler``, which
reports their problems with the line they are on.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["MAX_DAYS", "MAX_POINTS", "MAX_SCORE", "RulesFile"]

# Bounds, so that no rules file can overflow a computation or a CRM's score field. A score goes
# to a Zoho integer field of 9 digits (Salesforce: Number(18, 0); HubSpot: a double), so it is
# held within ±MAX_SCORE (leadsync.rules.scoring), and each rule's points within ±MAX_POINTS.
MAX_POINTS = 1_000_000
MAX_SCORE = 999_999_999
MAX_DAYS = 36_500  # 100 years: windows, idle days, decay periods
MAX_COUNT = 1_000_000

Points = Annotated[float, Field(allow_inf_nan=False, ge=-MAX_POINTS, le=MAX_POINTS)]
PositivePoints = Annotated[float, Field(allow_inf_nan=False, gt=0, le=MAX_POINTS)]
ScoreBar = Annotated[float, Field(allow_inf_nan=False, ge=-MAX_SCORE, le=MAX_SCORE)]
Weight = Annotated[float, Field(allow_inf_nan=False, gt=0, le=MAX_POINTS)]
Amount = Annotated[float, Field(allow_inf_nan=False, gt=0, le=1e15)]
Days = Annotated[int, Field(ge=1, le=MAX_DAYS)]

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)


class FitRule(_Model):
    name: str
    if_: Any = Field(alias="if")
    points: Points


class EngagementRule(_Model):
    name: str
    activity: str
    where: Any = None
    min_count: int = Field(default=1, ge=1, le=MAX_COUNT)
    within_days: Days | None = None
    points: Points
    per: Literal["occurrence"] | None = None
    max_points: PositivePoints | None = None


class Decay(_Model):
    after_inactive_days: int = Field(ge=0, le=MAX_DAYS)
    points: Points
    every_days: Days | None = None


class Scoring(_Model):
    floor: ScoreBar | None = None
    fit: list[FitRule] = []
    engagement: list[EngagementRule] = []
    decay: Decay | None = None


class MqlStage(_Model):
    score_at_least: ScoreBar
    fit_at_least: ScoreBar | None = None


class SqlStage(_Model):
    bant: dict[Literal["budget", "authority", "need", "timeline"], Any]
    require: int | None = Field(default=None, ge=1, le=4)


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
    attempts: int | None = Field(default=None, ge=1, le=1000)
    on_exhausted: OnExhausted = OnExhausted()
    archive_after_inactive_days: Days | None = None
    holidays: list[str] = []


class Pool(_Model):
    name: str
    if_: Any = Field(default=None, alias="if")
    owners: list[str] = Field(min_length=1)
    strategy: Literal["round_robin", "weighted"] = "round_robin"
    weights: dict[str, Weight] | None = None


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
    notify: str | list[str] | None = None
    before: str | None = None


class ReasonSpec(_Model):
    label: str | None = None
    aliases: list[str] = []


class Commitments(_Model):
    marketing_mqls_per_month: Amount | None = None
    quota_period: Literal["month", "quarter", "year"] = "quarter"
    sales_quota: Amount | None = None
    average_deal: Amount | None = None
    lead_to_customer_rate: float | None = Field(default=None, gt=0, le=1, allow_inf_nan=False)


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
