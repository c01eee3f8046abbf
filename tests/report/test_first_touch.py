"""CONTRACT §6, section sla: due time in business hours skipping holidays, the first touch
between the handoff and now, on_time/late/open, speed to lead in business minutes."""

from __future__ import annotations

import pytest

from leadsync.model import Activity
from leadsync.report.firsttouch import first_touch, speed_minutes
from leadsync.rules.history import History
from leadsync.timeutil import parse_iso_ts
from tests.support import rules, table

# Madrid office hours, Mon-Fri 09:00-18:00; CET (UTC+1) in November and December: 08:00-17:00Z.
# Tuesday 2026-12-08 is a holiday.
HOURS = """
    timezone: Europe/Madrid
    sla:
      first_touch_within: 2h
      business_hours: {days: [mon, tue, wed, thu, fri], from: "09:00", to: "18:00"}
      holidays: ["2026-12-08"]
"""
ROUND_THE_CLOCK = """
    timezone: Europe/Madrid
    sla: {first_touch_within: 2h, holidays: ["2026-12-08"]}
"""


def sla(text: str = HOURS):
    r = rules(text)
    assert r.sla is not None
    return r


@pytest.mark.parametrize(
    ("start", "touch", "minutes"),
    table(
        [
            ("inside one day", "2026-12-02T08:00:00Z", "2026-12-02T09:30:00Z", 90),
            ("seconds are rounded down", "2026-12-02T08:00:00Z", "2026-12-02T08:01:59Z", 1),
            # Fri 17:00 local to Mon 10:00 local: 60 + 60 minutes
            ("over a weekend", "2026-12-04T16:00:00Z", "2026-12-07T09:00:00Z", 120),
            # Mon 17:30 local, Tue 8 is a holiday, Wed 09:45 local: 30 + 45
            ("over a holiday", "2026-12-07T16:30:00Z", "2026-12-09T08:45:00Z", 75),
            # Saturday: the clock starts Monday 09:00 local
            ("start on a saturday", "2026-12-05T10:00:00Z", "2026-12-07T08:20:00Z", 20),
            ("start before opening", "2026-12-02T05:00:00Z", "2026-12-02T08:10:00Z", 10),
            # touched Wed 20:00 local: counts up to 18:00 local
            ("touch after closing", "2026-12-02T15:00:00Z", "2026-12-02T19:00:00Z", 120),
            ("touch on a sunday", "2026-12-04T15:00:00Z", "2026-12-06T12:00:00Z", 120),
            ("both outside, same night", "2026-12-02T18:00:00Z", "2026-12-02T22:00:00Z", 0),
            ("touch at the handoff", "2026-12-02T10:00:00Z", "2026-12-02T10:00:00Z", 0),
            # summer time ends Sun 2026-10-25; Fri 23rd 17:00 CEST (15:00Z) to Mon 26th 10:00 CET (09:00Z)
            ("over the autumn change", "2026-10-23T15:00:00Z", "2026-10-26T09:00:00Z", 120),
        ]
    ),
)
def test_speed_in_business_minutes(start, touch, minutes):
    r = sla()
    assert r.sla is not None
    assert speed_minutes(r.sla, parse_iso_ts(start), parse_iso_ts(touch)) == minutes


def test_speed_without_business_hours_is_plain_minutes_holidays_too():
    r = sla(ROUND_THE_CLOCK)
    assert r.sla is not None
    start, touch = parse_iso_ts("2026-12-07T16:30:00Z"), parse_iso_ts("2026-12-09T08:45:00Z")
    assert speed_minutes(r.sla, start, touch) == 2 * 24 * 60 - 7 * 60 - 45


def history(r, touches: list[str], now: str, others: tuple[str, ...] = ()) -> History:
    acts = [Activity(f"t{i}", "c1", "call", parse_iso_ts(at)) for i, at in enumerate(touches)]
    acts += [Activity(f"o{i}", "c1", "email_open", parse_iso_ts(at)) for i, at in enumerate(others)]
    return History(acts, parse_iso_ts(now), r.contact_types, r.sales_types)


@pytest.mark.parametrize(
    ("handoff", "touches", "now", "status", "due", "minutes"),
    table(
        [
            # Wed 12-02 10:00 local + 2h -> 12:00 local = 11:00Z
            (
                "on time",
                "2026-12-02T09:00:00Z",
                ["2026-12-02T10:00:00Z"],
                "2026-12-03T10:00:00Z",
                "on_time",
                "2026-12-02T11:00:00Z",
                60,
            ),
            (
                "at the due time is on time",
                "2026-12-02T09:00:00Z",
                ["2026-12-02T11:00:00Z"],
                "2026-12-03T10:00:00Z",
                "on_time",
                "2026-12-02T11:00:00Z",
                120,
            ),
            (
                "a minute late",
                "2026-12-02T09:00:00Z",
                ["2026-12-02T11:01:00Z"],
                "2026-12-03T10:00:00Z",
                "late",
                "2026-12-02T11:00:00Z",
                121,
            ),
            (
                "no touch, past due",
                "2026-12-02T09:00:00Z",
                [],
                "2026-12-02T11:00:01Z",
                "late",
                "2026-12-02T11:00:00Z",
                None,
            ),
            (
                "no touch, at the due time: open",
                "2026-12-02T09:00:00Z",
                [],
                "2026-12-02T11:00:00Z",
                "open",
                "2026-12-02T11:00:00Z",
                None,
            ),
            # a touch before the handoff does not count; the next one does
            (
                "touch before the handoff ignored",
                "2026-12-02T09:00:00Z",
                ["2026-12-02T08:59:00Z", "2026-12-02T12:00:00Z"],
                "2026-12-03T10:00:00Z",
                "late",
                "2026-12-02T11:00:00Z",
                180,
            ),
            # a touch after now is not there yet
            (
                "touch after now ignored",
                "2026-12-02T09:00:00Z",
                ["2026-12-02T10:30:00Z"],
                "2026-12-02T10:00:00Z",
                "open",
                "2026-12-02T11:00:00Z",
                None,
            ),
            # Mon 12-07 17:30 local: 30 min, Tue holiday, Wed 09:00 + 90 -> 10:30 local = 09:30Z
            (
                "due skips the holiday",
                "2026-12-07T16:30:00Z",
                ["2026-12-09T09:20:00Z"],
                "2026-12-10T10:00:00Z",
                "on_time",
                "2026-12-09T09:30:00Z",
                110,
            ),
        ]
    ),
)
def test_first_touch(handoff, touches, now, status, due, minutes):
    r = sla()
    assert r.sla is not None
    h = history(r, touches, now, others=("2026-12-02T09:30:00Z",))  # contact-done: not a touch
    got = first_touch(r.sla, h, parse_iso_ts(handoff), parse_iso_ts(now))
    assert (got.status, got.due_at, got.minutes) == (status, parse_iso_ts(due), minutes)
