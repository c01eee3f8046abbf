"""Several months of sales history for a demo CRM, the same story in every sandbox.

``leadsync demo`` ends with ``leadsync report``, which counts handoffs (``mql_at``/``sql_at``), what
became of them, the first sales touch after each, and why the lost ones were lost. A freshly seeded
sandbox has none of that, so ``past()`` plans it: contacts created from the first day of the month
three months before ``now`` (in Madrid, the demo playbooks' time zone) until shortly before ``now``,
from several lead sources of different quality (a ``"empty"`` source brings many leads that are
seldom handed off and then mostly lost; a ``"best"`` one few that sell), handed off on weekdays in
office hours, touched by their owner on time, late or never (each owner has a habit), then moved on
to ``sql``, ``opportunity``, ``customer``, back to ``nurture`` or out (``disqualified``) with a
reason: a code, now and then an alias the playbook maps, or a text nobody mapped yet.

The plan is CRM-neutral: each sandbox writes it in its own fields and records (lead sources by
its own values, owners by index into its active ones). Deterministic for an ``rng`` and ``now``.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = ["QUALITY", "UNMAPPED", "Past", "Source", "Touch", "month_start", "past"]

OFFICE = ZoneInfo("Europe/Madrid")
# quality → (share handed off to sales, share of those that became SQL, share of SQLs won)
QUALITY = {
    "empty": (0.12, 0.15, 0.10),
    "thin": (0.25, 0.30, 0.25),
    "fair": (0.40, 0.40, 0.35),
    "good": (0.55, 0.55, 0.45),
    "best": (0.75, 0.70, 0.55),
}
# Why leads were lost, as reps pick or type it: (text, weight). Codes are CONTRACT §2's built-in
# ones; the texts with capitals and spaces match no code (the report lists them to be mapped).
UNMAPPED = ("  Ya tiene proveedor ", "Fuera de zona", "Compró a la competencia")
_NURTURE = [("bad_timing", 5), ("no_response", 4), ("no_need", 2), ("no_budget", 3)]
_OUT = [
    ("not_decision_maker", 3),
    ("bad_contact_info", 2),
    ("competitor", 1),
    ("no_budget", 2),
    (UNMAPPED[0], 2),
    (UNMAPPED[1], 1),
]
_LOST_SQL = [("price", 3), ("lost_to_competitor", 3), ("bad_timing", 2), (UNMAPPED[2], 1)]
_NEVER_HANDED = [("bad_contact_info", 4), ("spam", 2), ("duplicate", 1)]
# each owner's habit: the chance that the first touch comes on time (else late, else never)
_ON_TIME = [0.9, 0.75, 0.6, 0.45, 0.3]


@dataclass(frozen=True)
class Source:
    """A lead source as the CRM spells it, how many leads it brings (weight), and their quality."""

    value: str
    weight: int
    quality: str  # a key of QUALITY


@dataclass(frozen=True)
class Touch:
    """A sales touch: a call (``connected`` when it reached the person) or an e-mail sent."""

    at: datetime
    kind: str  # "call" or "email"
    connected: bool = False


@dataclass
class Past:
    """One contact's history. ``steps`` is the stage path after ``lead`` at ``created_at``."""

    created_at: datetime
    source: str
    stage: str = "lead"
    stage_changed_at: datetime | None = None
    mql_at: datetime | None = None
    sql_at: datetime | None = None
    reason: str | None = None
    owner: int | None = None  # index into the sandbox's active owners
    touches: list[Touch] = field(default_factory=list)
    steps: list[tuple[datetime, str]] = field(default_factory=list)

    def move(self, at: datetime, stage: str, reason: str | None = None) -> None:
        self.steps.append((at, stage))
        self.stage, self.stage_changed_at, self.reason = stage, at, reason


def month_start(now: datetime, back: int = 0) -> datetime:
    """The first moment of the month ``back`` months before ``now``'s month, in Madrid."""
    local = now.astimezone(OFFICE)
    year, month = divmod(local.year * 12 + local.month - 1 - back, 12)
    return datetime(year, month + 1, 1, tzinfo=OFFICE)


