"""One output value from one CSV row: the column's text, the mapping's map, then its type."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from leadsync.convert.mapping import CONTACT_FIELD_TYPES, Mapping, Value
from leadsync.rules.yamlsource import Path_
from leadsync.timeutil import format_ts, in_range

__all__ = ["BadValue", "Cell", "convert_value", "mapped_values"]

Cell = str | None
_TRUE = frozenset({"true", "yes", "y", "1"})
_FALSE = frozenset({"false", "no", "n", "0"})


class BadValue(ValueError):
    """A cell that cannot become its output value; the message says what to do."""


def mapped_values(mapping: Mapping) -> Iterator[tuple[Path_, Value, str | None]]:
    """Every value of the mapping with its path in the file and the type it defaults to."""
    yield ("contact_id",), mapping.contact_id, "text"
    if mapping.contact is not None:
        for name, value in mapping.contact.fields.items():
            yield ("contact", "fields", name), value, CONTACT_FIELD_TYPES.get(name)
        for name, value in mapping.contact.properties.items():
            yield ("contact", "properties", name), value, None
    for index, spec in enumerate(mapping.activities):
        base: Path_ = ("activities", index)
        if isinstance(spec.type, Value):
            yield (*base, "type"), spec.type, "text"
        yield (*base, "at"), spec.at, "timestamp"
        for key, kind in (("when", None), ("id", "text"), ("owner_id", "text")):
            value = getattr(spec, key)
            if value is not None:
                yield (*base, key), value, kind
        for name, value in spec.properties.items():
            yield (*base, "properties", name), value, None
    if mapping.outcome is not None:
        yield ("outcome", "outcome"), mapping.outcome.outcome, "text"
        yield ("outcome", "at"), mapping.outcome.at, "timestamp"


def convert_value(spec: Value, raw: Cell, default_type: str | None, zone: ZoneInfo) -> Any:
    """The output value of ``raw`` (None: missing). ``BadValue`` when it cannot be one."""
    value: Any = spec.value if spec.column is None else raw
    if value is None:
        return None
    if spec.map is not None and isinstance(value, str):
        if value in spec.map:
            value = spec.map[value]
        elif spec.other is not None:
            value = spec.other
    elif spec.other is not None and spec.column is not None:
        value = spec.other
    if value is None or not isinstance(value, str):
        if (spec.type or default_type) == "timestamp" and value is not None:
            raise BadValue(f"{value!r} is not a timestamp; map it to text like 2026-01-31T09:00:00")
        return value
    return _typed(value, spec.type or default_type, spec.format, zone)


def _typed(text: str, kind: str | None, fmt: str | None, zone: ZoneInfo) -> Any:
    if kind in (None, "text"):
        return text
    stripped = text.strip()
    if kind == "timestamp":
        return _timestamp(stripped, fmt, zone)
    if kind == "boolean":
        folded = stripped.casefold()
        if folded in _TRUE or folded in _FALSE:
            return folded in _TRUE
        raise BadValue(f"`{text}` is not true/false; add it to the value's `map`")
    try:
        number = float(stripped)
    except ValueError:
        raise BadValue(
            f"`{text}` is not a number; fix the cell, or `map` it (or list it in `missing`)"
        ) from None
    if number != number or number in (float("inf"), float("-inf")):
        raise BadValue(f"`{text}` is not a finite number")
    if kind == "integer":
        if not number.is_integer():
            raise BadValue(f"`{text}` is not a whole number")
        return int(number)
    return int(number) if number.is_integer() else number


def _timestamp(text: str, fmt: str | None, zone: ZoneInfo) -> str:
    try:
        ts = datetime.strptime(text, fmt) if fmt else datetime.fromisoformat(text)
    except ValueError:
        how = (
            f"the format `{fmt}`" if fmt else "ISO 8601 (2026-01-31 or 2026-01-31 09:00:00); or set `format`"
        )
        raise BadValue(f"`{text}` is not a timestamp in {how}") from None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=zone)
    try:
        in_range(ts, text)
    except ValueError as exc:
        raise BadValue(str(exc)) from None
    return format_ts(ts) or ""
