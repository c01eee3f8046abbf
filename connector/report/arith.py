"""The report's arithmetic (CONTRACT §6): rates, half-up rounding, nearest-rank percentiles.

Exact: rates are computed on integers with ``Decimal``, so 0.0005 rounds up as a person would
(binary floats would round 2 ÷ 4000 down).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

__all__ = ["half_up", "percentile", "projected", "rate"]

_THOUSANDTH = Decimal("0.001")


def rate(numerator: int, denominator: int) -> float | None:
    """``numerator ÷ denominator`` with 3 decimals, half up; None when the denominator is 0."""
    if denominator == 0:
        return None
    value = (Decimal(numerator) / Decimal(denominator)).quantize(_THOUSANDTH, rounding=ROUND_HALF_UP)
    return float(value)


def half_up(numerator: int, denominator: int) -> int:
    """``numerator ÷ denominator`` (both whole, denominator > 0) rounded half up to an integer."""
    return (2 * numerator + denominator) // (2 * denominator)


def projected(handoffs: int, days_in_month: int, day_of_month: int) -> int:
    """The month in progress at its current pace: handoffs × days in the month ÷ today's day."""
    return half_up(handoffs * days_in_month, day_of_month)


def percentile(values: Sequence[int], p: int) -> int | None:
    """The value at rank ⌈p/100 · n⌉ of the sorted values (nearest rank); None for no values.

    ``values`` must be sorted."""
    n = len(values)
    if n == 0:
        return None
    rank = max(1, -(-p * n // 100))
    return values[rank - 1]
