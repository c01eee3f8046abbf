"""Properties of the decision procedure over generated contacts and activities (CONTRACT.md §2, §4, §5)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support import NOW_DT, decide, decide_objects, rules

SETTINGS = settings(max_examples=75, deadline=None)

RULES = rules("""
    scoring:
      floor: 0
      fit:
        - {name: c_level, if: {field: title, matches: "(?i)ceo|director"}, points: 30}
        - {name: student, if: {field: title, matches: "(?i)student"}, points: -50}
        - {name: big, if: {field: employees, gte: 500}, points: 20}
      engagement:
        - {name: demo, activity: demo_request, points: 50}
        - {name: pricing, activity: page_view, where: {field: url, contains: "/pricing"}, min_count: 2,
           within_days: 30, points: 30}
        - {name: cs, activity: content_download, points: 10, per: occurrence, max_points: 30}
      decay: {after_inactive_days: 20, points: -15, every_days: 10}
    stages:
      mql: {score_at_least: 50}
      sql:
        bant:
          budget: {field: budget_status, in: [approved]}
          need: {field: need, present: true}
        require: 2
    disqualify:
      - {reason: student, if: {field: title, matches: "(?i)student"}}
      - {reason: bad_contact_info, if: {activity: email_bounce}}
    sla:
      first_touch_within: 2h
      attempts: 3
      archive_after_inactive_days: 60
    routing:
      account_match: true
      pools:
        - {name: main, owners: [u1, u2]}
    actions:
      - {trigger: demo_request, task: {title: "Call now", due_in: 15m}}
      - {trigger: stage_mql, task: {title: "First touch", due_in: sla}}
      - {trigger: stage_sql, notify: sales}
