"""Noise control: quiet hours, digests and per-run caps, by hand-computed plans; nothing dropped."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from leadsync.notify.noise import Due, Hold, Merged, Policy, SendNow, plan_run
from leadsync.rules.clock import Calendar
from tests.notify.conftest import make_notice

MADRID = ZoneInfo("Europe/Madrid")
OFFICE = Calendar(MADRID, frozenset(range(5)), time(9), time(17))
SATURDAY_NOON = datetime(2026, 12, 12, 11, 0, tzinfo=UTC)  # 12:00 in Madrid
MONDAY_9 = datetime(2026, 12, 14, 9, 0, tzinfo=MADRID)
TUESDAY_10 = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)  # 10:00 in Madrid, open


DEFAULT = Policy()


def _due(route: str, *triggers: str, policy: Policy = DEFAULT) -> list[Due]:
    return [Due(route, policy, make_notice(f"{t}:C{i}", trigger=t)) for i, t in enumerate(triggers)]


class TestQuietHours:
    def test_outside_business_hours_a_notice_waits_for_the_opening_a_breach_does_not(self) -> None:
        due = _due("owner:u1/slack", "stage_sql", "sla_breached")
        plans = plan_run(due, SATURDAY_NOON, OFFICE)
        assert plans == {
            ("owner:u1/slack", "stage_sql:C0"): Hold(MONDAY_9.astimezone(UTC), "quiet_hours"),
            ("owner:u1/slack", "sla_breached:C1"): SendNow(),
        }

    def test_a_channel_can_send_at_any_hour(self) -> None:
        due = _due("channel:managers", "stage_sql", policy=Policy(quiet_hours="none"))
        assert plan_run(due, SATURDAY_NOON, OFFICE) == {("channel:managers", "stage_sql:C0"): SendNow()}

    def test_within_business_hours_or_without_a_calendar_everything_goes(self) -> None:
        due = _due("channel:x", "stage_mql", "assigned")
        assert set(plan_run(due, TUESDAY_10, OFFICE).values()) == {SendNow()}
        assert set(plan_run(due, SATURDAY_NOON, None).values()) == {SendNow()}


class TestDigest:
    def test_more_than_n_on_one_route_become_one_digest_other_routes_unaffected(self) -> None:
        policy = Policy(digest_over=2)
        due = _due("channel:marketing", "sla_exhausted", "sla_exhausted", "sla_exhausted", policy=policy)
        due += _due("channel:managers", "sla_breached", policy=policy)
        plans = plan_run(due, TUESDAY_10, OFFICE)
        merged = {p for (route, _), p in plans.items() if route == "channel:marketing"}
        assert len(merged) == 1
        [digest_plan] = merged
        assert isinstance(digest_plan, Merged)
        assert [n.key for n in digest_plan.digest.notices] == [d.notice.key for d in due[:3]]
        assert plans[("channel:managers", "sla_breached:C0")] == SendNow()

    def test_exactly_n_are_sent_one_by_one(self) -> None:
        due = _due("channel:m", "stage_mql", "stage_mql", policy=Policy(digest_over=2))
        assert set(plan_run(due, TUESDAY_10, OFFICE).values()) == {SendNow()}

    def test_held_notices_do_not_count_towards_a_digest(self) -> None:
        due = _due("channel:m", "stage_mql", "stage_mql", "sla_breached", policy=Policy(digest_over=1))
        plans = plan_run(due, SATURDAY_NOON, OFFICE)
        assert plans[("channel:m", "sla_breached:C2")] == SendNow()


class TestCaps:
    def test_past_the_cap_the_rest_wait_for_the_next_run_breaches_first(self) -> None:
        policy = Policy(digest_over=10, max_per_run=2)
        due = _due("channel:s", "stage_mql", "stage_mql", "sla_breached", policy=policy)
        plans = plan_run(due, TUESDAY_10, OFFICE)
        assert plans == {
            ("channel:s", "sla_breached:C2"): SendNow(),
            ("channel:s", "stage_mql:C0"): SendNow(),
            ("channel:s", "stage_mql:C1"): Hold(None, "max_per_run"),
        }

    def test_nothing_is_dropped(self) -> None:
        policy = Policy(digest_over=3, max_per_run=1)
        due = [
            d
            for r in ("a", "b", "c")
            for d in _due(f"channel:{r}", *(["stage_mql"] * 5 + ["assigned"]), policy=policy)
        ]
        plans = plan_run(due, SATURDAY_NOON, OFFICE)
        assert set(plans) == {(d.route, d.notice.key) for d in due}
