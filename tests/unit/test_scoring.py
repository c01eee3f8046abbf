"""Step 1 of a decision: fit + engagement + decay, then the floor (CONTRACT.md §4.1, §5)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import activity, ago, contact, decide, rules, table


def one(
    text: str, c: dict[str, Any] | None = None, acts: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The decision JSON for a single contact c1."""
    return decide(rules(text), [c or contact()], acts)["c1"]


def bd(*pairs: tuple[str, float]) -> list[dict[str, Any]]:
    return [{"rule": r, "points": p} for r, p in pairs]


FIT_ENGAGEMENT = """
scoring:
  fit:
    - {name: c_level, if: {field: title, matches: "(?i)ceo|director"}, points: 10}
    - {name: student, if: {field: title, matches: "(?i)student"}, points: -50}
    - {name: big_company, if: {field: employees, gte: 500}, points: 20}
  engagement:
    - {name: demo, activity: demo_request, points: 50}
    - {name: webinar, activity: webinar_attended, where: {field: completed, eq: true}, points: 15}
"""

DEMO = activity("d1", "demo_request", ago(days=2))
# fmt: off
CASES = [
    # (id, contact fields, activities, fit, engagement, breakdown)
    ("nothing", {}, [], 0, 0, []),
    ("ceo", {"title": "CEO"}, [], 10, 0, [("c_level", 10)]),
    ("ceo-big-company", {"title": "Sales Director", "employees": 800}, [], 30, 0,
     [("c_level", 10), ("big_company", 20)]),
    ("student-big-company", {"title": "Student", "employees": 500}, [], -30, 0,
     [("student", -50), ("big_company", 20)]),
    ("ceo-demo", {"title": "CEO"}, [DEMO], 10, 50, [("c_level", 10), ("demo", 50)]),
    ("demo-twice-counts-once", {}, [DEMO, activity("d2", "demo_request", ago(1))], 0, 50, [("demo", 50)]),
    ("webinar-completed", {}, [activity("w1", "webinar_attended", ago(1), completed=True)], 0, 15,
     [("webinar", 15)]),
    ("webinar-not-completed", {}, [activity("w1", "webinar_attended", ago(1), completed=False)], 0, 0, []),
    ("demo-of-another-contact", {}, [activity("d1", "demo_request", ago(1), contact_id="c2")], 0, 0, []),
]
# fmt: on


class TestFitAndEngagement:
    """Fit rules give points for who the contact is; engagement rules for what they did."""

    @pytest.mark.parametrize(("fields", "acts", "fit", "eng", "breakdown"), table(CASES))
    def test_points(
        self,
        fields: dict[str, Any],
        acts: list[dict[str, Any]],
        fit: int,
        eng: int,
        breakdown: list[tuple[str, int]],
    ) -> None:
        d = one(FIT_ENGAGEMENT, contact(**fields), acts)
        assert (d["fit_score"], d["engagement_score"], d["decay"]) == (fit, eng, 0)
        assert d["score"] == fit + eng
        assert d["breakdown"] == bd(*breakdown)


ORDER = """
scoring:
  fit:
    - {name: zeta, if: {field: employees, gte: 500}, points: 20}
    - {name: zero_fit, if: {field: title, present: true}, points: 0}
    - {name: alpha, if: {field: title, eq: CEO}, points: 10}
    - {name: no_match, if: {field: title, eq: CTO}, points: 99}
  engagement:
    - {name: zz_visit, activity: page_view, points: 5}
    - {name: zero_eng, activity: page_view, points: 0}
    - {name: aa_demo, activity: demo_request, points: 50}
    - {name: never, activity: webinar_attended, points: 7}
  decay: {after_inactive_days: 30, points: -5}
"""


class TestBreakdown:
    """breakdown lists fit, then engagement, then decay, in file order; rules giving 0 are absent."""

    def test_order_and_zero_rules_absent(self) -> None:
        c = contact(title="CEO", employees=600, created_at=ago(100))
        acts = [activity("a1", "demo_request", ago(35)), activity("a2", "page_view", ago(36))]
        d = one(ORDER, c, acts)
        assert d["breakdown"] == bd(
            ("zeta", 20), ("alpha", 10), ("zz_visit", 5), ("aa_demo", 50), ("decay", -5)
        )
        assert (d["score"], d["fit_score"], d["engagement_score"], d["decay"]) == (80, 30, 55, -5)

    def test_no_decay_line_when_not_idle_enough(self) -> None:
        c = contact(title="CEO", created_at=ago(100))
        d = one(ORDER, c, [activity("a1", "demo_request", ago(29))])
        assert d["breakdown"] == bd(("alpha", 10), ("aa_demo", 50))
        assert d["decay"] == 0

    def test_zero_point_decay_is_absent(self) -> None:
        text = "scoring:\n  decay: {after_inactive_days: 1, points: 0}\n"
        d = one(text, contact(created_at=ago(50)))
        assert (d["breakdown"], d["decay"], d["score"]) == ([], 0, 0)


