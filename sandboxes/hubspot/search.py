"""The CRM search endpoint's query language: filter groups, one sort, offset paging, the 10k window.

Rules from HubSpot's search guide (https://developers.hubspot.com/docs/api/crm/search): at most
200 results per page, ``after`` is an integer offset, paging past 10,000 results is a 400, filter
groups are ORed and filters inside a group ANDed (≤5 groups, ≤6 per group, ≤18 in all), one sort,
date values are epoch milliseconds. Ties under the sort keep ``hs_object_id`` order.

A query whose filter groups are ranges of one property (``EQ``, ``GT``, ``GTE``, ``LT``, ``LTE``,
``BETWEEN``; ``hs_object_id`` too within one value), sorted by that property or by
``hs_object_id``, ascending, is answered from a sorted index (``index``) by bisection
instead of a scan of every record: a sync's keyset reads. Anything else scans. Both give the
same page and total.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from leadsync.sandboxes.hubspot.common import JSON, Record, ms_from_value, validation_error
from leadsync.sandboxes.hubspot.schema import PropertyDef

if TYPE_CHECKING:
    from leadsync.sandboxes.hubspot.index import SortedIndex

__all__ = ["MAX_LIMIT", "MAX_RESULTS", "SearchPage", "run_search"]

MAX_LIMIT = 200
MAX_RESULTS = 10_000
MAX_GROUPS, MAX_PER_GROUP, MAX_FILTERS = 5, 6, 18
_OPERATORS = {"EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN", "HAS_PROPERTY"}
_OPERATORS |= {"NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"}
_QUERY_PROPS = ("email", "firstname", "lastname", "company", "hs_task_subject", "hs_object_id")
_TOKENS = re.compile(r"[^\w@.-]+")

# An association pseudo-property (``associations.contact``) resolves to the ids it is linked to.
AssocLookup = Callable[[Record, str], set[str]]
# The sorted index of a property, given its name and its key function (None: scan).
IndexFor = Callable[[str, Callable[[str], Any]], "SortedIndex | None"]
_ID = "hs_object_id"
_RANGES = {"EQ", "GT", "GTE", "LT", "LTE", "BETWEEN"}


@dataclass
class SearchPage:
    results: list[Record]
    total: int
    next_after: str | None


def _key(prop: PropertyDef | None, value: str) -> Any:
    """A comparable form of a stored value or a filter value for this property's type."""
    if prop is None:
        return value
    if prop.type == "number":
        try:
            return float(value)
        except ValueError:
            raise validation_error(f"{value} is not a valid number for {prop.name}") from None
    if prop.type in ("datetime", "date"):
        ms = ms_from_value(value)
        if ms is None:
            raise validation_error(f"{value} is not a valid date for {prop.name}; use epoch milliseconds")
        return ms
    if prop.type == "string":
        return value.casefold()
    return value


@dataclass
class _Filter:
    name: str
    op: str
    prop: PropertyDef | None
    value: Any = None
    high: Any = None
    values: tuple[Any, ...] = ()

    def matches(self, rec: Record, assoc: AssocLookup) -> bool:
        if self.name.startswith("associations."):
            linked = assoc(rec, self.name.split(".", 1)[1])
            wanted = {str(v) for v in (self.values or (self.value,))}
            hit = bool(linked & wanted)
            return hit if self.op in ("EQ", "IN") else not hit
        raw = rec.properties.get(self.name, "")
        if self.op == "HAS_PROPERTY":
            return raw != ""
        if self.op == "NOT_HAS_PROPERTY":
            return raw == ""
        if raw == "":
            return self.op in ("NEQ", "NOT_IN", "NOT_CONTAINS_TOKEN")
        if self.op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
            tokens = [raw.casefold(), *_TOKENS.split(raw.casefold())]
            hit = any(fnmatch.fnmatchcase(t, str(self.value)) for t in tokens)
            return hit if self.op == "CONTAINS_TOKEN" else not hit
        have = _key(self.prop, raw)
        op = self.op
        if op in ("IN", "NOT_IN"):
            return (have in self.values) == (op == "IN")
        if op == "BETWEEN":
            return bool(self.value <= have <= self.high)
        return bool(
            {
                "EQ": have == self.value,
                "NEQ": have != self.value,
                "LT": have < self.value,
                "LTE": have <= self.value,
                "GT": have > self.value,
                "GTE": have >= self.value,
            }[op]
        )


