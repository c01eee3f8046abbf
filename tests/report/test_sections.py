"""CONTRACT §6's sections on one hand-made set of contacts: what counts where, `(none)` sources
and owners, reasons known and unknown, `stage_changed_at` after the decision, the commitment with
the month in progress projected, rates and their nulls, and the sla section only with an SLA.

now = Wednesday 2026-12-09 10:00Z; the default window runs from 2026-10-01 to 2026-12-09. The
SLA is 2h around the clock (no business hours), so each due time is the handoff + 2h.
"""

from __future__ import annotations

from typing import Any

from tests.report.support import report

RULES = """
    name: sections
    timezone: Europe/Madrid
    scoring: {engagement: [{name: demo, activity: demo_request, points: 50}]}
    stages: {mql: {score_at_least: 50}}
    disqualify: [{reason: student, if: {field: title, matches: "(?i)student"}}]
    sla: {first_touch_within: 2h}
    reasons:
      no_budget: {label: "Sin presupuesto", aliases: ["presupuesto"]}
    commitments: {marketing_mqls_per_month: 3}
"""
NOW = "2026-12-09T10:00:00Z"


def c(id: str, **fields: Any) -> dict[str, Any]:
    return {"id": id, "created_at": "2026-01-01T09:00:00Z", **fields}


CONTACTS = [
    # handed off in December: mql (on time), sql (late), mql (open, handed off an hour ago)
    c("a", stage="mql", mql_at="2026-12-01T10:00:00Z", owner_id="u1", lead_source="organic"),
    c(
        "b",
        stage="sql",
        mql_at="2026-12-02T10:00:00Z",
        sql_at="2026-12-03T10:00:00Z",
        owner_id="u2",
        lead_source="",
    ),
    c("i", stage="mql", mql_at="2026-12-09T09:00:00Z", owner_id="u2", lead_source="organic"),
    # handed off in November: a customer without owner or source (never touched), an opportunity
    c("c", stage="customer", mql_at="2026-11-10T10:00:00Z", sql_at="2026-11-12T10:00:00Z"),
    c("d", stage="opportunity", mql_at="2026-11-11T10:00:00Z", owner_id="u1", lead_source="organic"),
    # handed off in October, disqualified in November with a reason's alias
    c(
        "e",
        stage="disqualified",
        mql_at="2026-10-05T10:00:00Z",
        stage_changed_at="2026-11-20T10:00:00Z",
        disqualification_reason="Presupuesto",
        lead_source="paid",
    ),
    # never handed off: reasons only
    c(
        "f",
        stage="nurture",
        stage_changed_at="2026-12-01T10:00:00Z",
        disqualification_reason="  Sin interés ",
    ),
    c(
        "f2",
        stage="nurture",
        stage_changed_at="2026-11-15T10:00:00Z",
        disqualification_reason="Sin interés  ",
    ),
    # disqualified by this decision: its stage changes now, in the window (the input's date is not)
    c("g", title="Student", stage_changed_at="2025-01-01T10:00:00Z", lead_source="paid"),
    # no stage_changed_at: created_at, before the window
    c("h", stage="nurture", disqualification_reason="no_budget"),
    c(
        "j",
        stage="disqualified",
        stage_changed_at="2026-09-01T10:00:00Z",
        disqualification_reason="Presupuesto",
    ),
    c("k", stage="nurture", stage_changed_at="2026-12-05T10:00:00Z", disqualification_reason="no_budget"),
]
TOUCHES = [
    {"id": "t-a", "contact_id": "a", "type": "call", "at": "2026-12-01T10:30:00Z"},
    {"id": "t-a-before", "contact_id": "a", "type": "call", "at": "2026-12-01T09:00:00Z"},  # before handoff
    {"id": "t-b", "contact_id": "b", "type": "email_sent", "at": "2026-12-02T13:00:00Z"},
    {"id": "t-d", "contact_id": "d", "type": "meeting", "at": "2026-11-11T11:00:00Z"},
    {"id": "t-i-later", "contact_id": "i", "type": "call", "at": "2026-12-09T10:30:00Z"},  # after now
    {"id": "o-c", "contact_id": "c", "type": "email_open", "at": "2026-11-10T10:05:00Z"},  # not a touch
]
OWNERS = [{"id": "u1", "name": "Ana"}]


def funnel(period_or_source: tuple[str, str], counts: list[int], rates: list[float | None]) -> dict[str, Any]:
    names = ["handoffs", "sql", "opportunity", "customer", "nurture", "disqualified", "open"]
    key, value = period_or_source
    return {
        key: value,
        **dict(zip(names, counts, strict=True)),
        "sql_rate": rates[0],
        "customer_rate": rates[1],
    }


def sla(
    key: tuple[str, str], counts: list[int], compliance: float | None, median: int | None, p90: int | None
):
    k, v = key
    on = dict(zip(["handoffs", "on_time", "late", "open"], counts, strict=True))
    return {k: v, **on, "compliance": compliance, "speed_to_lead_min": {"median": median, "p90": p90}}


