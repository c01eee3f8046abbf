"""The first touch and whether it met the SLA, as written to the CRM (`first_touch_at`, `sla_met`):
the report's definition (CONTRACT §6, section sla) for each contact with a handoff, whatever its
stage now; None while the SLA is open, without a handoff, or (sla_met) without an SLA."""

from __future__ import annotations

from dataclasses import replace

import pytest

from leadsync.model import Activity
from leadsync.rules.history import History
from leadsync.sync.touchfields import touch_values
from leadsync.timeutil import parse_iso_ts
from tests.support import contact, decide_objects, rules, table

# Madrid office hours, Mon-Fri 09:00-18:00 (08:00-17:00Z in December); Tue 2026-12-08 a holiday.
HOURS = """
    timezone: Europe/Madrid
    sla:
      first_touch_within: 2h
      business_hours: {days: [mon, tue, wed, thu, fri], from: "09:00", to: "18:00"}
      holidays: ["2026-12-08"]
"""
BOTH = ("first_touch_at", "sla_met")
NOW = "2026-12-10T12:00:00Z"


def _values(text: str, mql_at: str | None, sql_at: str | None, touches: list[str], stage: str = "mql"):
    r = rules(text)
    [decision] = decide_objects(r, [contact(stage="opportunity")], now=NOW)
    decision = replace(
        decision,
        stage=stage,
        mql_at=parse_iso_ts(mql_at) if mql_at else None,
        sql_at=parse_iso_ts(sql_at) if sql_at else None,
    )
    acts = [Activity(f"t{i}", "c1", "call", parse_iso_ts(at)) for i, at in enumerate(touches)]
    history = History(acts, parse_iso_ts(NOW), r.contact_types, r.sales_types)
    return touch_values(r, decision, history, parse_iso_ts(NOW), BOTH)


@pytest.mark.parametrize(
    ("mql_at", "sql_at", "touches", "first", "met"),
    table(
        [
            # Wed 12-02 10:00 local + 2 office hours: due 11:00Z
            ("on time", "2026-12-02T09:00:00Z", None, ["2026-12-02T10:59:00Z"], "2026-12-02T10:59:00Z", True),
            ("at the due time", "2026-12-02T09:00:00Z", None, ["2026-12-02T11:00:00Z"],
             "2026-12-02T11:00:00Z", True),
            ("late", "2026-12-02T09:00:00Z", None, ["2026-12-02T11:01:00Z"], "2026-12-02T11:01:00Z", False),
            ("no touch, past due", "2026-12-02T09:00:00Z", None, [], None, False),
            # Thu 12-10 12:00 local: due 14:00 local (13:00Z), after now
            ("no touch, not yet due: open", "2026-12-10T11:00:00Z", None, [], None, None),
            # Mon 12-07 17:30 local; Tue a holiday: due Wed 10:30 local (09:30Z)
            ("over a holiday, on time", "2026-12-07T16:30:00Z", None, ["2026-12-09T09:00:00Z"],
             "2026-12-09T09:00:00Z", True),
            ("a touch before the handoff is not the first", "2026-12-02T09:00:00Z", None,
             ["2026-12-01T09:00:00Z", "2026-12-02T12:00:00Z"], "2026-12-02T12:00:00Z", False),
            ("a touch after now is not counted", "2026-12-02T09:00:00Z", None, ["2026-12-11T09:00:00Z"],
             None, False),
            ("handoff at sql_at without mql_at", None, "2026-12-02T09:00:00Z", ["2026-12-02T10:00:00Z"],
             "2026-12-02T10:00:00Z", True),
            ("never handed off", None, None, ["2026-12-02T10:00:00Z"], None, None),
        ]
    ),
)  # fmt: skip
def test_first_touch_and_sla_met(mql_at, sql_at, touches, first, met) -> None:
    expected = {"first_touch_at": parse_iso_ts(first) if first else None, "sla_met": met}
    assert _values(HOURS, mql_at, sql_at, touches) == expected


def test_kept_once_the_contact_moved_on() -> None:
    """Unlike sla_status (the live state of an open handoff), these stay for the CRM's reports."""
    values = _values(HOURS, "2026-12-02T09:00:00Z", None, ["2026-12-02T10:00:00Z"], stage="opportunity")
    assert values == {"first_touch_at": parse_iso_ts("2026-12-02T10:00:00Z"), "sla_met": True}


def test_without_an_sla_rule_the_first_touch_only() -> None:
    values = _values("timezone: Europe/Madrid\n", "2026-12-02T09:00:00Z", None, ["2026-12-02T10:00:00Z"])
    assert values == {"first_touch_at": parse_iso_ts("2026-12-02T10:00:00Z"), "sla_met": None}


def test_only_the_fields_asked_for() -> None:
    r = rules(HOURS)
    [decision] = decide_objects(r, [contact()], now=NOW)
    history = History([], parse_iso_ts(NOW), r.contact_types, r.sales_types)
    assert touch_values(r, decision, history, parse_iso_ts(NOW), ()) == {}
    assert touch_values(r, decision, history, parse_iso_ts(NOW), ("sla_met",)) == {"sla_met": None}
