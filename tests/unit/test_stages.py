"""Steps 2-7 of a decision: reason codes and the stage (CONTRACT.md §2, §4.2-§4.7, manual changes)."""

from __future__ import annotations

from typing import Any

import pytest

from leadsync.decision import LastWritten
from leadsync.rules.decide import RunStats
from tests.support import NOW, activity, ago, contact, decide, decide_objects, rules, table

EARLIER = "2026-10-01T08:00:00Z"


# CEO (40) + demo (60) = 100 = the MQL bar; a page view is worth 10.
RULES = rules("""
    scoring:
      fit:
        - {name: c_level, if: {field: title, matches: "(?i)ceo|director"}, points: 40}
      engagement:
        - {name: demo, activity: demo_request, points: 60}
        - {name: visit, activity: page_view, points: 10}
    stages:
      mql: {score_at_least: 100}
      sql:
        bant:
          budget:    {field: budget_status, in: [approved, estimating]}
          authority: {field: buying_role, in: [economic_buyer, decision_maker]}
          need:      {field: need, present: true}
          timeline:  {field: timeline, in: [this_quarter, next_quarter]}
        require: 4
    disqualify:
      - {reason: student, if: {field: title, matches: "(?i)student|estudiante"}}
      - {reason: competitor, if: {field: company, eq: Rival}}
      - {reason: bad_contact_info, if: {activity: email_bounce}}
    reasons:
      no_budget: {label: "Sin presupuesto", aliases: ["no budget", "presupuesto"]}
      wrong_fit: {label: "Mal encaje"}
    activity_types:
      trial_started: contact
      linkedin_message: sales
    sla:
      first_touch_within: 2h
    routing:
      pools:
        - {name: default, owners: [u1]}
    actions:
      - {trigger: demo_request, task: {title: "Call now", due_in: 15m}}
      - {trigger: stage_mql, notify: sales}
      - {trigger: stage_sql, notify: sales}
""")
OWNERS = [{"id": "u1"}]

# fmt: off
BANT = {"budget_status": "approved", "buying_role": "decision_maker", "need": "CRM",
        "timeline": "this_quarter"}
# fmt: on
BANT3 = {k: v for k, v in BANT.items() if k != "timeline"}
DEMO = activity("d1", "demo_request", ago(hours=1))
VISIT = activity("v1", "page_view", ago(hours=2))


def one(
    c: dict[str, Any],
    acts: list[dict[str, Any]] | None = None,
    owners: list[dict[str, Any]] | None = None,
    r: Any = RULES,
) -> dict[str, Any]:
    return decide(r, [c], acts, owners)[c["id"]]


# -- step 2: reasons ----------------------------------------------------------------------------

KNOWN = [
    ("label", "Sin presupuesto", "no_budget"),
    ("label-trimmed-any-case", "  sin PRESUPUESTO  ", "no_budget"),
    ("alias", "no budget", "no_budget"),
    ("alias-any-case", "No Budget", "no_budget"),
    ("second-alias", "PRESUPUESTO", "no_budget"),
    ("code", "no_budget", "no_budget"),
    ("builtin-code-trimmed-any-case", " Competitor ", "competitor"),
    ("custom-code-label", "mal encaje", "wrong_fit"),
]


