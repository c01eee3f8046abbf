"""A contact's activities as the rules see them: deduplicated, up to ``now``, by type."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from operator import attrgetter

from connector.model import Activity

__all__ = ["History", "is_connection"]

_NONE: tuple[Activity, ...] = ()
_CHRONOLOGICAL = attrgetter("at", "id")


def is_connection(activity: Activity) -> bool:
    """A touch that reached the person: a connected call or a held meeting."""
    if activity.type == "meeting":
        return True
    return activity.type == "call" and activity.properties.get("outcome") == "connected"


class History:
    """Activities at or before ``now``; a repeated id is one activity (the last one read)."""

    __slots__ = ("_by_type", "last_contact_done", "touches")

    def __init__(
        self,
        activities: Iterable[Activity],
        now: datetime,
        contact_types: frozenset[str],
        sales_types: frozenset[str],
    ) -> None:
        # A repeated id is one activity: the last one read wins, wherever it moved in time.
        unique = {a.id: a for a in activities}
        ordered = sorted([a for a in unique.values() if a.at <= now], key=_CHRONOLOGICAL)
        by_type: dict[str, list[Activity]] = {}
        for activity in ordered:
            bucket = by_type.get(activity.type)
            if bucket is None:
                by_type[activity.type] = [activity]
            else:
                bucket.append(activity)
        self._by_type = by_type
        self.last_contact_done: datetime | None = None
        touches: list[Activity] = []
        for kind, items in by_type.items():
            if kind in contact_types:
                last = items[-1].at
                if self.last_contact_done is None or last > self.last_contact_done:
                    self.last_contact_done = last
            elif kind in sales_types:
                touches.extend(items)
        touches.sort(key=_CHRONOLOGICAL)
        self.touches: list[Activity] = touches

    def of_type(self, kind: str) -> Sequence[Activity]:
        """This type's activities, oldest first."""
        return self._by_type.get(kind, _NONE)
