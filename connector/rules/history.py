"""A contact's activities as the rules see them: deduplicated, up to ``now``, by type."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from operator import attrgetter

from leadsync.model import Activity

__all__ = ["CHRONOLOGICAL", "History", "is_connection"]

_NONE: tuple[Activity, ...] = ()
CHRONOLOGICAL = attrgetter("at", "id")
_AT = attrgetter("at")
_ID = attrgetter("id")


def is_connection(activity: Activity) -> bool:
    """A touch that reached the person: a connected call or a held meeting."""
    if activity.type == "meeting":
        return True
    return activity.type == "call" and activity.properties.get("outcome") == "connected"


class History:
    """Activities at or before ``now``; a repeated id is one activity (the last one read)."""

    __slots__ = ("_by_type", "last_contact_done", "next_at", "touches")

    def __init__(
        self,
        activities: Iterable[Activity],
        now: datetime,
        contact_types: frozenset[str],
        sales_types: frozenset[str],
    ) -> None:
        # A repeated id is one activity: the last one read wins, wherever it moved in time.
        # (Repeats are rare, so the C-speed set test usually spares building the dict.)
        items = activities if isinstance(activities, list) else list(activities)
        if len(set(map(_ID, items))) != len(items):
            items = list({a.id: a for a in items}.values())
        by_type: dict[str, list[Activity]] = {}
        # The earliest activity after ``now`` (logged during the run, or stamped by a clock a
        # little ahead): the decision may change when it comes (``horizon.next_change_at``).
        next_at: datetime | None = None
        for activity in items:
            if activity.at <= now:
                bucket = by_type.get(activity.type)
                if bucket is None:
                    by_type[activity.type] = [activity]
                else:
                    bucket.append(activity)
            elif next_at is None or activity.at < next_at:
                next_at = activity.at
        self._by_type = by_type
        self.next_at = next_at
        # Counting needs no order; only the touches (first touch, attempts) are sorted.
        self.last_contact_done: datetime | None = None
        touches: list[Activity] = []
        for kind, items in by_type.items():
            if kind in contact_types:
                last = max(items, key=_AT).at
                if self.last_contact_done is None or last > self.last_contact_done:
                    self.last_contact_done = last
            elif kind in sales_types:
                touches.extend(items)
        touches.sort(key=CHRONOLOGICAL)
        self.touches: list[Activity] = touches

    def of_type(self, kind: str) -> Sequence[Activity]:
        """This type's activities at or before ``now``, in no particular order."""
        return self._by_type.get(kind, _NONE)