class TestReasonCodes:
    """A reason matching a code's label or alias (trimmed, any case) becomes that code, and is a
    change when the CRM's text is not the code itself (written back so that CRM reports group it)."""

    @pytest.mark.parametrize(("value", "code"), table(KNOWN))
    @pytest.mark.parametrize("stage", ["disqualified", "nurture"])
    def test_known_reason_becomes_code(self, stage: str, value: str, code: str) -> None:
        stats = RunStats()
        [d] = decide_objects(
            RULES, [contact(stage=stage, disqualification_reason=value, score=0)], stats=stats
        )
        out = d.to_json()
        assert (out["stage"], out["disqualification_reason"]) == (stage, code)
        assert out["changed"] == ([] if value == code else ["disqualification_reason"])
        assert stats.unknown_reasons == {}

    @pytest.mark.parametrize(
        ("value", "changed"),
        [("  Sin Presupuesto ", ["disqualification_reason"]), ("no_budget", []), (" Moved away ", [])],
    )
    def test_changed_names_the_reason_only_when_the_crm_text_is_not_the_code(
        self, value: str, changed: list[str]
    ) -> None:
        [d] = decide_objects(RULES, [contact(stage="nurture", disqualification_reason=value, score=0)])
        assert d.changed == changed
        assert d.disqualification_reason == ("no_budget" if changed or value == "no_budget" else value)

    @pytest.mark.parametrize("stage", ["opportunity", "customer"])
    def test_an_opportunity_or_customer_keeps_its_reason_as_spelled(self, stage: str) -> None:
        """CONTRACT §2: leadsync never changes a contact in either (the score aside)."""
        [d] = decide_objects(
            RULES, [contact(stage=stage, disqualification_reason=" Sin presupuesto", score=0)]
        )
        assert (d.disqualification_reason, d.changed) == (" Sin presupuesto", [])

    def test_a_blank_reason_is_no_reason(self) -> None:
        [d] = decide_objects(RULES, [contact(stage="nurture", disqualification_reason="   ", score=0)])
        assert (d.disqualification_reason, d.changed) == (None, [])

    def test_unknown_reason_kept_and_counted(self) -> None:
        stats = RunStats()
        cs = [
            contact("c1", stage="disqualified", disqualification_reason="Moved away", score=0),
            contact("c2", stage="nurture", disqualification_reason="Moved away", score=0),
            contact("c3", stage="disqualified", disqualification_reason="Other thing", score=0),
        ]
        ds = decide_objects(RULES, cs, stats=stats)
        assert [d.disqualification_reason for d in ds] == ["Moved away", "Moved away", "Other thing"]
        assert [d.stage for d in ds] == ["disqualified", "nurture", "disqualified"]
        assert all(d.changed == [] for d in ds)
        assert stats.unknown_reasons == {"Moved away": 2, "Other thing": 1}

    def test_unknown_reason_counted_even_when_cleared(self) -> None:
        """The input value is counted even when moving to mql clears it (found as an engine bug)."""
        stats = RunStats()
        c = contact(
            stage="nurture", stage_changed_at=ago(10), disqualification_reason="Moved away", title="CEO"
        )
        [d] = decide_objects(RULES, [c], [DEMO], stats=stats)
        assert (d.stage, d.disqualification_reason) == ("mql", None)
        assert stats.unknown_reasons == {"Moved away": 1}

    def test_unknown_reason_replaced_by_a_rule_counts_the_input_value(self) -> None:
        """The input value is counted, not the code that replaces it (found as an engine bug)."""
        stats = RunStats()
        cs = [
            contact("c1", disqualification_reason="Moved away", title="Student"),
            contact("c2", stage="nurture", disqualification_reason="Moved away", company="Rival"),
        ]
        ds = decide_objects(RULES, cs, stats=stats)
        assert [(d.stage, d.disqualification_reason) for d in ds] == [
            ("disqualified", "student"),
            ("disqualified", "competitor"),
        ]
        assert stats.unknown_reasons == {"Moved away": 2}

    @pytest.mark.parametrize(
        ("fields", "stage"),
        [
            ({"stage": "nurture", "stage_changed_at": ago(10), "title": "CEO"}, "mql"),
            ({"stage": "nurture", "stage_changed_at": ago(10), "properties": BANT}, "sql"),
            ({"stage": "nurture", "stage_changed_at": ago(10), "title": "CEO", "properties": BANT}, "sql"),
        ],
        ids=["nurture-to-mql", "nurture-to-sql", "nurture-to-sql-over-mql"],
    )
    def test_reason_cleared_moving_to_mql_or_sql(self, fields: dict[str, Any], stage: str) -> None:
        d = one(contact(disqualification_reason="Sin presupuesto", **fields), [DEMO])
        assert (d["stage"], d["disqualification_reason"]) == (stage, None)
        assert "disqualification_reason" in d["changed"]

    def test_reason_kept_while_nurture_stays(self) -> None:
        d = one(contact(stage="nurture", stage_changed_at=ago(1), disqualification_reason="inactive"), [])
        assert (d["stage"], d["disqualification_reason"]) == ("nurture", "inactive")


