"""Point-in-time replay: hand-computed cases, and the replay against a naive engine replay."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from leadsync.backtest.replay import Replayer, fresh_lead, sorted_activities
from leadsync.backtest.tally import Contacted, Period, auc, side_numbers
from leadsync.model import Activity, Contact
from leadsync.rules.compiled import Rules
from leadsync.rules.decide import decide_all
from leadsync.rules.loader import rules_from_source
from leadsync.rules.yamlsource import load_yaml_text

RULES = """\
version: 1
timezone: UTC
scoring:
  fit:
    - {name: director, if: {field: title, matches: "(?i)director"}, points: 40}
  engagement:
    - name: pricing_3x
      activity: page_view
      where: {field: url, contains: "/pricing"}
      min_count: 3
      within_days: 30
      points: 60
    - {name: demo, activity: demo_request, points: 100}
  decay: {after_inactive_days: 30, points: -10, every_days: 30}
stages:
  mql: {score_at_least: 100}
disqualify:
  - {reason: bad_contact_info, if: {activity: email_bounce}}
"""

T0 = datetime(2026, 1, 1, 9, tzinfo=UTC)
UNTIL = datetime(2027, 1, 1, tzinfo=UTC)


def rules(text: str = RULES) -> Rules:
    return rules_from_source(load_yaml_text(text, "rules.yaml"))


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def act(n: int, kind: str, at: datetime, url: str | None = None) -> Activity:
    return Activity(f"a{n}", "c1", kind, at, None, {"url": url} if url else {})


def director(**kw: object) -> Contact:
    return Contact("c1", T0, title="Sales Director", **kw)  # type: ignore[arg-type]


class TestHandCases:
    def test_crosses_the_bar_on_its_third_pricing_visit(self) -> None:
        acts = [act(i, "page_view", day(d), "/pricing") for i, d in enumerate((1, 5, 10))]
        r = Replayer(rules()).replay(fresh_lead(director()), acts, UNTIL)
        # fit 40 + pricing_3x 60 (3 visits within 30 days) = 100 at the third visit, day 10.
        assert (r.handoff_at, r.kind, r.score) == (day(10), "mql", 100)
        assert r.engine is not None and r.engine.total == 100 and not r.mismatch

    def test_visits_too_far_apart_never_cross(self) -> None:
        # Day 40: the visit of day 1 is out of the 30-day window; 2 visits, so 40 points only.
        acts = [act(i, "page_view", day(d), "/pricing") for i, d in enumerate((1, 20, 40))]
        r = Replayer(rules()).replay(fresh_lead(director()), acts, UNTIL)
        assert r.handoff_at is None and r.score == 40

    def test_crossed_then_decayed_is_handed_off_when_it_crossed(self) -> None:
        # Today (day 200) the score is 40 - 10 x (1 + (197 - 30) // 30) = -20, under the bar;
        # evaluate now would not make it MQL, but on day 3 the rules would have.
        acts = [act(i, "page_view", day(d), "/pricing") for i, d in enumerate((1, 2, 3))]
        contact = director()
        r = Replayer(rules()).replay(fresh_lead(contact), acts, UNTIL)
        assert (r.handoff_at, r.score) == (day(3), 100)
        now = day(200)
        [decision] = decide_all(rules(), [contact], lambda _: acts, None, now)
        assert decision.stage == "lead" and decision.score == -20

    def test_decay_as_it_was_then(self) -> None:
        # A demo on day 45 after creation, nothing before: 45 idle days are gone once it comes
        # (the demo is contact-done activity), so 100 at day 45, no decay.
        contact = Contact("c1", T0, title="Analyst")
        r = Replayer(rules()).replay(fresh_lead(contact), [act(1, "demo_request", day(45))], UNTIL)
        assert (r.handoff_at, r.score) == (day(45), 100)

    def test_disqualified_before_it_could_qualify(self) -> None:
        acts = [act(1, "email_bounce", day(2)), act(2, "demo_request", day(5))]
        r = Replayer(rules()).replay(fresh_lead(director()), acts, UNTIL)
        assert r.handoff_at is None
        assert (r.disqualified_at, r.reason) == (day(2), "bad_contact_info")
        # The other way round: handed off on day 2; the bounce after does not undo it.
        acts = [act(1, "demo_request", day(2)), act(2, "email_bounce", day(5))]
        r = Replayer(rules()).replay(fresh_lead(director()), acts, UNTIL)
        assert (r.handoff_at, r.disqualified_at) == (day(2), None)

    def test_a_won_contact_handed_off_after_winning_is_not_recall(self) -> None:
        book = rules()
        early = Contact("c1", T0, title="Director")
        late = Contact("c2", T0, title="Director")
        r1 = Replayer(book).replay(fresh_lead(early), [act(1, "demo_request", day(1))], UNTIL, day(20))
        r2 = Replayer(book).replay(fresh_lead(late), [act(2, "demo_request", day(30))], UNTIL, day(20))
        cohort = [
            Contacted("c1", T0, "web", day(20), (r1,)),  # handed off day 1, won day 20: recall
            Contacted("c2", T0, "web", day(20), (r2,)),  # won day 20, handed off day 30: not
        ]
        period = Period(T0.date(), day(60).date(), UTC, timedelta(days=90), day(400))
        numbers = side_numbers(cohort, 0, 100, None, period)
        assert (numbers["won"], numbers["won_handed_off_before"], numbers["recall"]) == (2, 1, 0.5)
        # Precision: both handoffs judged (day 400 > handoff + 90); only c1 won after its handoff.
        assert (numbers["judged"], numbers["won_in_window"], numbers["precision"]) == (2, 1, 0.5)
        # c2's score stops at its win (day 20): fit 40, nothing else yet.
        assert (r1.score, r2.score) == (140, 40)

    def test_too_recent_handoffs_are_counted_apart(self) -> None:
        r = Replayer(rules()).replay(fresh_lead(director()), [act(1, "demo_request", day(50))], UNTIL)
        cohort = [Contacted("c1", T0, "web", None, (r,))]
        period = Period(T0.date(), day(60).date(), UTC, timedelta(days=90), day(100))
        numbers = side_numbers(cohort, 0, 100, 10, period)
        assert (numbers["too_recent"], numbers["judged"], numbers["precision"]) == (1, 0, None)
        feb = next(m for m in numbers["months"] if m["month"] == "2026-02")
        assert (feb["handoffs"], feb["commitment"], feb["too_recent"]) == (1, 10, 1)


def test_auc_counts_ties_half() -> None:
    assert auc([1, 2, 3, 4], [False, False, True, True]) == 1.0
    assert auc([1, 1, 1, 1], [False, True, False, True]) == 0.5
    assert auc([3, 1, 2, 2], [False, True, True, False]) == 0.125
    assert auc([1, 2], [True, True]) is None


NEGATIVE = RULES.replace(
    "  decay:", "    - {name: unsub, activity: unsubscribe, within_days: 10, points: -80}\n  decay:"
).replace("score_at_least: 100", "score_at_least: 90")
SQL = (
    RULES
    + """\
  - {reason: student, if: {field: title, matches: "(?i)student"}}
