"""A contact's activities as the rules see them: deduplicated, up to ``now``, by type."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from connector.model import Activity

__all__ = ["History", "is_connection"]

_NONE: tuple[Activity, ...] = ()


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
        unique: dict[str, Activity] = {}
        for activity in activities:
            if activity.at <= now:
                unique[activity.id] = activity
            else:
                unique.pop(activity.id, None)  # a later version moved it into the future
        ordered = sorted(unique.values(), key=lambda a: (a.at, a.id))
        by_type: dict[str, list[Activity]] = {}
        for activity in ordered:
            by_type.setdefault(activity.type, []).append(activity)
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
        touches.sort(key=lambda a: (a.at, a.id))
        self.touches: list[Activity] = touches

    def of_type(self, kind: str) -> Sequence[Activity]:
        """This type's activities, oldest first."""
        return self._by_type.get(kind, _NONE)
