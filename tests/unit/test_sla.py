"""Steps 9 and 10 of CONTRACT.md §4: the SLA clock, attempts, and the inactivity archive.
The business-hours calendar itself is tested in test_clock.py."""

from __future__ import annotations

import textwrap
from typing import ClassVar

import pytest

from tests.support import activity, contact, decide, rules

MADRID_HOURS = """
    timezone: Europe/Madrid
    sla:
      first_touch_within: {within}
      business_hours: {{days: [mon, tue, wed, thu, fri], from: "09:00", to: "18:00"}}
      holidays: ["2026-11-20"]
"""


def owned_mql(id: str = "c1", mql_at: str = "2026-11-23T07:00:00Z", **fields):
    """An MQL with an owner (no owners file: the owner is kept), so the SLA applies."""
    return contact(id, stage="mql", owner_id="u1", mql_at=mql_at, **fields)


def sla_of(text: str, c: dict, acts: list | None = None, now: str = "2026-11-23T10:00:00Z") -> dict:
    return decide(rules(text), [c], acts, now=now)[c["id"]]["sla"]


class TestDueWithBusinessHours:
    """The clock counts only business hours (Madrid, Mon-Fri 09:00-18:00, CET = UTC+1 in
    November; Friday 2026-11-20 a holiday); a start outside them waits for the next opening;
    `d` counts open days: the same local time that many open days later."""

    @pytest.mark.parametrize(
        ("within", "start", "due"),
        [
            # Friday 2026-11-13 17:30 local; 30 min on Friday, 90 on Monday 16th -> 10:30 local
            pytest.param("2h", "2026-11-13T16:30:00Z", "2026-11-16T09:30:00Z", id="friday-1730-over-weekend"),
            pytest.param("2h", "2026-11-16T09:00:00Z", "2026-11-16T11:00:00Z", id="inside-hours"),
            pytest.param("2h", "2026-11-16T15:00:00Z", "2026-11-16T17:00:00Z", id="ends-at-closing"),
            pytest.param("2h", "2026-11-17T06:00:00Z", "2026-11-17T10:00:00Z", id="before-opening-waits"),
            pytest.param("2h", "2026-11-17T18:00:00Z", "2026-11-18T10:00:00Z", id="after-closing-next-day"),
            pytest.param("2h", "2026-11-16T17:00:00Z", "2026-11-17T10:00:00Z", id="at-closing-next-day"),
            pytest.param("2h", "2026-11-14T11:00:00Z", "2026-11-16T10:00:00Z", id="saturday-waits-monday"),
            # Thursday 19th 17:00 local: 1h, Friday is a holiday, weekend, Monday 09:00 + 1h
            pytest.param("2h", "2026-11-19T16:00:00Z", "2026-11-23T09:00:00Z", id="over-holiday-and-weekend"),
            pytest.param("2h", "2026-11-20T09:00:00Z", "2026-11-23T10:00:00Z", id="start-on-holiday"),
            pytest.param("30m", "2026-11-16T16:45:00Z", "2026-11-17T08:15:00Z", id="minutes-over-night"),
            pytest.param("10h", "2026-11-16T08:00:00Z", "2026-11-17T09:00:00Z", id="more-than-a-day"),
            pytest.param(
                "1d", "2026-11-13T16:00:00Z", "2026-11-16T16:00:00Z", id="1d-friday-1700-monday-1700"
            ),
            pytest.param("2d", "2026-11-19T09:00:00Z", "2026-11-24T09:00:00Z", id="2d-skips-holiday"),
            pytest.param("1d", "2026-11-14T11:00:00Z", "2026-11-17T08:00:00Z", id="1d-from-saturday"),
        ],
    )
    def test_due_at(self, within, start, due):
        sla = sla_of(MADRID_HOURS.format(within=within), owned_mql(mql_at=start), now=start)
        assert sla["due_at"] == due


