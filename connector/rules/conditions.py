"""The condition language of CONTRACT.md §3, compiled once into plain Python callables.

A field condition is ``{field: F, OP: V}`` (several operators on one field must all hold);
``{activity: TYPE, where: COND, min_count: N, within_days: D}`` counts a contact's activities;
``all``, ``any`` and ``not`` combine. A missing value (absent, null or empty text) satisfies only
``present: false``, ``ne`` and ``not_in``.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from leadsync.errors import Problem
from leadsync.model import CONTACT_FIELDS, Activity
from leadsync.rules.regex import PatternError, compile_pattern
from leadsync.rules.rulesfile import MAX_COUNT, MAX_DAYS
from leadsync.rules.yamlsource import Path_, YamlSource

__all__ = [
    "ActivityPredicate",
    "ConditionCompiler",
    "ContactPredicate",
    "History",
    "did_you_mean",
]

OPERATORS = ("eq", "ne", "in", "not_in", "contains", "matches", "gte", "gt", "lte", "lt", "present")
_FIELD_KEYS = ("field", *OPERATORS)
_ACTIVITY_KEYS = ("activity", "where", "min_count", "within_days")
_ALL_KEYS = (*_FIELD_KEYS, *_ACTIVITY_KEYS, "all", "any", "not")


class Record(Protocol):
    def get(self, name: str) -> Any: ...


class History(Protocol):
    """A contact's activities at or before ``now``, by type, in no particular order."""

    def of_type(self, kind: str) -> Sequence[Activity]: ...