# -- steps 3-7: which stage --------------------------------------------------------------------

BOUNCE = activity("b1", "email_bounce", ago(2))
D, E = "disqualified", EARLIER
# fmt: off
PRECEDENCE = [
    # (id, contact fields, activities, (stage, reason, mql_at, sql_at))
    ("lead-at-bar-becomes-mql", {"title": "CEO"}, [DEMO], ("mql", None, NOW, None)),
    ("null-stage-at-bar-becomes-mql", {"stage": None, "title": "CEO"}, [DEMO], ("mql", None, NOW, None)),
    ("lead-below-bar-stays", {}, [DEMO, VISIT], ("lead", None, None, None)),
    ("bant-4-of-4-lead-to-sql", {"properties": BANT}, [], ("sql", None, None, NOW)),
    ("bant-3-of-4-stays-lead", {"properties": BANT3}, [], ("lead", None, None, None)),
    ("bant-from-mql", {"stage": "mql", "mql_at": E, "properties": BANT}, [], ("sql", None, E, NOW)),
    ("bant-from-nurture-without-activity",
     {"stage": "nurture", "stage_changed_at": ago(1), "properties": BANT}, [], ("sql", None, None, NOW)),
    ("sql-wins-over-mql", {"title": "CEO", "properties": BANT}, [DEMO], ("sql", None, None, NOW)),
    ("sql-stays-sql-keeps-sql_at", {"stage": "sql", "sql_at": E, "properties": BANT}, [],
     ("sql", None, None, E)),
    ("sql-not-mql-on-score", {"stage": "sql", "sql_at": E, "title": "CEO"}, [DEMO], ("sql", None, None, E)),
    ("mql-never-goes-back-on-score", {"stage": "mql", "mql_at": E}, [], ("mql", None, E, None)),
    ("student-over-sql", {"title": "Student", "properties": BANT}, [], (D, "student", None, None)),
    ("student-over-mql", {"title": "Student and CEO"}, [DEMO], (D, "student", None, None)),
    ("first-match-student-before-competitor", {"title": "Estudiante", "company": "Rival"}, [BOUNCE],
     (D, "student", None, None)),
    ("first-match-competitor-before-bounce", {"company": "Rival"}, [BOUNCE], (D, "competitor", None, None)),
    ("activity-rule", {}, [BOUNCE], (D, "bad_contact_info", None, None)),
    ("disqualify-an-mql", {"stage": "mql", "mql_at": E, "company": "Rival"}, [], (D, "competitor", E, None)),
    ("disqualify-an-sql", {"stage": "sql", "sql_at": E, "company": "Rival"}, [], (D, "competitor", None, E)),
    ("disqualify-nurture-replaces-reason",
     {"stage": "nurture", "disqualification_reason": "inactive", "company": "Rival"}, [],
     (D, "competitor", None, None)),
    ("already-disqualified-keeps-reason", {"stage": D, "disqualification_reason": "Sin presupuesto",
                                           "title": "Student CEO", "properties": BANT},
     [DEMO, BOUNCE], (D, "no_budget", None, None)),
    ("already-disqualified-without-reason", {"stage": D, "properties": BANT}, [], (D, None, None, None)),
    ("opportunity-ignores-disqualify", {"stage": "opportunity", "title": "Student"}, [BOUNCE],
     ("opportunity", None, None, None)),
    ("opportunity-ignores-sql", {"stage": "opportunity", "properties": BANT}, [],
     ("opportunity", None, None, None)),
    ("customer-ignores-mql", {"stage": "customer", "title": "CEO"}, [DEMO], ("customer", None, None, None)),
]
# fmt: on