class TestDueAroundTheClock:
    """Without business hours the clock runs 24/7; holidays are closed days even then."""

    @pytest.mark.parametrize(
        ("extra", "within", "start", "due"),
        [
            pytest.param("", "2h", "2026-11-21T23:00:00Z", "2026-11-22T01:00:00Z", id="saturday-night"),
            pytest.param("", "3d", "2026-11-20T17:30:00Z", "2026-11-23T17:30:00Z", id="3d-over-weekend"),
            pytest.param("", "90m", "2026-11-22T12:00:00Z", "2026-11-22T13:30:00Z", id="sunday"),
            pytest.param(
                '  holidays: ["2026-11-22"]\n',
                "2h",
                "2026-11-21T23:00:00Z",
                "2026-11-23T01:00:00Z",
                id="holiday-closed-without-hours",
            ),
        ],
    )
    def test_due_at(self, extra, within, start, due):
        text = f"sla:\n  first_touch_within: {within}\n{extra}"
        assert sla_of(text, owned_mql(mql_at=start), now=start)["due_at"] == due


UTC_SLA = """
    sla:
      first_touch_within: 2h
      attempts: 3
    activity_types:
      linkedin_message: sales
"""


def call(id: str, at: str, outcome: str = "no_answer") -> dict:
    return activity(id, "call", at, owner_id="u1", outcome=outcome)


class TestStatus:
    """`met` if the first touch is at or before `due_at`; `breached` if later, or none and
    `now > due_at`; else `pending`. Touches are sales activities at or after the clock start,
    and only activities at or before `now` count. (mql_at 07:00Z, due 09:00Z, now 10:00Z.)"""

    @pytest.mark.parametrize(
        ("mql_at", "acts", "status", "first", "attempts"),
        [
            pytest.param(
                "2026-11-23T07:00:00Z",
                [call("t1", "2026-11-23T08:30:00Z")],
                "met",
                "2026-11-23T08:30:00Z",
                1,
                id="met",
            ),
            pytest.param(
                "2026-11-23T07:00:00Z",
                [call("t1", "2026-11-23T09:00:00Z")],
                "met",
                "2026-11-23T09:00:00Z",
                1,
                id="met-exactly-at-due",
            ),
            pytest.param(
                "2026-11-23T07:00:00Z",
                [call("t1", "2026-11-23T07:00:00Z")],
                "met",
                "2026-11-23T07:00:00Z",
                1,
                id="touch-at-start-counts",
            ),
            pytest.param(
                "2026-11-23T07:00:00Z",
                [call("t1", "2026-11-23T09:00:01Z")],
                "breached",
                "2026-11-23T09:00:01Z",
                1,
                id="late-touch",
            ),
            pytest.param("2026-11-23T07:00:00Z", [], "breached", None, 0, id="no-touch-past-due"),
            pytest.param("2026-11-23T08:00:00Z", [], "pending", None, 0, id="due-exactly-now-pending"),
            pytest.param("2026-11-23T08:30:00Z", [], "pending", None, 0, id="not-yet-due"),
            pytest.param(
                "2026-11-23T07:00:00Z",
                [call("t1", "2026-11-23T06:59:59Z")],
                "breached",
                None,
                0,
                id="touch-before-start-ignored",
            ),
            pytest.param(
                "2026-11-23T08:30:00Z",
                [call("t1", "2026-11-23T10:00:01Z")],
                "pending",
                None,
                0,
                id="future-touch-ignored",
            ),
            pytest.param(
                "2026-11-23T07:00:00Z",
                [activity("e1", "email_reply", "2026-11-23T08:00:00Z")],
                "breached",
                None,
                0,
                id="contact-activity-is-no-touch",
            ),
            pytest.param(
                "2026-11-23T07:00:00Z",
                [activity("e1", "email_sent", "2026-11-23T08:00:00Z"), call("t2", "2026-11-23T09:30:00Z")],
                "met",
                "2026-11-23T08:00:00Z",
                2,
                id="email-sent-first",
            ),
            pytest.param(
                "2026-11-23T07:00:00Z",
                [activity("m1", "meeting", "2026-11-23T08:00:00Z")],
                "met",
                "2026-11-23T08:00:00Z",
                1,
                id="meeting-is-a-touch",
            ),
            pytest.param(
                "2026-11-23T07:00:00Z",
                [activity("l1", "linkedin_message", "2026-11-23T08:00:00Z")],
                "met",
                "2026-11-23T08:00:00Z",
                1,
                id="custom-sales-type",
            ),
        ],
    )
    def test_status(self, mql_at, acts, status, first, attempts):
        sla = sla_of(UTC_SLA, owned_mql(mql_at=mql_at), acts)
        assert (sla["status"], sla["first_touch_at"], sla["attempts"]) == (status, first, attempts)


