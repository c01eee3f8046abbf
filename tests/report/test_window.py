"""CONTRACT §6, windows and periods: dates, months and ISO weeks in the rules' time zone,
--from/--to inclusive, the default window, periods with no contacts listed with zeros."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest

from leadsync.report.window import make_window, week_key
from leadsync.timeutil import parse_iso_ts
from tests.report.support import report
from tests.support import table

MADRID = ZoneInfo("Europe/Madrid")


@pytest.mark.parametrize(
    ("now", "start", "end", "window"),
    table(
        [
            (
                "default: 2 months back to today",
                "2026-12-09T16:30:00Z",
                None,
                None,
                ("2026-10-01", "2026-12-09"),
            ),
            ("default over new year", "2027-01-15T10:00:00Z", None, None, ("2026-11-01", "2027-01-15")),
            # 23:30 UTC on Nov 30 is already Dec 1 in Madrid: today is Dec 1
            ("today is local", "2026-11-30T23:30:00Z", None, None, ("2026-10-01", "2026-12-01")),
            ("only --from", "2026-12-09T16:30:00Z", "2026-12-01", None, ("2026-12-01", "2026-12-09")),
            (
                "only --to: 2 months before it",
                "2026-12-09T16:30:00Z",
                None,
                "2026-08-20",
                ("2026-06-01", "2026-08-20"),
            ),
            ("both", "2026-12-09T16:30:00Z", "2026-11-02", "2026-11-08", ("2026-11-02", "2026-11-08")),
            ("one day", "2026-12-09T16:30:00Z", "2026-11-02", "2026-11-02", ("2026-11-02", "2026-11-02")),
        ]
    ),
)
def test_window(now, start, end, window):
    w = make_window(
        parse_iso_ts(now),
        MADRID,
        None if start is None else date.fromisoformat(start),
        None if end is None else date.fromisoformat(end),
        "month",
    )
    assert (w.start.isoformat(), w.end.isoformat()) == window


def test_an_empty_window_is_refused():
    with pytest.raises(ValueError, match="--from must be on or before --to"):
        make_window(parse_iso_ts("2026-12-09T16:30:00Z"), MADRID, date(2026, 12, 10), None, "month")


@pytest.mark.parametrize(
    ("day", "week"),
    table(
        [
            ("monday starts a week", "2026-11-16", "2026-W47"),
            ("sunday ends it", "2026-11-22", "2026-W47"),
            ("december 28 is in week 53", "2026-12-28", "2026-W53"),
            ("new year's day belongs to the last ISO year", "2027-01-01", "2026-W53"),
            ("the first monday of 2027", "2027-01-04", "2027-W01"),
            ("2025-12-29 is already 2026-W01", "2025-12-29", "2026-W01"),
        ]
    ),
)
def test_iso_weeks(day, week):
    assert week_key(date.fromisoformat(day)) == week


def test_periods_listed_oldest_first_with_the_weeks_the_window_touches():
    w = make_window(parse_iso_ts("2027-01-06T10:00:00Z"), MADRID, date(2026, 12, 24), None, "week")
    assert w.periods() == ["2026-W52", "2026-W53", "2027-W01"]
    assert w.months() == ["2026-12", "2027-01"]


RULES = """
    name: windows
    timezone: Europe/Madrid
    stages: {mql: {score_at_least: 0}}
"""


def mql(id: str, at: str) -> dict:
    return {
        "id": id,
        "created_at": "2026-01-01T09:00:00Z",
        "stage": "mql",
        "mql_at": at,
        "stage_changed_at": at,
    }


class TestHandoffDates:
    """A handoff counts on its date in the rules' time zone, in the window or not at all."""

    def test_2330_utc_is_the_next_local_day_and_month(self):
        got = report(RULES, [mql("c1", "2026-11-30T23:30:00Z")], now="2026-12-09T10:00:00Z")
        months = {r["month"]: r["handoffs"] for r in got["commitment"]}
        assert months == {"2026-10": 0, "2026-11": 0, "2026-12": 1}

    def test_2330_utc_outside_a_window_that_ends_the_day_before(self):
        got = report(RULES, [mql("c1", "2026-11-30T23:30:00Z")], now="2026-12-09T10:00:00Z", end="2026-11-30")
        assert [r["handoffs"] for r in got["funnel"]["periods"]] == [0, 0, 0]
        assert got["window"]["to"] == "2026-11-30"

    @pytest.mark.parametrize(
        ("at", "week"),
        table(
            [
                # summer time starts Sunday 2026-03-29 at 01:00Z (02:00 CET -> 03:00 CEST)
                ("after the spring change: +2", "2026-03-29T22:59:00Z", "2026-W14"),  # Mon 30th 00:59 CEST
                ("sunday night before the change", "2026-03-28T23:30:00Z", "2026-W13"),  # Sun 29th 00:30
                # summer time ends Sunday 2026-10-25 at 01:00Z (03:00 CEST -> 02:00 CET)
                ("sunday 22:30Z in winter is 23:30, still sunday", "2026-10-25T22:30:00Z", "2026-W43"),
                ("sunday 22:30Z in summer would be monday", "2026-10-18T22:30:00Z", "2026-W43"),
            ]
        ),
    )
    def test_daylight_saving_changes(self, at, week):
        got = report(RULES, [mql("c1", at)], now="2026-11-30T10:00:00Z", start="2026-03-01", by="week")
        counted = [r["period"] for r in got["funnel"]["periods"] if r["handoffs"]]
        assert counted == [week]

    def test_from_and_to_are_inclusive(self):
        contacts = [
            mql("before", "2026-11-01T22:59:00Z"),  # Nov 1, 23:59 local
            mql("first", "2026-11-01T23:00:00Z"),  # Nov 2, 00:00 local
            mql("last", "2026-11-08T22:59:00Z"),  # Nov 8, 23:59 local
            mql("after", "2026-11-08T23:00:00Z"),  # Nov 9, 00:00 local
        ]
        got = report(
            RULES, contacts, now="2026-12-09T10:00:00Z", start="2026-11-02", end="2026-11-08", by="week"
        )
        assert [(r["period"], r["handoffs"]) for r in got["funnel"]["periods"]] == [("2026-W45", 2)]

    def test_periods_with_no_contacts_are_listed_with_zeros_oldest_first(self):
        got = report(
            RULES, [mql("c1", "2026-11-10T10:00:00Z")], now="2026-12-09T10:00:00Z", start="2026-09-15"
        )
        assert [(r["period"], r["handoffs"], r["sql_rate"]) for r in got["funnel"]["periods"]] == [
            ("2026-09", 0, None),
            ("2026-10", 0, None),
            ("2026-11", 1, 0.0),
            ("2026-12", 0, None),
        ]
        assert [r["month"] for r in got["commitment"]] == ["2026-09", "2026-10", "2026-11", "2026-12"]