def _parse_filter(raw: Any, props: dict[str, PropertyDef]) -> _Filter:
    if not isinstance(raw, dict) or "propertyName" not in raw or "operator" not in raw:
        raise validation_error("Each filter needs a propertyName and an operator")
    name, op = str(raw["propertyName"]), str(raw["operator"])
    if op not in _OPERATORS:
        raise validation_error(f"Invalid operator {op}; expected one of {sorted(_OPERATORS)}")
    if name.startswith("associations."):
        if op not in ("EQ", "NEQ", "IN", "NOT_IN"):
            raise validation_error(f"Operator {op} is not supported for {name}")
        return _Filter(name, op, None, raw.get("value"), values=tuple(raw.get("values") or ()))
    prop = props.get(name)
    if prop is None:
        raise validation_error(f"There was a problem with the request: property {name} does not exist")
    flt = _Filter(name, op, prop)
    if op in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
        return flt
    if op in ("IN", "NOT_IN"):
        values = raw.get("values")
        if not isinstance(values, list) or not values:
            raise validation_error(f"Operator {op} requires a non-empty 'values' list")
        flt.values = tuple(_key(prop, str(v)) for v in values)
        return flt
    if raw.get("value") is None:
        raise validation_error(f"Operator {op} requires a 'value'")
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        flt.value = str(raw["value"]).casefold()
        return flt
    flt.value = _key(prop, str(raw["value"]))
    if op == "BETWEEN":
        if raw.get("highValue") is None:
            raise validation_error("Operator BETWEEN requires a 'highValue'")
        flt.high = _key(prop, str(raw["highValue"]))
    return flt


