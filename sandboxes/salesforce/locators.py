"""Open query locators in the Salesforce sandbox: each query's snapshot behind its locator.

A locator unused for 15 minutes of the sandbox clock is gone, and a user's 11th open query pushes
out their oldest (a child list's locator, opened for a subquery, does not count)
(https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_changing_batch_size.htm).
How batches are cut from a snapshot is ``cursors``'.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from leadsync.sandboxes.salesforce.common import JSON, KEY_PREFIXES, IdFactory, SfError

__all__ = ["Cursor", "Cursors"]

LOCATOR_IDLE = timedelta(minutes=15)
MAX_OPEN_PER_USER = 10


@dataclass
class Cursor:
    """A query's snapshot, read batch by batch through its locator."""

    user_id: str
    records: list[JSON]
    batch: int
    last_used: datetime
    children: tuple[str, ...] = ()  # subquery relationship names in each record
    child: bool = False  # the rest of one parent's child list
    kids: list[str] = field(default_factory=list)  # child locators the last batch opened


class Cursors:
    """Open query locators, per org."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: OrderedDict[str, Cursor] = OrderedDict()
        self._ids = IdFactory("RO")

    def open(self, cursor: Cursor) -> str:
        with self._lock:
            mine = [k for k, c in self._open.items() if c.user_id == cursor.user_id and not c.child]
            for key in mine[: max(0, len(mine) - MAX_OPEN_PER_USER + 1)] if not cursor.child else ():
                del self._open[key]
            locator = self._ids.new(KEY_PREFIXES["QueryLocator"])
            self._open[locator] = cursor
            return locator

    def take(self, locator: str, user_id: str, now: datetime) -> Cursor:
        with self._lock:
            cursor = self._open.get(locator)
            if cursor is not None and now - cursor.last_used > LOCATOR_IDLE:
                del self._open[locator]
                cursor = None
            if cursor is None or cursor.user_id != user_id:
                raise SfError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
            cursor.last_used = now
            return cursor

    def close(self, locator: str) -> None:
        with self._lock:
            self._open.pop(locator, None)

    def clear(self) -> None:
        with self._lock:
            self._open.clear()