class TestStagePrecedence:
    """opportunity/customer keep their stage; disqualified stays; then disqualify rules (first match),
    then SQL (from lead/mql/nurture, sql_at = now), then MQL at the bar (from lead; never back from mql)."""

    @pytest.mark.parametrize(("fields", "acts", "expected"), table(PRECEDENCE))
    def test_stage(
        self, fields: dict[str, Any], acts: list[dict[str, Any]], expected: tuple[Any, ...]
    ) -> None:
        d = one(contact(**fields), acts)
        assert (d["stage"], d["disqualification_reason"], d["mql_at"], d["sql_at"]) == expected

    @pytest.mark.parametrize(("stage", "owner"), [("opportunity", None), ("customer", "u9")])
    def test_frozen_stages_change_only_the_score(self, stage: str, owner: str | None) -> None:
        c = contact(stage=stage, stage_changed_at=ago(3), owner_id=owner, title="Student director")
        c["properties"] = BANT
        d = one(c, [DEMO, BOUNCE], owners=[*OWNERS, {"id": "u9", "active": False}])
        assert (d["stage"], d["previous_stage"], d["owner_id"], d["routing"]) == (stage, stage, owner, "none")
        assert (d["disqualification_reason"], d["mql_at"], d["sql_at"]) == (None, None, None)
        assert d["actions"] == [] and d["sla"]["status"] == "none"
        assert (d["score"], d["changed"]) == (100, ["score"])


FIT_BAR = rules("""
    scoring:
      fit:
        - {name: big, if: {field: employees, gte: 500}, points: 40}
      engagement:
        - {name: demo, activity: demo_request, points: 60}
        - {name: visit, activity: page_view, points: 10}
    stages:
      mql: {score_at_least: 50, fit_at_least: 40}
""")
FIT_CASES = [
    ("score-and-fit", {"employees": 600}, [DEMO], "mql"),
    ("both-exactly-at-their-bars", {"employees": 600}, [VISIT], "mql"),
    ("score-without-fit", {"employees": 100}, [DEMO, VISIT], "lead"),
    ("fit-without-score", {"employees": 600}, [], "lead"),
]


class TestFitAtLeast:
    """With fit_at_least, MQL needs both the score bar and the fit bar."""

    @pytest.mark.parametrize(("fields", "acts", "stage"), table(FIT_CASES))
    def test_fit_bar(self, fields: dict[str, Any], acts: list[dict[str, Any]], stage: str) -> None:
        assert one(contact(**fields), acts, r=FIT_BAR)["stage"] == stage


def at(days: float, kind: str = "demo_request", id: str | None = None) -> dict[str, Any]:
    return activity(id or f"{kind}-{days}", kind, ago(days))


NURTURE = [
    # (id, stage_changed_at, activities, expected stage); created_at is 30 days ago
    ("demo-after-change", ago(10), [at(0.05)], "mql"),
    ("demo-before-change", ago(10), [at(20)], "nurture"),
    ("demo-exactly-at-change", ago(10), [at(10)], "nurture"),
    ("old-demo-new-page-view", ago(10), [at(20), at(1, "page_view")], "mql"),
    ("old-demo-new-sales-call", ago(10), [at(20), at(1, "call")], "nurture"),
    ("old-demo-new-custom-contact-type", ago(10), [at(20), at(1, "trial_started")], "mql"),
    ("old-demo-new-custom-sales-type", ago(10), [at(20), at(1, "linkedin_message")], "nurture"),
    ("old-demo-future-page-view", ago(10), [at(20), at(-1, "page_view")], "nurture"),
    ("null-changed-at-activity-after-created", None, [at(1)], "mql"),
    ("null-changed-at-activity-before-created", None, [at(40)], "nurture"),
]


