"""CONTRACT §6 arithmetic: rates with 3 decimals half up (null on 0), the month in progress
projected half up, nearest-rank percentiles."""

from __future__ import annotations

import pytest

from leadsync.report.arith import percentile, projected, rate
from tests.support import table


@pytest.mark.parametrize(
    ("num", "den", "expected"),
    table(
        [
            ("nothing to divide by", 0, 0, None),
            ("none of some", 0, 5, 0.0),
            ("all", 5, 5, 1.0),
            ("two thirds rounds up", 2, 3, 0.667),
            ("one third rounds down", 1, 3, 0.333),
            ("exact", 1, 8, 0.125),
            ("half a thousandth rounds up", 1, 2000, 0.001),  # 0.0005
            ("an exact half of 0.5: 2 in 4,000", 2, 4000, 0.001),
            ("just under half", 4, 9000, 0.0),  # 0.000444
            ("0.0625 -> 0.063 (round() on floats gives 0.062)", 1, 16, 0.063),
            ("0.9995 -> 1.0", 1999, 2000, 1.0),
        ]
    ),
)
def test_rate(num, den, expected):
    assert rate(num, den) == expected


@pytest.mark.parametrize(
    ("handoffs", "days", "day", "expected"),
    table(
        [
            ("7 by the 9th of 31 days", 7, 31, 9, 24),  # 24.11
            ("half rounds up", 5, 30, 4, 38),  # 37.5
            ("just below half", 1, 31, 2, 16),  # 15.5 -> 16
            ("1 on day 3 of 28", 1, 28, 3, 9),  # 9.33
            ("on the last day: as is", 42, 30, 30, 42),
            ("none", 0, 31, 9, 0),
        ]
    ),
)
def test_projected(handoffs, days, day, expected):
    assert projected(handoffs, days, day) == expected


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    table(
        [
            ("no values", [], 50, None),
            ("one value", [7], 50, 7),
            ("one value p90", [7], 90, 7),
            ("median of 4 is the 2nd", [1, 2, 3, 4], 50, 2),
            ("median of 5 is the 3rd", [1, 2, 3, 4, 5], 50, 3),
            ("p90 of 10 is the 9th", list(range(1, 11)), 90, 9),
            ("p90 of 11 is the 10th", list(range(1, 12)), 90, 10),  # ceil(9.9)
            ("p90 of 20 is the 18th", list(range(1, 21)), 90, 18),
            ("p90 of 2 is the 2nd", [5, 100], 90, 100),
        ]
    ),
)
def test_nearest_rank(values, p, expected):
    assert percentile(values, p) == expected