""")
OWNERS: list[dict[str, Any]] = [
    {"id": "u1"},
    {"id": "u2", "active": True, "capacity_per_day": 2},
    {"id": "u3", "active": False},
]
IDS = ["c0", "c1", "c2", "c3", "c4"]
STAGES = [None, "lead", "mql", "sql", "opportunity", "customer", "nurture", "disqualified"]


def ts(minutes_before_now: int) -> str:
    return (NOW_DT - timedelta(minutes=minutes_before_now)).strftime("%Y-%m-%dT%H:%M:%SZ")


PAST = (st.integers(min_value=0, max_value=3 * 1440) | st.integers(min_value=0, max_value=90 * 1440)).map(ts)
MAYBE_PAST = st.none() | PAST


@st.composite
def a_contact(draw: st.DrawFn, id: str) -> dict[str, Any]:
    props = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "budget_status": st.sampled_from(["approved", "approved", "none", ""]),
                "need": st.sampled_from(["CRM", "CRM", "", None]),
            },
        )
    )
    return {
        "id": id,
        "created_at": draw(st.integers(min_value=0, max_value=120 * 1440).map(ts)),
        "email": draw(st.sampled_from([None, "a@acme.com", "b@beta.io", "c@gmail.com"])),
        "title": draw(st.sampled_from([None, "", "CEO", "Student", "Engineer", "Sales Director"])),
        "employees": draw(st.sampled_from([None, 10, 499, 500, 5000])),
        "stage": draw(st.sampled_from(STAGES) | st.sampled_from([None, "lead", "nurture"])),
        "stage_changed_at": draw(MAYBE_PAST),
        "score": draw(st.sampled_from([None, 0, 50, 100])),
        "owner_id": draw(st.sampled_from([None, "u1", "u3", "u9"])),
        "disqualification_reason": draw(st.sampled_from([None, "student", "No budget", "Moved away"])),
        "mql_at": draw(MAYBE_PAST),
        "sql_at": draw(MAYBE_PAST),
        "properties": props,
    }


KINDS = [
    "page_view",
    "page_view",
    "demo_request",
    "demo_request",
    "content_download",
    "email_bounce",
    "email_open",
    "call",
    "call",
    "meeting",
    "email_sent",
]


@st.composite
def an_activity(draw: st.DrawFn, contact_ids: list[str], minutes: st.SearchStrategy[int]) -> dict[str, Any]:
    kind = draw(st.sampled_from(KINDS))
    record: dict[str, Any] = {
        "contact_id": draw(st.sampled_from(contact_ids)),
        "type": kind,
        "at": ts(draw(minutes)),
    }
    if kind == "page_view":
        record["properties"] = {"url": draw(st.sampled_from(["/pricing", "/blog"]))}
    elif kind == "call":
        record["properties"] = {"outcome": draw(st.sampled_from(["connected", "no_answer"]))}
    if kind in ("call", "email_sent", "meeting"):
        record["owner_id"] = draw(st.sampled_from(["u1", "u2"]))
    return record


# minutes before now (negative: after now); half of them within a day or so of now
ANY_TIME = st.integers(min_value=-1440, max_value=2 * 1440) | st.integers(
    min_value=-3 * 1440, max_value=100 * 1440
)
FUTURE = st.integers(min_value=-30 * 1440, max_value=-1)


@st.composite
def a_run(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    ids = draw(st.lists(st.sampled_from(IDS), min_size=1, max_size=4, unique=True))
    contacts = [draw(a_contact(i)) for i in ids]
    acts = draw(st.lists(an_activity([*ids, "ghost"], ANY_TIME), max_size=10))
    for n, a in enumerate(acts):
        a["id"] = f"a{n}"
    return contacts, acts


def decisions(contacts: list[dict[str, Any]], acts: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return decide(RULES, contacts, acts, OWNERS)


class TestDeterminism:
    """The same input gives the same output, whatever the order of the contacts."""

    @SETTINGS
    @given(a_run(), st.randoms(use_true_random=False))
    def test_same_input_same_output(self, run: Any, rnd: Any) -> None:
        contacts, acts = run
        first = decisions(contacts, acts)
        assert decisions(contacts, acts) == first
        shuffled = list(contacts)
        rnd.shuffle(shuffled)
        assert decisions(shuffled, acts) == first


class TestOutputOrder:
    """Decisions come one per contact, in order of id."""

    @SETTINGS
    @given(a_run(), st.randoms(use_true_random=False))
    def test_sorted_by_id(self, run: Any, rnd: Any) -> None:
        contacts, acts = run
        shuffled = list(contacts)
        rnd.shuffle(shuffled)
        ids = [d.contact_id for d in decide_objects(RULES, shuffled, acts, OWNERS)]
        assert ids == sorted(c["id"] for c in contacts)


class TestScoreFloor:
    """With floor: 0 the score never goes below 0, whatever fit, engagement and decay add up to."""

    @SETTINGS
    @given(a_run())
    def test_never_below_floor(self, run: Any) -> None:
        for d in decisions(*run).values():
            assert d["score"] >= 0
            total = d["fit_score"] + d["engagement_score"] + d["decay"]
            assert abs(d["score"] - max(0, total)) < 1e-9


class TestFrozenStages:
    """leadsync never changes a contact in opportunity or customer: only the score may change."""

    @SETTINGS
    @given(a_run())
    def test_opportunity_and_customer_keep_everything_but_the_score(self, run: Any) -> None:
        contacts, acts = run
        out = decisions(contacts, acts)
        for c in contacts:
            if c["stage"] in ("opportunity", "customer"):
                d = out[c["id"]]
                assert (d["stage"], d["previous_stage"], d["owner_id"]) == (
                    c["stage"],
                    c["stage"],
                    c["owner_id"],
                )
                assert d["actions"] == []
                assert set(d["changed"]) <= {"score"}


class TestFutureActivities:
    """Activities after now never change anything: adding them leaves every decision equal."""

    @SETTINGS
    @given(a_run(), st.data())
    def test_future_activities_change_nothing(self, run: Any, data: st.DataObject) -> None:
        contacts, acts = run
        ids = [c["id"] for c in contacts]
        future = data.draw(st.lists(an_activity(ids, FUTURE), min_size=1, max_size=6))
        for n, a in enumerate(future):
            a["id"] = f"future{n}"
        before = decide_objects(RULES, contacts, acts, OWNERS)
        mixed = data.draw(st.permutations(acts + future))
        after = decide_objects(RULES, contacts, mixed, OWNERS)
        assert [d.to_json() for d in after] == [d.to_json() for d in before]
        assert [d.conflicts for d in after] == [d.conflicts for d in before]
