"""The table of writable fields (``leadsync.writable``): what the sync engine writes, how it
compares a value with the CRM's, and how a value is kept as JSON."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leadsync import api
from leadsync.decision import Decision, SlaState
from leadsync.model import Contact
from leadsync.sync.changes import current_values, desired_values
from leadsync.writable import (
    FIELDS,
    OPTIONAL_FIELDS,
    OWN_FIELDS,
    PINNABLE_FIELDS,
    WRITABLE_FIELDS,
    diff,
    values_from_json,
    values_to_json,
)

T = datetime(2026, 11, 23, 10, 0, 0, 250000, tzinfo=UTC)
BY_NAME = {f.name: f for f in FIELDS}


class TestTheTable:
    """One table, which the adapters' seam exports by name and the plan's mappings follow."""

    def test_names_in_order(self) -> None:
        assert WRITABLE_FIELDS == (
            "stage",
            "disqualification_reason",
            "owner_id",
            "score",
            "score_breakdown",
            "sla_status",
            "sla_due_at",
            "mql_at",
            "sql_at",
            "assigned_at",
            "first_touch_at",
            "sla_met",
        )
        assert api.WRITABLE_FIELDS is WRITABLE_FIELDS

    def test_own_and_pinnable(self) -> None:
        assert OWN_FIELDS == ("score_breakdown", "sla_status", "sla_due_at", "first_touch_at", "sla_met")
        assert PINNABLE_FIELDS == ("stage", "disqualification_reason", "owner_id")

    def test_optional_fields_are_written_only_where_named(self) -> None:
        """The SLA report fields: written only where the mapping names them (desired has them)."""
        assert OPTIONAL_FIELDS == ("first_touch_at", "sla_met")
        assert api.OPTIONAL_FIELDS is OPTIONAL_FIELDS
        assert diff({"score": 10}, {"score": 9, "sla_met": True}) == {"score": 10}
        assert diff({"score": 10, "sla_met": False}, {"score": 10, "sla_met": "true"}) == {"sla_met": False}

    def test_desired_and_current_values_name_every_field(self) -> None:
        decision = Decision(
            "c1", 10, 10, 0, 0, [], "lead", "lead", None, None, None, None, "none", None, SlaState()
        )
        contact = Contact("c1", T)
        assert tuple(desired_values(decision)) == tuple(
            f for f in WRITABLE_FIELDS if f not in OPTIONAL_FIELDS
        )
        assert set(current_values(contact, {})) == set(WRITABLE_FIELDS)


class TestSame:
    """None and "" are both empty; times are equal to the second; scores to 6 places."""

    @pytest.mark.parametrize(
        ("name", "a", "b", "same"),
        [
            ("stage", None, "", True),
            ("stage", "mql", None, False),
            ("stage", "mql", "mql", True),
            ("stage", "mql", "sql", False),
            ("score", 0, None, False),
            ("score", 0.1 + 0.2, 0.3, True),
            ("score", 10, 10.000001, False),
            ("mql_at", T, T.replace(microsecond=0), True),
            ("mql_at", T, T + timedelta(seconds=1), False),
            ("sla_due_at", None, T, False),
            ("sla_met", True, "true", True),
            ("sla_met", False, "FALSE", True),
            ("sla_met", False, None, False),
            ("sla_met", True, False, False),
        ],
    )
    def test_same(self, name: str, a: object, b: object, same: bool) -> None:
        assert BY_NAME[name].same(a, b) is same

    def test_diff_keeps_what_differs_in_table_order(self) -> None:
        desired = dict.fromkeys(WRITABLE_FIELDS) | {"score": 5, "stage": "mql"}
        current = {"stage": "lead", "score": 5.0, "mql_at": None}
        assert list(diff(desired, current)) == ["stage"]


class TestJson:
    """Time fields travel as ISO 8601 text and come back as datetimes; the rest as they are."""

    def test_round_trip(self) -> None:
        values = {"stage": "mql", "score": 12.5, "sla_due_at": T, "assigned_at": None, "sla_status": ""}
        as_json = values_to_json(values)
        assert as_json == {
            "stage": "mql",
            "score": 12.5,
            "sla_due_at": "2026-11-23T10:00:00.250000+00:00",
            "assigned_at": None,
            "sla_status": "",
        }
        assert values_from_json(as_json) == values

    def test_empty_time_text_stays_empty(self) -> None:
        assert values_from_json({"mql_at": ""}) == {"mql_at": ""}
