"""The demo's planned past (``leadsync.sandboxes.kit.history``): deterministic for a seed and a
``now``, consistent in itself, and something in every section of the report whatever the date."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from leadsync.sandboxes.kit.history import UNMAPPED, Past, Source, month_start, past

SOURCES = [Source("ads", 30, "empty"), Source("web", 25, "fair"), Source("referral", 8, "best")]
STAGES = ["mql", "sql", "opportunity", "customer", "nurture", "disqualified"]
# The awkward moments: a month's first minutes (a Sunday, a holiday), its last, a DST change.
NOWS = [
    datetime(2026, 12, 7, 22, 40, tzinfo=UTC),
    datetime(2026, 11, 1, 0, 5, tzinfo=UTC),  # 01:05 in Madrid, a Sunday
    datetime(2026, 12, 31, 23, 30, tzinfo=UTC),  # 00:30 on 1 January in Madrid
    datetime(2027, 3, 29, 9, 0, tzinfo=UTC),  # the Monday after summer time began
    datetime(2027, 6, 15, 12, 0, tzinfo=UTC),
]


def plan(now: datetime, seed: int = 7, count: int = 225) -> list[Past]:
    return past(random.Random(seed), count, now, SOURCES, 4, {"no_response": "no contesta"})


@pytest.mark.parametrize("now", NOWS, ids=lambda n: n.isoformat())
def test_the_plan_holds_together(now: datetime) -> None:
    plans = plan(now)
    assert len(plans) == 225
    assert [p.created_at for p in plans] == sorted(p.created_at for p in plans)
    assert plans[0].created_at >= month_start(now, 3)
    for p in plans:
        assert p.created_at <= now
        times = [at for at, _ in p.steps]
        assert times == sorted(times) and all(p.created_at <= at <= now for at in times)
        assert p.stage == (p.steps[-1][1] if p.steps else "lead")
        assert (p.reason is not None) == (p.stage in ("nurture", "disqualified")), p
        if p.mql_at is None:
            assert p.owner is None and not p.touches and p.sql_at is None
            assert [s for _, s in p.steps] in ([], ["disqualified"])
            continue
        assert p.owner is not None and p.steps[0] == (p.mql_at, "mql")
        assert p.sql_at is None or p.mql_at < p.sql_at
        assert all(p.mql_at <= t.at <= now for t in p.touches)
        assert not [t for t in p.touches if t.kind == "email" and t.connected]
        assert len(p.touches) <= 3  # fewer than the playbooks' attempts: no SLA exhausted by the plan


@pytest.mark.parametrize("now", NOWS, ids=lambda n: n.isoformat())
def test_every_section_of_the_report_has_something(now: datetime) -> None:
    plans = plan(now)
    window = month_start(now, 2)
    handed = [p for p in plans if p.mql_at is not None and p.mql_at >= window]
    months = {p.mql_at.astimezone(month_start(now).tzinfo).strftime("%Y-%m") for p in handed if p.mql_at}
    assert len(months) == 3, months  # the window's two months and the one in progress
    assert {p.source for p in handed} == {"ads", "web", "referral"}
    assert {p.stage for p in handed} >= {"sql", "nurture", "disqualified", "mql"}
    assert {p.stage for p in handed} & {"opportunity", "customer"}
    assert any(p.touches for p in handed) and any(not p.touches for p in handed)
    lost_in_window = [p for p in plans if p.reason is not None and p.created_at >= window]
    assert any(p.reason in UNMAPPED for p in lost_in_window)


def test_the_same_seed_and_now_give_the_same_past() -> None:
    assert plan(NOWS[0]) == plan(NOWS[0])
    assert plan(NOWS[0]) != plan(NOWS[0], seed=8)


def test_sources_keep_their_quality() -> None:
    """The story the funnel by source tells: ads bring many leads, few handed off; referrals the
    opposite (over many contacts, so the shares are the QUALITY table's)."""
    plans = plan(NOWS[0], count=4000)

    def handoff_share(source: str) -> float:
        leads = [p for p in plans if p.source == source]
        return sum(p.mql_at is not None for p in leads) / len(leads)

    assert handoff_share("ads") < 0.2 < 0.35 < handoff_share("web") < 0.5 < 0.65 < handoff_share("referral")
    ads = sum(p.source == "ads" for p in plans)
    assert ads > 3 * sum(p.source == "referral" for p in plans)
    reasons = {p.reason for p in plans}
    assert "no contesta" in reasons and "no_response" in reasons  # the sandbox's alias, now and then
