"""An activity stamped after the run's `now` makes its contact due at that time (issue 13, defect 5).

It was logged while the run went on, or by a clock a little ahead of ours. Only activities at
or before `now` count (CONTRACT §4), so the run does not count it; the contact's next check is
then the activity's time, not a day later: a 100-point demo request must not wait 24 hours.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from leadsync.model import Activity, Contact, Owner
from leadsync.rules.decide import decide_all
from leadsync.rules.history import History
from leadsync.rules.horizon import MAX_RECHECK, next_change_at
from leadsync.rules.loader import load_rules
from leadsync.sync.loop import SyncJob
from leadsync.sync.state import StateStore
from tests.sync.fake_crm import FakeCrm

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # Monday 11:00 in Madrid: business hours
RULES = load_rules(Path(__file__).with_name("rules.yaml"))  # CEO 30 + demo 80; MQL at 100
AHEAD = timedelta(minutes=3)


def ceo() -> Contact:
    return Contact(id="c0", created_at=NOW - timedelta(days=30), title="CEO", email="c0@co0.com")


def recheck(activities: list[Activity]) -> datetime:
    histories: dict[str, History] = {}
    [decision] = decide_all(RULES, [ceo()], lambda _: activities, None, NOW, histories=histories)
    return next_change_at(RULES, ceo(), histories["c0"], decision, NOW)


class TestNextCheck:
    def test_an_activity_after_now_is_the_next_check(self) -> None:
        demo = Activity("a0", "c0", "demo_request", NOW + AHEAD)
        assert recheck([demo]) == NOW + AHEAD

    def test_the_earliest_of_several(self) -> None:
        later = [Activity(f"a{i}", "c0", "page_view", NOW + timedelta(hours=i)) for i in (5, 2, 9)]
        assert recheck(later) == NOW + timedelta(hours=2)

    def test_past_activities_change_nothing(self) -> None:
        demo = Activity("a0", "c0", "demo_request", NOW - AHEAD)
        assert recheck([demo]) == NOW + MAX_RECHECK


class TestTheDaemonComesBack:
    """On both backends: the next run after the activity's time re-decides the contact from
    state (the CRM shows no change), and the demo request makes it an MQL with its tasks."""

    def test_demo_request_from_a_clock_ahead(self, store: StateStore) -> None:
        fake = FakeCrm(owners=[Owner("u1"), Owner("u2")])
        fake.put(ceo())
        fake.activities.append(Activity("a0", "c0", "demo_request", NOW + AHEAD))

        first = SyncJob("test", fake, RULES, store, clock=lambda: NOW).run()
        assert first.status == "ok"
        assert fake.contacts["c0"].stage in (None, "lead") and fake.contacts["c0"].score == 30
        recheck_at = store.contacts("test", ["c0"])["c0"].recheck_at
        assert recheck_at.replace(tzinfo=UTC) == NOW + AHEAD  # stored naive UTC (SQLite)

        later = NOW + AHEAD + timedelta(minutes=1)
        second = SyncJob("test", fake, RULES, store, clock=lambda: later).run()
        assert second.counts.get("contacts_swept") == 1
        c0 = fake.contacts["c0"]
        assert (c0.stage, c0.score, c0.mql_at) == ("mql", 110, later)
        assert sorted(fake.tasks) == ["demo_request:c0:a0", "stage_mql:c0:2026-11-23T10:04:00Z"]