class TestNurtureRequalification:
    """nurture goes to mql on score only with contact-done activity after stage_changed_at
    (else after created_at)."""

    @pytest.mark.parametrize(("changed_at", "acts", "stage"), table(NURTURE))
    def test_requalify(self, changed_at: str | None, acts: list[dict[str, Any]], stage: str) -> None:
        c = contact(stage="nurture", stage_changed_at=changed_at, created_at=ago(30), title="CEO")
        c["disqualification_reason"] = "inactive"
        d = one(c, acts)
        assert d["score"] >= 100
        assert (d["stage"], d["mql_at"]) == (stage, NOW if stage == "mql" else None)
        assert d["disqualification_reason"] == (None if stage == "mql" else "inactive")

    def test_new_activity_below_bar_stays(self) -> None:
        c = contact(stage="nurture", stage_changed_at=ago(10), disqualification_reason="inactive")
        assert one(c, [at(1, "page_view")])["stage"] == "nurture"


# -- changed, previous_stage -------------------------------------------------------------------

R = "disqualification_reason"
# fmt: off
CHANGED = [
    # (id, contact fields, activities, owners, changed)
    ("lead-to-mql-null-score", {"title": "CEO"}, [DEMO], None, ["mql_at", "score", "stage"]),
    ("lead-to-mql-routed", {"title": "CEO", "score": 100}, [DEMO], OWNERS,
     ["assigned_at", "mql_at", "owner_id", "stage"]),
    ("lead-to-mql-same-score", {"title": "CEO", "score": 100}, [DEMO], None, ["mql_at", "stage"]),
    ("null-stage-stays-lead-same-score", {"stage": None, "score": 10}, [VISIT], None, []),
    ("lead-stays-lead-new-score", {"score": 0}, [VISIT], None, ["score"]),
    ("nurture-to-mql", {"stage": "nurture", "stage_changed_at": ago(10), R: "inactive", "title": "CEO",
                        "score": 100}, [DEMO], None, [R, "mql_at", "stage"]),
    ("lead-to-disqualified", {"title": "Student", "score": 0}, [], None, [R, "stage"]),
    ("lead-to-sql", {"properties": BANT, "score": 0}, [], None, ["sql_at", "stage"]),
    ("mql-to-sql-keeps-owner",
     {"stage": "mql", "mql_at": E, "owner_id": "u1", "properties": BANT, "score": 0}, [], OWNERS,
     ["sql_at", "stage"]),
    ("disqualified-label-is-written-as-code", {"stage": D, R: "Sin presupuesto", "score": 0}, [], None, [R]),
    ("disqualified-code-is-not-a-change", {"stage": D, R: "no_budget", "score": 0}, [], None, []),
    ("opportunity-score-only", {"stage": "opportunity", "title": "CEO", "score": 0}, [], None, ["score"]),
]
# fmt: on


class TestChanged:
    """changed lists, sorted, exactly the contact fields whose value differs from the input."""

    @pytest.mark.parametrize(("fields", "acts", "owners", "changed"), table(CHANGED))
    def test_changed(
        self, fields: dict[str, Any], acts: list[dict[str, Any]], owners: Any, changed: list[str]
    ) -> None:
        assert one(contact(**fields), acts, owners)["changed"] == changed


STAGES = [None, "lead", "mql", "sql", "nurture", "opportunity", "customer", "disqualified"]


class TestPreviousStage:
    """previous_stage is the stage the CRM held (null reads as lead)."""

    @pytest.mark.parametrize("stage", STAGES, ids=[str(s) for s in STAGES])
    def test_previous_stage(self, stage: str | None) -> None:
        d = one(contact(stage=stage, title="Student"), [])
        assert d["previous_stage"] == (stage or "lead")

    def test_previous_stage_when_stage_changes(self) -> None:
        d = one(contact(stage="nurture", stage_changed_at=ago(5), properties=BANT), [])
        assert (d["previous_stage"], d["stage"]) == ("nurture", "sql")