ActivityPredicate = Callable[[Activity], bool]
ContactPredicate = Callable[[Record, History, datetime], bool]


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    """``; did you mean `x`?`` for the closest choice, or nothing."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean `{close[0]}`?" if close else ""


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _field_test(op: str, expected: Any) -> Callable[[Any], bool]:
    """A test of one value (already known not to be missing) for one operator."""
    if op == "eq":
        return lambda v: v == expected or (isinstance(v, list) and expected in v)
    if op == "ne":
        return lambda v: v != expected and not (isinstance(v, list) and expected in v)
    if op in ("in", "not_in"):
        allowed = list(expected)

        def is_in(v: Any) -> bool:
            if isinstance(v, list):
                return any(item in allowed for item in v)
            return v in allowed

        return is_in if op == "in" else (lambda v: not is_in(v))
    if op == "contains":
        needle = expected

        def contains(v: Any) -> bool:
            if type(v) is str:
                return isinstance(needle, str) and needle in v
            return isinstance(v, list) and needle in v

        return contains
    if op == "matches":
        search = compile_pattern(expected)  # RE2: linear in the text (leadsync.rules.regex)
        return lambda v: search(v if isinstance(v, str) else str(v))
    compare: dict[str, Callable[[Any, Any], bool]] = {
        "gte": lambda a, b: a >= b,
        "gt": lambda a, b: a > b,
        "lte": lambda a, b: a <= b,
        "lt": lambda a, b: a < b,
    }
    fn = compare[op]
    return lambda v: _is_number(v) and fn(v, expected)


@dataclass
class ConditionCompiler:
    """Compiles conditions found in a YAML source, collecting every problem with its line."""

    source: YamlSource
    activity_types: frozenset[str]
    problems: list[Problem]
    activity_fields: set[str] = field(default_factory=set)  # what `where` reads of activities
    # For some `where` predicates, a function that counts the matching activities of a list
    # with the test written out in its loop (``counter`` uses it).
    _list_counts: dict[ActivityPredicate, Callable[[Sequence[Activity]], int]] = field(default_factory=dict)

    def _bad(self, path: Path_, message: str) -> None:
        self.problems.append(self.source.problem(path, message))

    def contact(self, cond: Any, path: Path_) -> ContactPredicate:
        """A predicate over a contact, its history and ``now``."""
        if not self._check_mapping(cond, path, _ALL_KEYS):
            return _never
        assert isinstance(cond, dict)
        kinds = [k for k in ("field", "activity", "all", "any", "not") if k in cond]
        if len(kinds) != 1:
            return self._one_kind(cond, path, kinds)
        kind = kinds[0]
        if kind == "field":
            found = self._field_check(cond, path, _FIELD_KEYS)
            if found is None:
                return _never
            return _contact_field(*found)
        if kind == "activity":
            return self._activity_count(cond, path)
        if kind == "not":
            self._only(cond, path, ("not",))
            inner = self.contact(cond["not"], (*path, "not"))
            return lambda c, h, n: not inner(c, h, n)
        self._only(cond, path, (kind,))
        parts = tuple(self._parts(cond[kind], (*path, kind), self.contact))
        # Plain loops: a generator inside all()/any() costs more than the few tests it runs.
        if kind == "all":

            def every(c: Record, h: History, n: datetime) -> bool:
                for part in parts:  # noqa: SIM110
                    if not part(c, h, n):
                        return False
                return True

            return every

        def some(c: Record, h: History, n: datetime) -> bool:
            for part in parts:  # noqa: SIM110
                if part(c, h, n):
                    return True
            return False

        return some

    def activity(self, cond: Any, path: Path_) -> ActivityPredicate:
        """A predicate over one activity (an engagement rule's or activity condition's where)."""
        keys = (*_FIELD_KEYS, "all", "any", "not")
        if not self._check_mapping(cond, path, keys):
            return lambda a: False
        assert isinstance(cond, dict)
        if "activity" in cond:
            self._bad((*path, "activity"), "an activity condition cannot be nested in `where`")
            return lambda a: False
        kinds = [k for k in ("field", "all", "any", "not") if k in cond]
        if len(kinds) != 1:
            self._one_kind(cond, path, kinds)
            return lambda a: False
        kind = kinds[0]
        if kind == "field":
            if isinstance(cond["field"], str):
                self.activity_fields.add(cond["field"])
            found = self._field_check(cond, path, _FIELD_KEYS)
            if found is None:
                return lambda a: False
            predicate = _activity_field(*found)
            ops = [op for op in OPERATORS if op in cond]
            if len(ops) == 1 and found[0] != "owner_id":
                count = _property_counter(found[0], ops[0], cond[ops[0]])
                if count is not None:
                    self._list_counts[predicate] = count
            return predicate
        if kind == "not":
            self._only(cond, path, ("not",))
            inner = self.activity(cond["not"], (*path, "not"))
            return lambda a: not inner(a)
        self._only(cond, path, (kind,))
        parts = self._parts(cond[kind], (*path, kind), self.activity)
        if kind == "all":
            return lambda a: all(p(a) for p in parts)
        return lambda a: any(p(a) for p in parts)

    def activity_type(self, kind: Any, path: Path_) -> str:
        """An activity type name, checked against the built-in and declared types."""
        if not isinstance(kind, str) or kind not in self.activity_types:
            hint = did_you_mean(str(kind), sorted(self.activity_types))
            self._bad(
                path,
                f"unknown activity type `{kind}`{hint or ''}"
                + ("" if hint else "; declare custom types under `activity_types`"),
            )
        return str(kind)

    def counter(
        self, kind: str, where: ActivityPredicate | None, within_days: int | None
    ) -> Callable[[History, datetime], int]:
        """Counts a contact's activities of ``kind`` matching ``where`` in the window."""
        window = None if within_days is None else timedelta(days=within_days)
        count_list: Callable[[Sequence[Activity]], int] = len
        if where is not None:
            count_list = self._list_counts.get(where) or _list_counter(where)
        if window is None:
            return lambda history, now: count_list(history.of_type(kind))

        def count(history: History, now: datetime) -> int:
            start = now - window
            return count_list([a for a in history.of_type(kind) if a.at >= start])

        return count

    # -- pieces -----------------------------------------------------------------------------

    def _activity_count(self, cond: dict[str, Any], path: Path_) -> ContactPredicate:
        self._only(cond, path, _ACTIVITY_KEYS)
        kind = self.activity_type(cond["activity"], (*path, "activity"))
        where = None
        if cond.get("where") is not None:
            where = self.activity(cond["where"], (*path, "where"))
        min_count = self._whole(cond, path, "min_count", 1, minimum=1, maximum=MAX_COUNT)
        within = self._whole(cond, path, "within_days", None, minimum=1, maximum=MAX_DAYS)
        count = self.counter(kind, where, within)
        return lambda contact, history, now: count(history, now) >= min_count

    def _field_check(
        self, cond: dict[str, Any], path: Path_, keys: Sequence[str]
    ) -> tuple[str, Callable[[Any], bool], bool] | None:
        """(field name, the test of a present value, what a missing value gives), or None
        (after a problem is recorded) when the condition is not valid."""
        self._only(cond, path, keys)
        name = cond["field"]
        if not isinstance(name, str) or not name:
            self._bad((*path, "field"), "`field` must name a field")
            return None
        ops = [op for op in OPERATORS if op in cond]
        if not ops:
            self._bad(path, f"a condition on `{name}` needs an operator: {', '.join(OPERATORS)}")
            return None
        tests: list[Callable[[Any], bool]] = []
        absent_ok = True
        for op in ops:
            value = cond[op]
            if not self._operand_ok(op, value, (*path, op)):
                return None
            if op == "present":
                absent_ok = absent_ok and value is False
                tests.append((lambda v: True) if value else (lambda v: False))
            else:
                absent_ok = absent_ok and op in ("ne", "not_in")
                tests.append(_field_test(op, value))
        if len(tests) == 1:
            return name, tests[0], absent_ok
        every = tuple(tests)
        return name, lambda v: all(t(v) for t in every), absent_ok

    def _operand_ok(self, op: str, value: Any, path: Path_) -> bool:
        if op in ("in", "not_in"):
            if not isinstance(value, list):
                self._bad(path, f"`{op}` takes a list, e.g. [a, b]")
                return False
        elif op in ("gte", "gt", "lte", "lt"):
            if not _is_number(value) or not math.isfinite(value):
                self._bad(path, f"`{op}` takes a finite number, got {value!r}")
                return False
        elif op == "present":
            if not isinstance(value, bool):
                self._bad(path, "`present` takes true or false")
                return False
        elif op == "matches":
            if not isinstance(value, str):
                self._bad(path, "`matches` takes a regular expression in quotes")
                return False
            try:
                compile_pattern(value)
            except PatternError as exc:
                self._bad(path, str(exc))
                return False
        elif op == "contains" and not isinstance(value, (str, int, float)):
            self._bad(path, "`contains` takes text")
            return False
        return True

    def _whole(
        self,
        cond: Mapping[str, Any],
        path: Path_,
        key: str,
        default: int | None,
        minimum: int,
        maximum: int,
    ) -> Any:
        value = cond.get(key, default)
        if value is None:
            return default
        if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= maximum:
            self._bad((*path, key), f"`{key}` must be a whole number from {minimum} to {maximum}")
            return default
        return value

    def _parts(self, items: Any, path: Path_, compile_one: Callable[[Any, Path_], Any]) -> list[Any]:
        if not isinstance(items, list) or not items:
            self._bad(path, f"`{path[-1]}` takes a non-empty list of conditions")
            return []
        return [compile_one(item, (*path, i)) for i, item in enumerate(items)]

    def _check_mapping(self, cond: Any, path: Path_, keys: Sequence[str]) -> bool:
        if not isinstance(cond, dict):
            self._bad(path, 'a condition must be a mapping, e.g. {field: title, matches: "CEO"}')
            return False
        ok = True
        for key in cond:
            if key not in keys:
                self._bad((*path, key), f"unknown key `{key}`{did_you_mean(str(key), keys)}")
                ok = False
        return ok

    def _only(self, cond: dict[str, Any], path: Path_, keys: Sequence[str]) -> None:
        for key in cond:
            if key not in keys and key in _ALL_KEYS:
                self._bad((*path, key), f"`{key}` does not belong in this condition")

    def _one_kind(self, cond: dict[str, Any], path: Path_, kinds: list[str]) -> ContactPredicate:
        if kinds:
            self._bad(path, f"one condition has {' and '.join(kinds)}; wrap them in `all: [...]`")
        else:
            self._bad(path, "a condition needs `field`, `activity`, `all`, `any` or `not`")
        return _never


