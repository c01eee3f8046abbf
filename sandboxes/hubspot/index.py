"""Sorted indexes for the sandbox's search: one property of one object type, kept as (key, id).

The search evaluates every record of a type against its filters and sorts the hits, about 0.2 s
for 20,000 contacts a call; a sync's keyset reads (``lastmodifieddate GT t``, ``EQ t AND
hs_object_id GT x``, sorted by one of the two) are ranges of a list sorted by ``(value, id)``,
found by bisection. ``search`` decides when a query is such a range and falls back to
the full scan otherwise; the results are the same either way.

An index is built on a type's first search that needs it and then kept up to date by the store:
every value the store sets goes through ``Indexes.changed`` (``Indexes.added`` for a new record).
A value the property's type cannot read (a bad date) is remembered, and searches on that
property take the full scan, which answers such a value with the same 400 as before.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable
from typing import Any

from leadsync.sandboxes.hubspot.common import ApiError, Record

__all__ = ["HIGH", "LOW", "Indexes", "SortedIndex"]

LOW, HIGH = -math.inf, math.inf  # ids below and above every id: the ends of one key's run
Key = Callable[[str], Any]
_NONE, _BAD = object(), object()


class SortedIndex:
    """The records of one type that hold a value for ``name``, sorted by (its key, id)."""

    def __init__(self, name: str, key: Key, table: dict[int, Record]) -> None:
        self.name = name
        self.table = table
        self._key = key
        self.entries: list[tuple[Any, int]] = []
        self.empty: list[int] = []  # ids without a value, in id order
        self.bad: set[int] = set()  # ids whose value the key cannot read
        self._keys: dict[int, Any] = {}
        for rec in table.values():
            key_ = self._read(rec)
            if key_ is _NONE:
                self.empty.append(rec.id)
            elif key_ is not _BAD:
                self.entries.append((key_, rec.id))
        self.entries.sort()
        self.empty.sort()

    def update(self, rec: Record) -> None:
        """Move ``rec`` to where its current value belongs."""
        old = self._keys.pop(rec.id, _NONE)
        if old is not _NONE:
            del self.entries[bisect_left(self.entries, (old, rec.id))]
        elif rec.id in self.bad:
            self.bad.discard(rec.id)
        else:
            at = bisect_left(self.empty, rec.id)
            if at < len(self.empty) and self.empty[at] == rec.id:
                del self.empty[at]
        key = self._read(rec)
        if key is _NONE:
            insort(self.empty, rec.id)
        elif key is not _BAD:
            insort(self.entries, (key, rec.id))

    def _read(self, rec: Record) -> Any:
        """``rec``'s key (remembered), _NONE without a value, or _BAD (remembered as bad)."""
        raw = rec.properties.get(self.name, "")
        if raw == "":
            return _NONE
        try:
            key = self._key(raw)
        except ApiError:
            key = math.nan
        if isinstance(key, float) and math.isnan(key):  # NaN has no place in an order
            self.bad.add(rec.id)
            return _BAD
        self._keys[rec.id] = key
        return key

    @property
    def usable(self) -> bool:
        """Whether every value could be read (else a search must scan, as HubSpot's rules say)."""
        return not self.bad

    def lower(self, key: Any, inclusive: bool) -> int:
        """The first position whose key is above ``key`` (at or above when ``inclusive``)."""
        return bisect_left(self.entries, (key, LOW if inclusive else HIGH))

    def upper(self, key: Any, inclusive: bool) -> int:
        """The position after the last key below ``key`` (at or below when ``inclusive``)."""
        return bisect_left(self.entries, (key, HIGH if inclusive else LOW))

    def id_bound(self, key: Any, ident: float, after: bool) -> int:
        """Within ``key``'s run: the first position whose id is above ``ident`` (``after``) or at it."""
        return (bisect_right if after else bisect_left)(self.entries, (key, ident))


class Indexes:
    """The store's indexes by (object type, property), built when first asked for."""

    def __init__(self) -> None:
        self._by: dict[tuple[str, str], SortedIndex] = {}
        self._scan_only: set[str] = set()

    def get(self, otype: str, name: str, key: Key, table: dict[int, Record]) -> SortedIndex | None:
        """The index of ``name`` (None: this type's searches scan)."""
        if otype in self._scan_only:
            return None
        index = self._by.get((otype, name))
        if index is None:
            index = self._by[(otype, name)] = SortedIndex(name, key, table)
        return index

    def changed(self, rec: Record, name: str) -> None:
        """``rec``'s value for ``name`` was set or removed."""
        if name == "hs_object_id" and rec.properties.get(name) != str(rec.id):
            # Id filters are answered from record ids: once a record's differs, its type scans.
            self._scan_only.add(rec.otype)
            self._by = {k: v for k, v in self._by.items() if k[0] != rec.otype}
            return
        index = self._by.get((rec.otype, name))
        if index is not None:
            index.update(rec)

    def added(self, rec: Record) -> None:
        """A new record of ``rec.otype``."""
        for (otype, _), index in self._by.items():
            if otype == rec.otype:
                index.update(rec)
