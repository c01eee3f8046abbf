"""``ApiBudget``: whichever figures a CRM reports, the third worked out from two."""

from __future__ import annotations

import pytest

from leadsync.api import ApiBudget
from tests.support import table


@pytest.mark.parametrize(
    ("given", "used", "limit", "remaining"),
    table(
        [
            ("hubspot: limit and remaining", {"limit": 500, "remaining": 498}, 2, 500, 498),
            ("salesforce: used and limit", {"used": 41_002, "limit": 100_000}, 41_002, 100_000, 58_998),
            ("used and remaining", {"used": 10, "remaining": 90}, 10, 100, 90),
            ("zoho: remaining alone", {"remaining": 4_200}, None, None, 4_200),
            ("over the limit: nothing remains", {"used": 120, "limit": 100}, 120, 100, 0),
            ("all three kept as given", {"used": 1, "limit": 5, "remaining": 3}, 1, 5, 3),
        ]
    ),
)
def test_the_third_figure_from_two(
    given: dict[str, int], used: int | None, limit: int | None, remaining: int | None
) -> None:
    budget = ApiBudget("requests", **given)
    assert (budget.used, budget.limit, budget.remaining) == (used, limit, remaining)


def test_the_unit_is_one_word() -> None:
    """It becomes a metric label: a fixed word per adapter, never free text."""
    with pytest.raises(ValueError, match="one word"):
        ApiBudget("API calls")