def _never(contact: Record, history: History, now: datetime) -> bool:
    return False


# The field tests below read the value in place rather than through a getter function, and
# test ``not value`` before the three comparisons that tell a missing value (None, "", []):
# the tests run for every contact and activity, and most values are present and truthy.


def _contact_field(name: str, check: Callable[[Any], bool], absent_ok: bool) -> ContactPredicate:
    """A contact predicate from one field's test: a canonical field or a ``properties`` key."""
    if name == "stage":

        def test_stage(contact: Any, history: History, now: datetime) -> bool:
            return check(contact.stage or "lead")

        return test_stage
    if name in CONTACT_FIELDS:

        def test_field(contact: Any, history: History, now: datetime) -> bool:
            value = getattr(contact, name)
            if not value and (value is None or value == "" or value == []):
                return absent_ok
            return check(value)

        return test_field

    def test_property(contact: Any, history: History, now: datetime) -> bool:
        value = contact.properties.get(name)
        if not value and (value is None or value == "" or value == []):
            return absent_ok
        return check(value)

    return test_property


def _list_counter(where: ActivityPredicate) -> Callable[[Sequence[Activity]], int]:
    def count(items: Sequence[Activity]) -> int:
        n = 0
        for activity in items:
            if where(activity):
                n += 1
        return n

    return count


def _property_counter(name: str, op: str, expected: Any) -> Callable[[Sequence[Activity]], int] | None:
    """For the commonest `where` tests (``eq`` a scalar, ``contains`` text), a function that
    counts the activities of a list passing it, with the test in its loop: one call a list
    instead of two an activity (the counts run for every contact). Same answers as
    ``_activity_field``: a missing value (None, "", []) passes neither test."""
    if op == "contains" and isinstance(expected, str) and expected:

        def count_containing(items: Sequence[Activity]) -> int:
            n = 0
            for activity in items:
                value = activity.properties.get(name)
                if (type(value) is str or isinstance(value, list)) and expected in value:
                    n += 1
            return n

        return count_containing
    if op == "eq" and isinstance(expected, (str, int, float)) and expected != "":

        def count_equal(items: Sequence[Activity]) -> int:
            n = 0
            for activity in items:
                value = activity.properties.get(name)
                if value == expected or (isinstance(value, list) and expected in value):
                    n += 1
            return n

        return count_equal
    return None


def _activity_field(name: str, check: Callable[[Any], bool], absent_ok: bool) -> ActivityPredicate:
    """An activity predicate from one field's test: ``owner_id`` or a ``properties`` key."""
    if name == "owner_id":

        def test_owner(activity: Activity) -> bool:
            value = activity.owner_id
            if not value and (value is None or value == "" or value == []):
                return absent_ok
            return check(value)

        return test_owner

    def test_property(activity: Activity) -> bool:
        value = activity.properties.get(name)
        if not value and (value is None or value == "" or value == []):
            return absent_ok
        return check(value)

    return test_property
