"""The business-hours calendar (leadsync.rules.clock.Calendar) that the SLA clock runs on."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from leadsync.rules.clock import Calendar
from leadsync.timeutil import format_ts, parse_iso_ts

MADRID = ZoneInfo("Europe/Madrid")
WEEK = Calendar(MADRID, frozenset(range(5)), time(9), time(18), frozenset({date(2026, 12, 25)}))


def ts(text: str) -> datetime:
    return parse_iso_ts(text)


class TestCalendar:
    """Calendar.add counts open time in the rules' time zone, truly across daylight-saving
    changes (Madrid: 2026-03-29 02:00 CET -> 03:00 CEST; 2026-10-25 03:00 CEST -> 02:00 CET)."""

    @pytest.mark.parametrize(
        ("cal", "start", "amount", "unit", "due"),
        [
            # Friday 23 Oct 17:00 CEST (15:00Z): 1h Friday, then Monday 26 Oct 09:00 CET (08:00Z) + 1h
            pytest.param(
                WEEK, "2026-10-23T15:00:00Z", 2, "h", "2026-10-26T09:00:00Z", id="hours-over-autumn-change"
            ),
            # Friday 27 Mar 17:00 CET (16:00Z): 1h, Monday 30 Mar 09:00 CEST (07:00Z) + 1h
            pytest.param(
                WEEK, "2026-03-27T16:00:00Z", 2, "h", "2026-03-30T08:00:00Z", id="hours-over-spring-change"
            ),
            pytest.param(
                WEEK, "2026-03-27T08:00:00Z", 1, "d", "2026-03-30T07:00:00Z", id="1d-keeps-local-time-spring"
            ),
            pytest.param(
                WEEK, "2026-10-23T07:00:00Z", 1, "d", "2026-10-26T08:00:00Z", id="1d-keeps-local-time-autumn"
            ),
            # 24/7: Saturday 28 Mar 12:00 CET; 24 real hours later is Sunday 13:00 CEST
            pytest.param(
                Calendar(MADRID),
                "2026-03-28T11:00:00Z",
                24,
                "h",
                "2026-03-29T11:00:00Z",
                id="24h-is-24-real-hours-spring",
            ),
            pytest.param(
                Calendar(MADRID),
                "2026-03-28T11:00:00Z",
                1,
                "d",
                "2026-03-29T10:00:00Z",
                id="1d-same-local-time-spring",
            ),
            pytest.param(
                Calendar(MADRID),
                "2026-10-24T10:00:00Z",
                24,
                "h",
                "2026-10-25T10:00:00Z",
                id="24h-is-24-real-hours-autumn",
            ),
            pytest.param(
                Calendar(MADRID),
                "2026-10-24T10:00:00Z",
                1,
                "d",
                "2026-10-25T11:00:00Z",
                id="1d-same-local-time-autumn",
            ),
            # Sunday 29 Mar open 00:00-06:00 local is only 5 real hours (23:00Z to 04:00Z)
            pytest.param(
                Calendar(MADRID, frozenset({6}), time(0), time(6)),
                "2026-03-28T23:00:00Z",
                5,
                "h",
                "2026-03-29T04:00:00Z",
                id="short-window-spring",
            ),
            pytest.param(
                Calendar(MADRID, frozenset({6}), time(0), time(6)),
                "2026-03-28T23:00:00Z",
                6,
                "h",
                "2026-04-04T23:00:00Z",
                id="short-window-spills-to-next-sunday",
            ),
            # Sunday 25 Oct open 00:00-06:00 local is 7 real hours (22:00Z to 05:00Z)
            pytest.param(
                Calendar(MADRID, frozenset({6}), time(0), time(6)),
                "2026-10-24T22:00:00Z",
                7,
                "h",
                "2026-10-25T05:00:00Z",
                id="long-window-autumn",
            ),
            pytest.param(
                WEEK, "2026-12-24T16:00:00Z", 2, "h", "2026-12-28T09:00:00Z", id="christmas-holiday"
            ),
            pytest.param(
                WEEK, "2026-12-25T10:00:00Z", 30, "m", "2026-12-28T08:30:00Z", id="start-on-holiday"
            ),
        ],
    )
    def test_add(self, cal, start, amount, unit, due):
        assert format_ts(cal.add(ts(start), amount, unit)) == due

    @pytest.mark.parametrize(
        ("moment", "expected"),
        [
            pytest.param("2026-10-24T10:00:00Z", "2026-10-26T08:00:00Z", id="saturday-to-monday-cet"),
            pytest.param("2026-03-28T10:00:00Z", "2026-03-30T07:00:00Z", id="saturday-to-monday-cest"),
            pytest.param("2026-11-23T09:00:00Z", "2026-11-23T09:00:00Z", id="open-stays"),
            pytest.param("2026-11-23T17:00:00Z", "2026-11-24T08:00:00Z", id="closing-is-closed"),
        ],
    )
    def test_next_open(self, moment, expected):
        assert format_ts(WEEK.next_open(ts(moment))) == expected

    @pytest.mark.parametrize(
        ("day", "is_open"),
        [(date(2026, 12, 25), False), (date(2026, 12, 26), False), (date(2026, 12, 24), True)],
        ids=["holiday", "saturday", "thursday"],
    )
    def test_open_days(self, day, is_open):
        assert WEEK.is_open_day(day) is is_open
