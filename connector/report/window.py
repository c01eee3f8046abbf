"""The report's window and its periods (CONTRACT §6): dates, months and ISO weeks in the rules'
time zone, ``--from``/``--to`` both inclusive.

By default the window runs from the first day of the month two months before ``now``'s month to
``now``'s date. A window with only ``--to`` runs from the first day of the month two months before
``--to``'s month (the default window when ``--to`` is ``now``'s date); one with only ``--from``
runs to ``now``'s date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

__all__ = ["BY", "Window", "local_date", "make_window", "month_key", "period_key", "week_key"]

BY = ("month", "week")


def local_date(moment: datetime, tz: ZoneInfo) -> date:
    """The calendar date of an instant in the rules' time zone."""
    return moment.astimezone(tz).date()


def month_key(day: date) -> str:
    """``2026-11``."""
    return f"{day.year:04d}-{day.month:02d}"


def week_key(day: date) -> str:
    """The ISO week, Monday first: ``2026-W47`` (its ISO year: 2027-01-01 is in ``2026-W53``)."""
    year, week, _ = day.isocalendar()
    return f"{year:04d}-W{week:02d}"


def period_key(day: date, by: str) -> str:
    return month_key(day) if by == "month" else week_key(day)


def _months_back(day: date, months: int) -> date:
    """The first day of the month ``months`` before ``day``'s month."""
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Window:
    """The dates a report covers (both inclusive), how it groups them, and its ``now``."""

    start: date
    end: date
    by: str
    now: datetime
    tz: ZoneInfo

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def months(self) -> list[str]:
        """Every calendar month the window touches, oldest first."""
        out: list[str] = []
        day = self.start.replace(day=1)
        while day <= self.end:
            out.append(month_key(day))
            day = _months_back(day, -1)
        return out

    def periods(self) -> list[str]:
        """Every period (month or ISO week) the window touches, oldest first."""
        if self.by == "month":
            return self.months()
        out: list[str] = []
        day = self.start - timedelta(days=self.start.weekday())
        while day <= self.end:
            out.append(week_key(day))
            day += timedelta(days=7)
        return out

    @property
    def today(self) -> date:
        """``now``'s date in the rules' time zone."""
        return local_date(self.now, self.tz)


def make_window(now: datetime, tz: ZoneInfo, start: date | None, end: date | None, by: str) -> Window:
    """The window for the flags given (None: the default); ValueError when it is empty."""
    if by not in BY:
        raise ValueError(f"`--by {by}`: write month or week")
    today = local_date(now, tz)
    last = today if end is None else end
    first = _months_back(last, 2) if start is None else start
    if first > last:
        raise ValueError(
            f"the window is empty: from {first.isoformat()} to {last.isoformat()}; "
            "--from must be on or before --to (default: now's date)"
        )
    return Window(first, last, by, now, tz)