PRICING = """
scoring:
  engagement:
    - {name: pricing_3x, activity: page_view, where: {field: url, contains: "/pricing"}, min_count: 3,
       within_days: 30, points: 30}
"""


def pv(i: int, at: str, url: str = "https://x.io/pricing") -> dict[str, Any]:
    return activity(f"p{i}", "page_view", at, url=url)


WINDOW = [
    ("three-in-window", [pv(1, ago(1)), pv(2, ago(10)), pv(3, ago(29))], 30),
    ("four-in-window-counts-once", [pv(1, ago(1)), pv(2, ago(2)), pv(3, ago(3)), pv(4, ago(4))], 30),
    ("two-in-window-one-older", [pv(1, ago(1)), pv(2, ago(2)), pv(3, ago(31))], 0),
    ("boundary-exactly-30-days-counts", [pv(1, ago(1)), pv(2, ago(2)), pv(3, ago(days=30))], 30),
    ("one-second-past-boundary", [pv(1, ago(1)), pv(2, ago(2)), pv(3, ago(days=30, seconds=1))], 0),
    ("one-other-url", [pv(1, ago(1)), pv(2, ago(2)), pv(3, ago(3), url="https://x.io/blog")], 0),
    ("one-in-the-future", [pv(1, ago(1)), pv(2, ago(2)), pv(3, ago(seconds=-60))], 0),
    ("at-now-counts", [pv(1, ago(1)), pv(2, ago(2)), pv(3, ago())], 30),
]


class TestMinCountWithinDays:
    """Points once when at least min_count matching activities have now − D days <= at <= now."""

    @pytest.mark.parametrize(("acts", "points"), table(WINDOW))
    def test_window(self, acts: list[dict[str, Any]], points: int) -> None:
        d = one(PRICING, contact(), acts)
        assert d["engagement_score"] == points
        assert d["breakdown"] == (bd(("pricing_3x", 30)) if points else [])


PER = """
scoring:
  engagement:
    - {name: case_study, activity: content_download, where: {field: asset_type, eq: case_study},
       points: 20, per: occurrence, max_points: 40}
    - {name: emails, activity: email_click, points: 10, per: occurrence, min_count: 2}
    - {name: unsub, activity: unsubscribe, points: -15, per: occurrence, max_points: 20}
    - {name: recent_opens, activity: email_open, points: 1, per: occurrence, within_days: 7}
"""


def acts_of(kind: str, n: int, days: float = 1, **props: Any) -> list[dict[str, Any]]:
    return [activity(f"{kind}{i}", kind, ago(days + i), **props) for i in range(n)]


# fmt: off
PER_CASES = [
    ("case-study-none", [], []),
    ("case-study-one", acts_of("content_download", 1, asset_type="case_study"), [("case_study", 20)]),
    ("case-study-two", acts_of("content_download", 2, asset_type="case_study"), [("case_study", 40)]),
    ("case-study-three-capped", acts_of("content_download", 3, asset_type="case_study"),
     [("case_study", 40)]),
    ("ebooks-do-not-match",
     acts_of("content_download", 1, asset_type="case_study")
     + [activity(f"e{i}", "content_download", ago(1), asset_type="ebook") for i in range(3)],
     [("case_study", 20)]),
    ("min-count-not-reached", acts_of("email_click", 1), []),
    ("min-count-reached-points-each", acts_of("email_click", 2), [("emails", 20)]),
    ("min-count-three", acts_of("email_click", 3), [("emails", 30)]),
    ("negative-one", acts_of("unsubscribe", 1), [("unsub", -15)]),
    ("negative-capped-by-size", acts_of("unsubscribe", 3), [("unsub", -20)]),
    # opens 4, 5, 6 and exactly 7 days ago are inside the 7-day window; 8 days ago is not
    ("within-days-per-occurrence", acts_of("email_open", 5, days=4), [("recent_opens", 4)]),
]
# fmt: on


class TestPerOccurrence:
    """per: occurrence gives points for each matching activity (after min_count), capped by max_points."""

    @pytest.mark.parametrize(("acts", "breakdown"), table(PER_CASES))
    def test_per_occurrence(self, acts: list[dict[str, Any]], breakdown: list[tuple[str, int]]) -> None:
        d = one(PER, contact(created_at=ago(30)), acts)
        assert d["breakdown"] == bd(*breakdown)
        assert d["engagement_score"] == sum(p for _, p in breakdown)


CS = """
scoring:
  engagement:
    - {name: cs, activity: content_download, where: {field: asset_type, eq: case_study}, points: 20,
       per: occurrence}
    - {name: demo, activity: demo_request, points: 50}
    - {name: two_visits, activity: page_view, min_count: 2, points: 5}
"""