EXPECTED: dict[str, Any] = {
    "commitment": [
        {"month": "2026-10", "handoffs": 1, "committed": 3, "projected": 1, "met": False},
        {"month": "2026-11", "handoffs": 2, "committed": 3, "projected": 2, "met": False},
        # 3 by the 9th of a 31-day month: 3 x 31 / 9 = 10.33 -> 10
        {"month": "2026-12", "handoffs": 3, "committed": 3, "projected": 10, "met": True},
    ],
    "funnel": {
        "periods": [
            funnel(("period", "2026-10"), [1, 0, 0, 0, 0, 1, 0], [0.0, 0.0]),
            funnel(("period", "2026-11"), [2, 1, 2, 1, 0, 0, 0], [0.5, 0.5]),
            funnel(("period", "2026-12"), [3, 1, 0, 0, 0, 0, 3], [0.333, 0.0]),
        ],
        "by_source": [
            funnel(("source", "organic"), [3, 0, 1, 0, 0, 0, 2], [0.0, 0.0]),
            funnel(("source", "(none)"), [2, 2, 1, 1, 0, 0, 1], [1.0, 0.5]),
            funnel(("source", "paid"), [1, 0, 0, 0, 0, 1, 0], [0.0, 0.0]),
        ],
    },
    "sla": {
        "periods": [
            sla(("period", "2026-10"), [1, 0, 1, 0], 0.0, None, None),
            sla(("period", "2026-11"), [2, 1, 1, 0], 0.5, 60, 60),
            sla(("period", "2026-12"), [3, 1, 1, 1], 0.5, 30, 180),
        ],
        "by_owner": [
            {**sla(("owner_id", "(none)"), [2, 0, 2, 0], 0.0, None, None), "name": None},
            {**sla(("owner_id", "u1"), [2, 2, 0, 0], 1.0, 30, 60), "name": "Ana"},
            {**sla(("owner_id", "u2"), [2, 0, 1, 1], 0.0, 180, 180), "name": None},
        ],
    },
    "reasons": {
        "total": 3,
        "rows": [
            {
                "reason": "no_budget",
                "label": "Sin presupuesto",
                "count": 2,
                "share": 0.667,
                "by_source": {"(none)": 1, "paid": 1},
            },
            {"reason": "student", "label": None, "count": 1, "share": 0.333, "by_source": {"paid": 1}},
        ],
        "unknown": [{"value": "Sin interés", "count": 2}],
    },
    "window": {
        "from": "2026-10-01",
        "to": "2026-12-09",
        "by": "month",
        "now": NOW,
        "rules": "sections",
        "contacts": 12,
    },
}


def test_every_section_as_computed_by_hand():
    got = report(RULES, CONTACTS, TOUCHES, OWNERS, now=NOW)
    assert got == EXPECTED
    assert list(got) == ["commitment", "funnel", "sla", "reasons", "window"]
    assert list(got["sla"]["by_owner"][1]) == [
        "owner_id",
        "name",
        "handoffs",
        "on_time",
        "late",
        "open",
        "compliance",
        "speed_to_lead_min",
    ]


def test_no_sla_section_without_first_touch_within():
    got = report(
        RULES.replace("sla: {first_touch_within: 2h}", "sla: {attempts: 3}"), CONTACTS, TOUCHES, now=NOW
    )
    assert "sla" not in got
    assert list(got) == ["commitment", "funnel", "reasons", "window"]


def test_without_a_commitment_committed_and_met_are_null():
    got = report(RULES.replace("commitments: {marketing_mqls_per_month: 3}", ""), CONTACTS, now=NOW)
    assert [(r["committed"], r["met"], r["projected"]) for r in got["commitment"]] == [
        (None, None, 1),
        (None, None, 2),
        (None, None, 10),
    ]


def test_the_month_in_progress_is_projected_only_when_it_is_in_the_window():
    got = report(RULES, CONTACTS, now=NOW, end="2026-11-30")
    assert [(r["month"], r["handoffs"], r["projected"]) for r in got["commitment"]] == [
        ("2026-09", 0, 0),
        ("2026-10", 1, 1),
        ("2026-11", 2, 2),
    ]


def test_an_empty_input_gives_zeros_and_nulls():
    got = report(RULES, [], now=NOW)
    assert [p["handoffs"] for p in got["funnel"]["periods"]] == [0, 0, 0]
    assert {p["sql_rate"] for p in got["funnel"]["periods"]} == {None}
    assert {p["compliance"] for p in got["sla"]["periods"]} == {None}
    assert got["funnel"]["by_source"] == [] and got["sla"]["by_owner"] == []
    assert got["reasons"] == {"total": 0, "rows": [], "unknown": []}
    assert got["window"]["contacts"] == 0