class TestExhausted:
    """When `attempts` touches came and none is a `connected` call or a `meeting`: status
    `exhausted`, and the `on_exhausted` stage and reason (default nurture / no_response)."""

    THREE: ClassVar[list] = [
        call("t1", "2026-11-23T07:30:00Z"),
        activity("t2", "email_sent", "2026-11-23T08:00:00Z"),
        call("t3", "2026-11-23T09:30:00Z", "voicemail"),
    ]

    @pytest.mark.parametrize(
        ("on_exhausted", "acts", "status", "stage", "reason"),
        [
            pytest.param("", THREE, "exhausted", "nurture", "no_response", id="default"),
            pytest.param(
                "  on_exhausted: {stage: disqualified, reason: bad_timing}\n",
                THREE,
                "exhausted",
                "disqualified",
                "bad_timing",
                id="custom-on-exhausted",
            ),
            pytest.param(
                "",
                [*THREE, call("t4", "2026-11-23T09:45:00Z")],
                "exhausted",
                "nurture",
                "no_response",
                id="more-than-attempts",
            ),
            pytest.param("", THREE[:2], "met", "mql", None, id="too-few"),
            pytest.param(
                "",
                [*THREE[:2], call("t3", "2026-11-23T09:30:00Z", "connected")],
                "met",
                "mql",
                None,
                id="connected-call-prevents",
            ),
            pytest.param(
                "",
                [*THREE[:2], activity("m", "meeting", "2026-11-23T09:30:00Z")],
                "met",
                "mql",
                None,
                id="meeting-prevents",
            ),
            pytest.param(
                "",
                [call("t0", "2026-11-23T06:00:00Z"), call("t00", "2026-11-23T06:30:00Z"), *THREE[1:]],
                "met",
                "mql",
                None,
                id="touches-before-start-not-counted",
            ),
            pytest.param(
                "",
                [*THREE[:2], call("t3", "2026-11-23T10:30:00Z")],
                "met",
                "mql",
                None,
                id="future-touch-not-counted",
            ),
        ],
    )
    def test_exhausted(self, on_exhausted, acts, status, stage, reason):
        text = f"sla:\n  first_touch_within: 2h\n  attempts: 3\n{on_exhausted}"
        out = decide(rules(text), [owned_mql()], acts)["c1"]
        assert (out["sla"]["status"], out["stage"], out["disqualification_reason"]) == (status, stage, reason)
        if status == "exhausted":
            assert {"stage", "disqualification_reason"} <= set(out["changed"])

    def test_sql_exhausts_too(self):
        c = contact("c1", stage="sql", owner_id="u1", sql_at="2026-11-23T07:00:00Z")
        out = decide(rules(UTC_SLA), [c], self.THREE)["c1"]
        assert (out["sla"]["status"], out["stage"], out["disqualification_reason"]) == (
            "exhausted",
            "nurture",
            "no_response",
        )