def _office_slot(rng: random.Random, after: datetime) -> datetime:
    """A weekday moment between 09:30 and 15:00 Madrid time, the first such day that has one after
    ``after``."""
    day = after.astimezone(OFFICE).date()
    while True:
        if day.weekday() < 5:
            minute = rng.randint(9 * 60 + 30, 15 * 60)
            slot = datetime.combine(day, time(minute // 60, minute % 60), OFFICE)
            if slot > after:
                return slot
        day += timedelta(days=1)


def _weighted(rng: random.Random, items: Sequence[tuple[str, int]]) -> str:
    return rng.choices([v for v, _ in items], [w for _, w in items])[0]


def _reason(rng: random.Random, items: Sequence[tuple[str, int]], aliases: Mapping[str, str]) -> str:
    return _spelt(rng, _weighted(rng, items), aliases)


def _spelt(rng: random.Random, code: str, aliases: Mapping[str, str]) -> str:
    """The code, or now and then the alias a rep types for it."""
    return aliases[code] if code in aliases and rng.random() < 0.3 else code


def _touches(rng: random.Random, p: Past, owners: int, now: datetime) -> None:
    """The first touch on time, late or never (by the owner's habit), and a follow-up or two."""
    assert p.mql_at is not None and p.owner is not None
    habit = _ON_TIME[p.owner * len(_ON_TIME) // max(owners, 1)]
    roll = rng.random()
    if roll < habit:
        first = p.mql_at + timedelta(minutes=rng.randint(4, 100))
    elif roll < habit + (1 - habit) * 0.7:
        first = p.mql_at + timedelta(hours=rng.uniform(26, 96))
    else:
        return
    at = first
    for n in range(rng.randint(1, 3)):
        if at >= now:
            break
        kind = "call" if rng.random() < 0.6 else "email"
        p.touches.append(Touch(at, kind, kind == "call" and (n > 0 or rng.random() < 0.4)))
        at += timedelta(days=rng.uniform(1, 6))


def _after_handoff(
    rng: random.Random, p: Past, quality: str, aliases: Mapping[str, str], now: datetime
) -> None:
    """SQL, opportunity, customer, or lost; leads handed off in the last days are still open."""
    assert p.mql_at is not None
    _, sql_rate, won_rate = QUALITY[quality]
    days = (now - p.mql_at).total_seconds() / 86_400
    if rng.random() < sql_rate and days > 1:
        sql_at = p.mql_at + timedelta(days=rng.uniform(0.5, min(days, 10)))
        p.sql_at = sql_at if sql_at < now else None
    if p.sql_at is not None:
        p.move(p.sql_at, "sql")
        later = p.sql_at + timedelta(days=rng.uniform(3, 20))
        if later >= now:
            return
        roll = rng.random()
        if roll < won_rate:
            p.move(later, "opportunity")
            won = later + timedelta(days=rng.uniform(5, 30))
            if won < now and rng.random() < 0.7:
                p.move(won, "customer")
        elif roll < won_rate + (1 - won_rate) * 0.6:
            lost = _reason(rng, _LOST_SQL, aliases)
            p.move(later, "disqualified" if lost in ("price", "lost_to_competitor") else "nurture", lost)
        return
    if days < 4 or rng.random() < 0.15:
        return  # still with sales
    later = p.mql_at + timedelta(days=rng.uniform(2, min(days, 20)))
    if not p.touches or rng.random() < 0.55:
        p.move(
            later,
            "nurture",
            _spelt(rng, "no_response", aliases) if not p.touches else _reason(rng, _NURTURE, aliases),
        )
    else:
        p.move(later, "disqualified", _reason(rng, _OUT, aliases))


def past(
    rng: random.Random,
    count: int,
    now: datetime,
    sources: Sequence[Source],
    owners: int,
    aliases: Mapping[str, str] | None = None,
) -> list[Past]:
    """``count`` contacts' histories, oldest first. ``aliases``: code → a text the sandbox's demo
    playbook maps to it (a rep's spelling), used now and then instead of the code."""
    aliases = aliases or {}
    start = month_start(now, 3)
    span = (now - timedelta(hours=2) - start).total_seconds()
    created = sorted(start + timedelta(seconds=rng.uniform(0, span)) for _ in range(count))
    plans: list[Past] = []
    for at in created:
        source = rng.choices(list(sources), [s.weight for s in sources])[0]
        handoff_rate = QUALITY[source.quality][0]
        p = Past(at.astimezone(now.tzinfo), source.value)
        plans.append(p)
        if rng.random() < handoff_rate and owners:
            mql_at = _office_slot(rng, at + timedelta(hours=rng.uniform(0.5, 120)))
            if mql_at < now - timedelta(minutes=10):
                p.mql_at, p.owner = mql_at.astimezone(now.tzinfo), rng.randrange(owners)
                p.move(p.mql_at, "mql")
                _touches(rng, p, owners, now)
                _after_handoff(rng, p, source.quality, aliases, now)
                continue
        if rng.random() < {"empty": 0.3, "thin": 0.12}.get(source.quality, 0.04):
            gone = at + timedelta(days=rng.uniform(0.2, 5))
            if gone < now:
                p.move(gone.astimezone(now.tzinfo), "disqualified", _reason(rng, _NEVER_HANDED, aliases))
    _every_section_shows(rng, plans, now, owners)
    return plans


def _every_section_shows(rng: random.Random, plans: list[Past], now: datetime, owners: int) -> None:
    """Whatever the day: the month in progress has handoffs (on its first hour, two leads whose
    scores crossed the bar at night), and the report's window a reason text nobody mapped."""
    this_month = month_start(now)
    if owners and not any(p.mql_at and p.mql_at >= this_month for p in plans):
        quiet = [p for p in plans if not p.steps and p.created_at < this_month][-2:]
        for n, p in enumerate(quiet, 1):
            p.mql_at, p.owner = (this_month + (now - this_month) * n / 3).astimezone(now.tzinfo), 0
            p.move(p.mql_at, "mql")
    window = month_start(now, 2)
    lost = [p for p in plans if p.stage == "disqualified" and p.created_at >= window]
    if lost and not any(p.reason in UNMAPPED for p in lost):
        lost[-1].reason = UNMAPPED[rng.randrange(len(UNMAPPED))]
