"""A contact's activities as the rules see them: deduplicated, up to ``now``, by type."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from operator import attrgetter

from leadsync.model import Activity

__all__ = ["CHRONOLOGICAL", "History", "is_connection"]

_NONE: tuple[Activity, ...] = ()
CHRONOLOGICAL = attrgetter("at", "id")


def is_connection(activity: Activity) -> bool:
    """A touch that reached the person: a connected call or a held meeting."""
    if activity.type == "meeting":
        return True
    return activity.type == "call" and activity.properties.get("outcome") == "connected"


class History:
    """Activities at or before ``now``; a repeated id is one activity (the last one read).

    Built once per contact, in one pass that only buckets the activities by type. What only
    some decisions need (the last contact-done activity, the sorted sales touches) is computed
    on first use and kept.
    """

    __slots__ = (
        "_by_type",
        "_contact_types",
        "_last",
        "_last_known",
        "_sales_types",
        "_touches",
        "next_at",
    )

    def __init__(
        self,
        activities: Iterable[Activity],
        now: datetime,
        contact_types: frozenset[str],
        sales_types: frozenset[str],
    ) -> None:
        # A repeated id is one activity: the last one read wins, wherever it moved in time.
        # (Repeats are rare, so the set test usually spares building the dict. A comprehension,
        # not map(attrgetter): it reads the slot without a generic attribute lookup.)
        items = activities if isinstance(activities, list) else list(activities)
        if len({a.id for a in items}) != len(items):
            items = list({a.id: a for a in items}.values())
        # The earliest activity after ``now`` (logged during the run, or stamped by a clock a
        # little ahead): the decision may change when it comes (``horizon.next_change_at``).
        next_at: datetime | None = None
        by_type: dict[str, list[Activity]] = {}
        for activity in items:
            if activity.at <= now:
                bucket = by_type.get(activity.type)
                if bucket is None:
                    by_type[activity.type] = [activity]
                else:
                    bucket.append(activity)
            elif next_at is None or activity.at < next_at:
                next_at = activity.at
        self.next_at = next_at
        self._by_type = by_type
        self._contact_types = contact_types
        self._sales_types = sales_types
        self._last: datetime | None = None
        self._last_known = False
        self._touches: list[Activity] | None = None

    def of_type(self, kind: str) -> Sequence[Activity]:
        """This type's activities at or before ``now``, in no particular order."""
        return self._by_type.get(kind, _NONE)

    @property
    def last_contact_done(self) -> datetime | None:
        """When the contact last did something (a contact activity type), or None."""
        if not self._last_known:
            last: datetime | None = None
            for kind, items in self._by_type.items():
                if kind in self._contact_types:
                    for activity in items:  # a plain loop: max() per type costs more here
                        if last is None or activity.at > last:
                            last = activity.at
            self._last = last
            self._last_known = True
        return self._last

    @property
    def touches(self) -> list[Activity]:
        """The sales touches (sales activity types), in order of (``at``, ``id``)."""
        touches = self._touches
        if touches is None:
            touches = [a for kind in self._sales_types for a in self._by_type.get(kind, _NONE)]
            touches.sort(key=CHRONOLOGICAL)
            self._touches = touches
        return touches