def dl(id: str, at: str, asset: str = "case_study") -> dict[str, Any]:
    return activity(id, "content_download", at, asset_type=asset)


# fmt: off
DEDUPE = [
    ("same-id-twice-once", [dl("a1", ago(1)), dl("a1", ago(1))], 0, 20),
    ("a1-a1-a2", [dl("a1", ago(1)), dl("a1", ago(1)), dl("a2", ago(2))], 0, 40),
    ("last-line-wins-no-longer-matching", [dl("a1", ago(1)), dl("a1", ago(1), "ebook")], 0, 0),
    ("last-line-wins-now-matching", [dl("a1", ago(1), "ebook"), dl("a1", ago(1))], 0, 20),
    ("last-line-moved-to-future", [dl("a1", ago(1)), dl("a1", ago(-1))], 0, 0),
    ("repeated-id-does-not-reach-min-count",
     [activity("v1", "page_view", ago(1)), activity("v1", "page_view", ago(1))], 0, 0),
    ("future-demo-ignored", [activity("d1", "demo_request", ago(seconds=-1))], 0, 0),
    ("demo-at-now-counts", [activity("d1", "demo_request", ago())], 0, 50),
    ("future-downloads-ignored", [dl("a1", ago(1)), dl("a2", ago(2)), dl("a3", ago(-1)), dl("a4", ago(-30))],
     0, 40),
]
# fmt: on


class TestDedupeAndFuture:
    """A repeated activity id is one activity (last line wins); activities after now are ignored."""

    @pytest.mark.parametrize(("acts", "fit", "eng"), table(DEDUPE))
    def test_counted(self, acts: list[dict[str, Any]], fit: int, eng: int) -> None:
        d = one(CS, contact(), acts)
        assert (d["fit_score"], d["engagement_score"], d["score"]) == (fit, eng, eng)


def decay_rules(after: int = 30, every: int | None = None, points: int = -10) -> str:
    every_part = "" if every is None else f", every_days: {every}"
    return f"scoring:\n  decay: {{after_inactive_days: {after}, points: {points}{every_part}}}\n"


DECAY = [
    # (id, after, every, last contact-done activity (days, seconds) before now, expected decay)
    ("no-every-idle-equals-after", 30, None, (30, 0), -10),
    ("no-every-idle-one-day-less", 30, None, (29, 0), 0),
    ("no-every-one-second-short-of-30-days", 30, None, (30, -1), 0),
    ("no-every-idle-90-only-once", 30, None, (90, 0), -10),
    ("every-30-idle-30", 30, 30, (30, 0), -10),
    ("every-30-idle-29", 30, 30, (29, 0), 0),
    ("every-30-idle-59", 30, 30, (59, 0), -10),
    ("every-30-idle-60", 30, 30, (60, 0), -20),
    ("every-30-idle-90", 30, 30, (90, 0), -30),
    ("every-30-idle-60-minus-1s", 30, 30, (60, -1), -10),
    ("every-7-idle-36", 30, 7, (36, 0), -10),
    ("every-7-idle-37", 30, 7, (37, 0), -20),
    ("every-7-idle-43", 30, 7, (43, 0), -20),
    ("every-7-idle-44", 30, 7, (44, 0), -30),
    ("after-0-idle-0", 0, None, (0, 0), -10),
]


class TestDecay:
    """decay = points × (1 + (idle − after) // every_days) when idle >= after
    (just points without every_days)."""

    @pytest.mark.parametrize(("after", "every", "last", "expected"), table(DECAY))
    def test_decay(self, after: int, every: int | None, last: tuple[int, int], expected: int) -> None:
        acts = [activity("a1", "page_view", ago(days=last[0], seconds=last[1]))]
        d = one(decay_rules(after, every), contact(created_at=ago(200)), acts)
        assert (d["decay"], d["score"]) == (expected, expected)
        assert d["breakdown"] == (bd(("decay", expected)) if expected else [])


CUSTOM = "activity_types:\n  trial_started: contact\n  linkedin_message: sales\n"

