"""Business-hours arithmetic for the SLA clock, in the rules' time zone.

``Calendar.add`` moves a start time forward by a duration counting only open time: opening hours
on open weekdays that are not holidays. A start outside them waits for the next opening. Without
business hours every moment of a non-holiday day is open.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from leadsync.timeutil import duration_delta

__all__ = ["Calendar"]

_MAX_DAYS_SEARCHED = 3660  # a calendar with no open day at all is refused at validation


@dataclass(frozen=True)
class Calendar:
    """Open days and hours of the team that owes the first touch."""

    tz: ZoneInfo
    weekdays: frozenset[int] = frozenset(range(7))  # Monday is 0
    opens: time = time(0, 0)
    closes: time | None = None  # None: open until midnight
    holidays: frozenset[date] = frozenset()

    def is_open_day(self, day: date) -> bool:
        return day.weekday() in self.weekdays and day not in self.holidays

    def _window(self, day: date) -> tuple[datetime, datetime]:
        """The opening and closing instants of an open day (closing is exclusive)."""
        start = datetime.combine(day, self.opens, self.tz)
        if self.closes is None:
            end = datetime.combine(day + timedelta(days=1), time(0, 0), self.tz)
        else:
            end = datetime.combine(day, self.closes, self.tz)
        # Work in UTC so that a daylight-saving change inside the window is counted truly.
        return start.astimezone(UTC), end.astimezone(UTC)

    def next_open(self, moment: datetime) -> datetime:
        """``moment`` when it is open, else the next opening."""
        day = moment.astimezone(self.tz).date()
        for _ in range(_MAX_DAYS_SEARCHED):
            if self.is_open_day(day):
                start, end = self._window(day)
                if moment < end:
                    return max(moment, start)
            day += timedelta(days=1)
        raise ValueError("the business calendar has no open time")

    @functools.lru_cache(maxsize=8192)  # noqa: B019 - calendars live as long as their rules
    def add(self, start: datetime, amount: int, unit: str) -> datetime:
        """``start`` plus ``amount`` minutes/hours (open time) or days (open days)."""
        moment = self.next_open(start.astimezone(UTC))
        if unit == "d":
            return self._add_days(moment, amount)
        remaining = duration_delta(amount, unit)
        while True:
            _, end = self._window(moment.astimezone(self.tz).date())
            if moment + remaining <= end:
                return moment + remaining
            remaining -= end - moment
            moment = self.next_open(end)

    def _add_days(self, moment: datetime, days: int) -> datetime:
        local = moment.astimezone(self.tz)
        day = local.date()
        for _ in range(days):
            day += timedelta(days=1)
            while not self.is_open_day(day):
                day += timedelta(days=1)
        return datetime.combine(day, local.timetz().replace(tzinfo=None), self.tz).astimezone(UTC)

    def open_time(self, start: datetime, end: datetime) -> timedelta:
        """The open time between ``start`` and ``end`` (zero when ``end`` is not later): a start
        outside opening hours counts from the next opening, an end outside them up to the last
        closing before it. The report's speed to lead (CONTRACT §6) in business hours."""
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        total = timedelta(0)
        if end <= start:
            return total
        day = start.astimezone(self.tz).date()
        last = end.astimezone(self.tz).date()
        while day <= last:
            if self.is_open_day(day):
                opens, closes = self._window(day)
                overlap = min(end, closes) - max(start, opens)
                if overlap > timedelta(0):
                    total += overlap
            day += timedelta(days=1)
        return total