class TestWhoHasAnSla:
    """SLA only for `mql` and `sql` contacts with an owner; the clock starts at `mql_at`, else
    `sql_at`, else `stage_changed_at`; with none of them there is no clock (status none)."""

    @pytest.mark.parametrize(
        ("fields", "status", "due"),
        [
            pytest.param({"stage": "lead", "owner_id": "u1"}, "none", None, id="lead-with-owner"),
            pytest.param(
                {"stage": "nurture", "owner_id": "u1", "mql_at": "2026-11-23T08:30:00Z"},
                "none",
                None,
                id="nurture",
            ),
            pytest.param(
                {"stage": "customer", "owner_id": "u1", "mql_at": "2026-11-23T08:30:00Z"},
                "none",
                None,
                id="customer",
            ),
            pytest.param(
                {"stage": "mql", "mql_at": "2026-11-23T08:30:00Z"}, "none", None, id="mql-without-owner"
            ),
            pytest.param(
                {
                    "stage": "mql",
                    "owner_id": "u1",
                    "mql_at": "2026-11-23T08:30:00Z",
                    "sql_at": "2026-11-23T09:00:00Z",
                    "stage_changed_at": "2026-11-23T09:30:00Z",
                },
                "pending",
                "2026-11-23T10:30:00Z",
                id="mql-at-first",
            ),
            pytest.param(
                {
                    "stage": "sql",
                    "owner_id": "u1",
                    "sql_at": "2026-11-23T09:00:00Z",
                    "stage_changed_at": "2026-11-23T09:30:00Z",
                },
                "pending",
                "2026-11-23T11:00:00Z",
                id="sql-at-second",
            ),
            pytest.param(
                {"stage": "sql", "owner_id": "u1", "stage_changed_at": "2026-11-23T09:30:00Z"},
                "pending",
                "2026-11-23T11:30:00Z",
                id="stage-changed-at-last",
            ),
            pytest.param({"stage": "mql", "owner_id": "u1"}, "none", None, id="no-clock"),
        ],
    )
    def test_clock(self, fields, status, due):
        sla = decide(rules(UTC_SLA), [contact("c1", **fields)])["c1"]["sla"]
        assert (sla["status"], sla["due_at"]) == (status, due)

    def test_new_mql_clock_starts_now(self):
        r = rules(
            textwrap.dedent(UTC_SLA) + "\nscoring:\n  fit:\n"
            "    - {name: all, if: {field: id, present: true}, points: 1}\n"
            "stages:\n  mql: {score_at_least: 1}\n"
        )
        out = decide(r, [contact("c1", owner_id="u1")])["c1"]
        assert out["stage"] == "mql"
        assert out["sla"] == {
            "status": "pending",
            "due_at": "2026-11-23T12:00:00Z",
            "first_touch_at": None,
            "attempts": 0,
        }


ARCHIVE = "sla:\n  archive_after_inactive_days: 90\n"


class TestInactivityArchive:
    """Step 10: an `mql` or `nurture` contact whose `idle` (whole days since the last
    contact-done activity, or `created_at`) is >= `archive_after_inactive_days`: `nurture`,
    reason `inactive`. 90 days before now is 2026-08-25T10:00Z. Sales touches never reset it."""

    @pytest.mark.parametrize(
        ("fields", "acts", "stage", "reason"),
        [
            pytest.param(
                {"stage": "mql", "created_at": "2026-08-25T10:00:00Z"},
                [],
                "nurture",
                "inactive",
                id="mql-exactly-90-days-from-created",
            ),
            pytest.param(
                {"stage": "mql", "created_at": "2026-08-25T10:00:01Z"}, [], "mql", None, id="mql-89-days"
            ),
            pytest.param(
                {"stage": "mql", "created_at": "2026-01-01T00:00:00Z"},
                [activity("a1", "page_view", "2026-08-25T10:00:00Z")],
                "nurture",
                "inactive",
                id="mql-90-days-since-activity",
            ),
            pytest.param(
                {"stage": "mql", "created_at": "2026-01-01T00:00:00Z"},
                [activity("a1", "page_view", "2026-09-01T00:00:00Z")],
                "mql",
                None,
                id="mql-recent-activity",
            ),
            pytest.param(
                {"stage": "mql", "created_at": "2026-01-01T00:00:00Z"},
                [
                    activity("a1", "page_view", "2026-06-01T00:00:00Z"),
                    activity("t1", "call", "2026-11-22T00:00:00Z", owner_id="u1"),
                ],
                "nurture",
                "inactive",
                id="sales-touch-does-not-reset",
            ),
            pytest.param(
                {
                    "stage": "nurture",
                    "created_at": "2026-01-01T00:00:00Z",
                    "disqualification_reason": "no_response",
                },
                [],
                "nurture",
                "inactive",
                id="nurture-reason-becomes-inactive",
            ),
            pytest.param(
                {"stage": "lead", "created_at": "2026-01-01T00:00:00Z"}, [], "lead", None, id="lead-untouched"
            ),
            pytest.param(
                {"stage": "sql", "created_at": "2026-01-01T00:00:00Z"}, [], "sql", None, id="sql-untouched"
            ),
        ],
    )
    def test_archive(self, fields, acts, stage, reason):
        out = decide(rules(ARCHIVE), [contact("c1", **fields)], acts)["c1"]
        assert (out["stage"], out["disqualification_reason"]) == (stage, reason)
        if stage == "nurture" and fields["stage"] == "mql":
            assert {"stage", "disqualification_reason"} <= set(out["changed"])