def _parse_groups(raw: Any, props: dict[str, PropertyDef]) -> list[list[_Filter]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise validation_error("filterGroups must be a list")
    if len(raw) > MAX_GROUPS:
        raise validation_error(f"Too many filter groups: {len(raw)}; the maximum is {MAX_GROUPS}")
    groups: list[list[_Filter]] = []
    for group in raw:
        filters = group.get("filters") if isinstance(group, dict) else None
        if not isinstance(filters, list):
            raise validation_error("Each filter group needs a 'filters' list")
        if len(filters) > MAX_PER_GROUP:
            raise validation_error(
                f"Too many filters in a group: {len(filters)}; the maximum is {MAX_PER_GROUP}"
            )
        groups.append([_parse_filter(f, props) for f in filters])
    total = sum(len(g) for g in groups)
    if total > MAX_FILTERS:
        raise validation_error(f"Too many filters: {total}; the maximum is {MAX_FILTERS} across all groups")
    return groups


def _parse_sort(raw: Any, props: dict[str, PropertyDef]) -> tuple[str, bool] | None:
    """(property, descending) from ``[{"propertyName","direction"}]`` or ``["name"]``/``["-name"]``."""
    if not raw:
        return None
    if not isinstance(raw, list):
        raise validation_error("sorts must be a list")
    if len(raw) > 1:
        raise validation_error(f"Only one sort is supported; got {len(raw)}")
    sort = raw[0]
    if isinstance(sort, str):
        name, desc = sort.lstrip("-"), sort.startswith("-")
    elif isinstance(sort, dict) and sort.get("propertyName"):
        name = str(sort["propertyName"])
        direction = str(sort.get("direction", "ASCENDING")).upper()
        if direction not in ("ASCENDING", "DESCENDING"):
            raise validation_error(f"Invalid sort direction {direction}")
        desc = direction == "DESCENDING"
    else:
        raise validation_error("A sort is a property name or {propertyName, direction}")
    if name not in props:
        raise validation_error(f"Cannot sort by {name}: the property does not exist")
    return name, desc


def _paging(body: JSON) -> tuple[int, int]:
    limit_raw = body.get("limit")
    try:
        limit = 10 if limit_raw is None else int(limit_raw)
    except (TypeError, ValueError):
        raise validation_error(f"limit must be an integer, got {limit_raw!r}") from None
    if limit < 1 or limit > MAX_LIMIT:
        raise validation_error(f"limit must be between 1 and {MAX_LIMIT}; got {limit}")
    after_raw = body.get("after")
    try:
        after = 0 if after_raw in (None, "") else int(str(after_raw))
    except ValueError:
        raise validation_error(f"after must be an integer offset, got {after_raw!r}") from None
    if after < 0:
        raise validation_error("after must not be negative")
    if after + limit > MAX_RESULTS:
        raise validation_error(
            f"Paging beyond {MAX_RESULTS} results is not supported: after ({after}) + limit ({limit}) "
            f"exceeds {MAX_RESULTS}. Narrow the query (e.g. filter on hs_object_id GT the last id seen)."
        )
    return limit, after


def _query_match(rec: Record, query: str) -> bool:
    words = query.casefold().split()
    values = [rec.properties.get(p, "").casefold() for p in _QUERY_PROPS]
    return all(any(w in v for v in values) for w in words)


def run_search(
    records: Iterable[Record],
    body: Any,
    props: dict[str, PropertyDef],
    assoc: AssocLookup,
    index: IndexFor | None = None,
) -> SearchPage:
    """One page of a search over ``records`` (which must be in ``hs_object_id`` order)."""
    if not isinstance(body, dict):
        raise validation_error("The search request body must be a JSON object")
    limit, after = _paging(body)
    groups = _parse_groups(body.get("filterGroups"), props)
    sort = _parse_sort(body.get("sorts"), props)
    query = str(body.get("query") or "").strip()
    found = _by_index(groups, sort, props, index, after, limit) if index and not query else None
    if found is not None:
        page, total = found
        return SearchPage(page, total, str(after + limit) if after + limit < total else None)
    hits = [
        r
        for r in records
        if (not groups or any(all(f.matches(r, assoc) for f in g) for g in groups))
        and (not query or _query_match(r, query))
    ]
    if sort is not None:
        name, desc = sort
        prop = props[name]
        valued = [r for r in hits if r.properties.get(name, "") != ""]
        empty = [r for r in hits if r.properties.get(name, "") == ""]
        # Python's sort is stable (also with reverse=True), so equal values keep id order.
        valued.sort(key=lambda r: _key(prop, r.properties[name]), reverse=desc)
        hits = valued + empty
    page = hits[after : after + limit]
    nxt = str(after + limit) if after + limit < len(hits) else None
    return SearchPage(page, len(hits), nxt)


# -- the same answer from a sorted index -----------------------------------------------------


def _by_index(
    groups: list[list[_Filter]],
    sort: tuple[str, bool] | None,
    props: dict[str, PropertyDef],
    index: IndexFor,
    after: int,
    limit: int,
) -> tuple[list[Record], int] | None:
    """(the page, the total) when the query is ranges of one property's index; None: scan."""
    others = {f.name for g in groups for f in g} - {_ID}
    by = sort[0] if sort else None
    name = next(iter(others)) if others else _ID if groups else by
    if len(others) > 1 or (sort and sort[1]) or name is None or by not in (None, name, _ID):
        return None
    if name.startswith("associations.") or not all(groups):  # an empty group matches every record
        return None
    prop = props[name]
    idx = index(name, lambda raw: _key(prop, raw))
    if idx is None or not idx.usable:
        return None
    ranges = [(0, len(idx.entries))] if not groups else []
    for group in groups:
        span = _group_range(idx, group, name)
        if span is None:
            return None
        ranges.append(span)
    ranges = _merged(ranges)
    tail = idx.empty if not groups else []  # no filter: the records without a value come last
    total = sum(b - a for a, b in ranges) + len(tail)
    if by == name:  # the index's order is the sort's, ties by id
        ids = _window(idx.entries, ranges, after, limit)
        ids += tail[max(0, after - total + len(tail)) : max(0, after + limit - total + len(tail))]
    else:  # by id: hs_object_id, or no sort (the records' order)
        ids = sorted(i for a, b in ranges for _, i in idx.entries[a:b])[after : after + limit]
    return [idx.table[i] for i in ids], total


def _group_range(idx: SortedIndex, group: list[_Filter], name: str) -> tuple[int, int] | None:
    """The positions in ``idx`` a group of filters matches, when they are one range."""
    start, stop = 0, len(idx.entries)
    by_id: list[_Filter] = []
    for f in group:
        if f.op not in _RANGES or _unordered(f.value) or _unordered(f.high):
            return None
        if f.name != name:
            by_id.append(f)
            continue
        low, high = _bounds(idx, f)
        start, stop = max(start, low), min(stop, high)
    if by_id and start < stop:
        key = idx.entries[start][0]
        if idx.entries[stop - 1][0] != key:  # ids filtered across several values: not one range
            return None
        for f in by_id:
            low, high = _id_bounds(idx, key, f)
            start, stop = max(start, low), min(stop, high)
    return start, max(start, stop)


def _bounds(idx: SortedIndex, f: _Filter) -> tuple[int, int]:
    op, v, end = f.op, f.value, len(idx.entries)
    low = 0 if op in ("LT", "LTE") else idx.lower(v, op != "GT")
    if op in ("GT", "GTE"):
        return low, end
    return low, idx.upper(f.high if op == "BETWEEN" else v, op != "LT")


def _id_bounds(idx: SortedIndex, key: Any, f: _Filter) -> tuple[int, int]:
    """Within ``key``'s run of ids."""
    op, v = f.op, f.value
    low = idx.lower(key, True) if op in ("LT", "LTE") else idx.id_bound(key, v, op == "GT")
    if op in ("GT", "GTE"):
        return low, idx.upper(key, True)
    return low, idx.id_bound(key, f.high if op == "BETWEEN" else v, op != "LT")


def _unordered(value: Any) -> bool:
    return isinstance(value, float) and value != value  # NaN: no place in an order


def _merged(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Ranges that overlap or touch joined, in order; empty ones left out."""
    out: list[tuple[int, int]] = []
    for a, b in sorted(r for r in ranges if r[0] < r[1]):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _window(
    entries: list[tuple[Any, int]], ranges: list[tuple[int, int]], after: int, limit: int
) -> list[int]:
    """The ids at ``after`` .. ``after + limit`` of the ranges laid end to end."""
    ids: list[int] = []
    for a, b in ranges:
        if after >= b - a:
            after -= b - a
            continue
        ids += [i for _, i in entries[a + after : min(b, a + after + limit - len(ids))]]
        after = 0
        if len(ids) >= limit:
            break
    return ids