# fmt: off
IDLE = [
    # (id, created days ago, activities, expected decay with after 30, points -10)
    ("no-activity-created-30-days-ago", 30, [], -10),
    ("no-activity-created-29-days-ago", 29, [], 0),
    ("sales-call-does-not-reset", 40, [activity("s1", "call", ago(1), outcome="connected")], -10),
    ("sales-email-does-not-reset", 40, [activity("s1", "email_sent", ago(1))], -10),
    ("sales-meeting-does-not-reset", 40, [activity("s1", "meeting", ago(1))], -10),
    ("custom-sales-type-does-not-reset", 40, [activity("s1", "linkedin_message", ago(1))], -10),
    ("custom-contact-type-resets", 40, [activity("t1", "trial_started", ago(1))], 0),
    ("page-view-resets", 40, [activity("x1", "page_view", ago(1))], 0),
    ("email-open-resets", 40, [activity("x1", "email_open", ago(1))], 0),
    ("form-submission-resets", 40, [activity("x1", "form_submission", ago(1))], 0),
    ("meeting-booked-resets", 40, [activity("x1", "meeting_booked", ago(1))], 0),
    ("old-contact-activity-then-sales-touch", 100,
     [activity("x1", "page_view", ago(40)), activity("s1", "call", ago(1))], -10),
    ("latest-contact-activity-of-any-type", 100,
     [activity("x1", "page_view", ago(50)), activity("x2", "email_open", ago(5))], 0),
    ("future-contact-activity-does-not-reset", 40, [activity("x1", "page_view", ago(-1))], -10),
]
# fmt: on


class TestIdle:
    """idle counts from the last contact-done activity at or before now, else from created_at;
    sales touches never reset it, custom contact types do."""

    @pytest.mark.parametrize(("created", "acts", "expected"), table(IDLE))
    def test_idle(self, created: int, acts: list[dict[str, Any]], expected: int) -> None:
        d = one(decay_rules() + CUSTOM, contact(created_at=ago(created)), acts)
        assert d["decay"] == expected


FLOOR = [
    # (id, floor line, title, expected score, fit, decay)
    ("floor-0-lifts-negative", "  floor: 0\n", "Student", 0, -50, 0),
    ("floor-0-keeps-positive", "  floor: 0\n", "CEO", 30, 30, 0),
    ("no-floor-negative", "", "Student", -50, -50, 0),
    ("floor-minus-20", "  floor: -20\n", "Student", -20, -50, 0),
    ("floor-above-zero", "  floor: 10\n", None, 10, 0, 0),
    ("floor-after-decay", "  floor: 0\n", "Intern", 0, 5, -10),
]


class TestFloor:
    """The total never goes below floor; fit_score, engagement_score and decay are unchanged by it."""

    @pytest.mark.parametrize(("floor", "title", "score", "fit", "decay"), table(FLOOR))
    def test_floor(self, floor: str, title: str | None, score: int, fit: int, decay: int) -> None:
        text = (
            "scoring:\n" + floor + "  fit:\n"
            "    - {name: c_level, if: {field: title, eq: CEO}, points: 30}\n"
            "    - {name: student, if: {field: title, eq: Student}, points: -50}\n"
            "    - {name: intern, if: {field: title, eq: Intern}, points: 5}\n"
        )
        created = 10
        if title == "Intern":
            text += "  decay: {after_inactive_days: 30, points: -10}\n"
            created = 45
        d = one(text, contact(title=title, created_at=ago(created)))
        assert (d["score"], d["fit_score"], d["decay"]) == (score, fit, decay)


TENTHS = """
scoring:
  fit:
    - {name: a, if: {field: title, present: true}, points: 0.1}
    - {name: b, if: {field: title, present: true}, points: 0.2}
"""


class TestNumbers:
    """Numbers are printed as integers when whole; 0.1 + 0.2 prints 0.3."""

    def test_tenths_add_up_to_three_tenths(self) -> None:
        d = one(TENTHS, contact(title="x"))
        assert d["score"] == 0.3 and d["fit_score"] == 0.3
        assert d["breakdown"] == bd(("a", 0.1), ("b", 0.2))

    def test_per_occurrence_tenths(self) -> None:
        text = (
            "scoring:\n  engagement:\n    - {name: o, activity: email_open, points: 0.1, per: occurrence}\n"
        )
        d = one(text, contact(), acts_of("email_open", 3))
        assert d["engagement_score"] == 0.3 and d["score"] == 0.3

    @pytest.mark.parametrize(
        ("points", "expected", "kind"),
        table([("ten", 10.0, 10, int), ("minus-seven", -7.0, -7, int), ("two-and-a-half", 2.5, 2.5, float)]),
    )
    def test_whole_numbers_are_integers(self, points: float, expected: float, kind: type) -> None:
        text = f"scoring:\n  fit:\n    - {{name: a, if: {{field: title, present: true}}, points: {points}}}\n"
        d = one(text, contact(title="x"))
        for value in (d["score"], d["fit_score"], d["breakdown"][0]["points"]):
            assert value == expected and type(value) is kind
        assert type(d["engagement_score"]) is int and type(d["decay"]) is int

    def test_input_score_equal_to_tenths_sum_is_not_a_change(self) -> None:
        assert one(TENTHS, contact(title="x", score=0.3))["changed"] == []
        assert one(TENTHS, contact(title="x", score=0.4))["changed"] == ["score"]