"""
)


def naive(book: Rules, contact: Contact, acts: list[Activity]) -> tuple[datetime | None, str | None]:
    """The engine asked from scratch at creation, each activity and each negative window's end."""
    moments = {contact.created_at} | {max(a.at, contact.created_at) for a in acts}
    for e in book.engagement:
        if e.window_days is not None and e.points < 0:
            moments |= {
                a.at + timedelta(days=e.window_days, microseconds=1)
                for a in acts
                if a.type == e.activity_type
            }
    for t in sorted(moments):
        if t >= UNTIL:
            break
        [d] = decide_all(book, [contact], lambda _: acts, None, t)
        if d.stage == "disqualified":
            return None, d.disqualification_reason
        if d.stage in ("mql", "sql"):
            return t, d.stage
    return None, None


@pytest.mark.parametrize("text", [RULES, NEGATIVE, SQL], ids=["plain", "negative-window", "field-disqualify"])
def test_the_replay_finds_what_a_naive_engine_replay_finds(text: str) -> None:
    book = rules(text)
    replayer = Replayer(book)
    rng = random.Random(17)
    kinds = ["page_view", "page_view", "demo_request", "email_bounce", "unsubscribe", "email_open", "call"]
    for n in range(300):
        title = rng.choice(["Director", "Analyst", "Student", None])
        contact = Contact(f"c{n}", T0, title=title)
        acts = [
            Activity(
                f"a{n}-{i}",
                contact.id,
                rng.choice(kinds),
                day(rng.uniform(-5, 120)),
                None,
                {"url": rng.choice(["/pricing", "/blog"])},
            )
            for i in range(rng.randint(0, 12))
        ]
        if rng.random() < 0.1:
            acts = [act(0, "email_bounce", day(200)), *acts]
        ordered = sorted_activities(acts)
        r = replayer.replay(fresh_lead(contact), ordered, UNTIL)
        expected_at, what = naive(book, contact, ordered)
        assert r.handoff_at == expected_at, (n, title, ordered)
        if expected_at is not None:
            assert r.kind == what and not r.mismatch
        else:
            assert r.reason == what