# -- manual changes win ------------------------------------------------------------------------


def written(**values: Any) -> dict[str, LastWritten]:
    return {"c1": LastWritten(values=values)}


class TestManualChangesWin:
    """A stage or reason a person set in the CRM after leadsync last wrote it is kept and reported
    as a conflict."""

    def test_person_set_sql_is_kept_against_a_disqualify_rule(self) -> None:
        c = contact(stage="sql", sql_at=EARLIER, title="Student")
        [d] = decide_objects(RULES, [c], last_written=written(stage="lead"))
        assert (d.stage, d.previous_stage, d.disqualification_reason) == ("sql", "sql", None)
        assert [(x.field, x.crm_value, x.wanted) for x in d.conflicts] == [("stage", "sql", "disqualified")]
        assert "stage" not in d.changed and "disqualification_reason" not in d.changed

    def test_person_set_sql_is_reported_even_without_a_competing_decision(self) -> None:
        c = contact(stage="sql", sql_at=EARLIER)
        [d] = decide_objects(RULES, [c], last_written=written(stage="lead"))
        assert d.stage == "sql"
        assert [(x.field, x.crm_value, x.wanted) for x in d.conflicts] == [("stage", "sql", "sql")]

    @pytest.mark.parametrize(
        ("crm_stage", "last"),
        [("sql", "sql"), (None, "lead")],
        ids=["crm-equals-written", "null-crm-stage-is-lead"],
    )
    def test_unchanged_since_written_is_decided_normally(self, crm_stage: str | None, last: str) -> None:
        c = contact(stage=crm_stage, title="Student")
        [d] = decide_objects(RULES, [c], last_written=written(stage=last))
        assert (d.stage, d.disqualification_reason, d.conflicts) == ("disqualified", "student", [])

    def test_without_last_written_the_rule_applies(self) -> None:
        [d] = decide_objects(RULES, [contact(stage="sql", sql_at=EARLIER, title="Student")])
        assert (d.stage, d.disqualification_reason, d.conflicts) == ("disqualified", "student", [])

    def test_person_set_reason_is_kept(self) -> None:
        """A person's reason survives a disqualify rule, with a conflict (found as an engine bug)."""
        c = contact(stage="nurture", disqualification_reason="Sin presupuesto", company="Rival")
        [d] = decide_objects(
            RULES, [c], last_written=written(stage="nurture", disqualification_reason="inactive")
        )
        assert (d.stage, d.disqualification_reason) == ("disqualified", "no_budget")
        assert [(x.crm_value, x.wanted) for x in d.conflicts] == [("no_budget", "competitor")]


class TestManualOwnerConflict:
    """An owner a person set stays even when routing would replace them, and it is a conflict."""

    def test_inactive_owner_set_by_a_person_is_kept_as_a_conflict(self):
        from leadsync.decision import LastWritten
        from tests.support import decide_objects

        r = rules("""
            scoring:
              fit: [{name: all, if: {field: title, present: true}, points: 100}]
            stages:
              mql: {score_at_least: 100}
            routing:
              pools: [{name: p, owners: [u1, u2]}]
        """)
        c = contact(title="CEO", stage="mql", mql_at="2026-11-20T10:00:00Z", owner_id="u3")
        owners = [{"id": "u1"}, {"id": "u2"}, {"id": "u3", "active": False}]
        [d] = decide_objects(r, [c], [], owners, last_written={"c1": LastWritten(values={"owner_id": "u1"})})
        assert (d.owner_id, d.routing) == ("u3", "kept")
        assert [(x.field, x.crm_value) for x in d.conflicts] == [("owner_id", "u3")]
