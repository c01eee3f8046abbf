"""Reading canonical records from JSON Lines files, every bad line named as FILE:LINE.

Each line is parsed by ``parse_contact``, ``parse_owner`` or an ``activity_parser``, which raise
``BadRecord`` naming what is wrong; ``leadsync.records`` reads single JSON objects with the same
parsers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import orjson

from leadsync.errors import Problem, RecordsError
from leadsync.model import (
    CONTACT_FIELDS,
    CONTACT_TEXT_FIELDS,
    CONTACT_TIME_FIELDS,
    STAGES,
    Activity,
    Contact,
    Owner,
)
from leadsync.timeutil import EARLIEST, LATEST, parse_iso_ts

__all__ = [
    "MAX_PROBLEMS",
    "BadRecord",
    "Problems",
    "Projector",
    "activity_parser",
    "careful_lines",
    "load_activities",
    "load_contacts",
    "load_owners",
    "open_records",
    "parse_contact",
    "parse_owner",
    "read_contacts",
    "unique_contacts",
]

MAX_PROBLEMS = 50  # a file that is wrong throughout would otherwise print a screen per line

T = TypeVar("T")

_CONTACT_KEYS = frozenset((*CONTACT_FIELDS, "properties"))
_ACTIVITY_KEYS = frozenset(("id", "contact_id", "type", "at", "owner_id", "properties"))
_OWNER_KEYS = frozenset(("id", "name", "email", "active", "teams", "capacity_per_day"))
_EMPTY: dict[str, Any] = {}  # the properties of an activity that has none, shared
_ABSENT = object()  # a key missing from `properties` (None is a value)


class BadRecord(ValueError):
    """One field of one record is wrong."""


class Problems:
    """The bad lines of one file: the first ``MAX_PROBLEMS`` named, the rest counted."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.problems: list[Problem] = []
        self.bad_lines = 0

    def add(self, number: int, message: str) -> None:
        self.bad_lines += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(self.name, number, message))

    def raise_any(self) -> None:
        """Raise ``RecordsError`` when a line was bad (with "... and N more" past the limit)."""
        problems = self.problems
        if problems:
            if self.bad_lines > len(problems):
                last = problems[-1]
                more = self.bad_lines - len(problems)
                problems.append(Problem(self.name, last.line, f"... and {more} more bad lines after this"))
            raise RecordsError(problems)


def open_records(path: Path) -> BinaryIO:
    """``path`` opened for reading; a ``RecordsError`` naming it when it cannot be."""
    try:
        return path.open("rb")
    except OSError as exc:
        raise RecordsError([Problem(str(path), 0, f"cannot read the file: {exc.strerror}")]) from None


class _Message(str):
    """What is wrong with a line (its own class: a record is never taken for one)."""


_BLANK = object()


def judge_line(number: int, raw: bytes, build: Callable[[Any], T]) -> T | _Message | object:
    """One line's record, or the message saying what is wrong with it, or ``_BLANK``.

    The loop is the hot path of a large run, so blank lines are found only when JSON fails.
    """
    try:
        return build(orjson.loads(raw))
    except orjson.JSONDecodeError as exc:
        if not raw.strip():
            return _BLANK
        if number == 1 and raw.lstrip().startswith(b"["):
            return _Message("a JSON array; write one JSON object per line (JSON Lines)")
        return _Message(f"not valid JSON ({exc.msg}); each line must be one JSON object")
    except BadRecord as exc:
        return _Message(str(exc))


def careful_lines(
    lines: Iterable[tuple[int, bytes]], build: Callable[[Any], T], problems: Problems
) -> Iterator[tuple[int, T]]:
    """(line number, record) for each good line; each bad one is added to ``problems``."""
    for number, raw in lines:
        judged = judge_line(number, raw, build)
        if judged is _BLANK:
            continue
        if isinstance(judged, _Message):
            problems.add(number, judged)
        elif not problems.problems:
            yield number, judged  # type: ignore[misc]


def _read(path: Path, build: Callable[[Any], T]) -> Iterator[tuple[int, T]]:
    """Yield (line number, record) for each non-blank line; raise RecordsError at the end.

    ``build`` gets whatever JSON value the line holds and raises ``BadRecord`` for anything wrong.
    """
    problems = Problems(str(path))
    with open_records(path) as handle:
        yield from careful_lines(enumerate(handle, start=1), build, problems)
    problems.raise_any()


def _object(obj: Any) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise BadRecord(f"expected a JSON object, got {type(obj).__name__}")
    return obj


def _unknown_keys(obj: dict[str, Any], allowed: frozenset[str], hint: str) -> None:
    unknown = sorted(set(obj) - allowed)
    if unknown:
        names = ", ".join(f"`{k}`" for k in unknown)
        raise BadRecord(f"unknown field {names}; {hint}")


def _string(obj: dict[str, Any], key: str, required: bool = False) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise BadRecord(f"`{key}` is required")
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and key.endswith("id"):
        return str(value)  # CRMs hand out numeric ids; they are still ids
    if not isinstance(value, str):
        raise BadRecord(f"`{key}` must be a string or null, got {_shown(value)}")
    if required and not value:
        raise BadRecord(f"`{key}` must not be empty")
    return value


def _shown(value: Any) -> str:
    """A value as JSON in a message (``repr`` for what JSON cannot hold: a 65-bit integer)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return repr(value)[:200]


def _time(obj: dict[str, Any], key: str, required: bool = False) -> datetime | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise BadRecord(f"`{key}` is required")
        return None
    try:
        return parse_iso_ts(value)
    except ValueError as exc:
        raise BadRecord(f"`{key}`: {exc}") from None


def _properties(obj: dict[str, Any]) -> dict[str, Any]:
    value = obj.get("properties")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRecord("`properties` must be a JSON object")
    return value


def parse_contact(obj: Any) -> Contact:
    """A contact from the JSON value of one line; ``BadRecord`` says what is wrong."""
    obj = _object(obj)
    _unknown_keys(obj, _CONTACT_KEYS, "put custom fields under `properties`")
    employees = obj.get("employees")
    if employees is not None and (
        isinstance(employees, bool)
        or not isinstance(employees, (int, float))
        or (isinstance(employees, float) and not math.isfinite(employees))  # nan, inf: a dict
        or employees != int(employees)
    ):
        raise BadRecord(f"`employees` must be a whole number or null, got {employees!r}")
    score = obj.get("score")
    if score is not None and (isinstance(score, bool) or not isinstance(score, (int, float))):
        raise BadRecord(f"`score` must be a number or null, got {score!r}")
    stage = obj.get("stage")
    if stage is not None and stage not in STAGES:
        raise BadRecord(f"`stage` must be one of {', '.join(STAGES)} or null, got {stage!r}")
    strings = {key: _string(obj, key) for key in CONTACT_TEXT_FIELDS}
    times = {key: _time(obj, key) for key in CONTACT_TIME_FIELDS}
    created_at = _time(obj, "created_at", required=True)
    assert created_at is not None
    return Contact(
        id=_string(obj, "id", required=True) or "",
        created_at=created_at,
        employees=None if employees is None else int(employees),
        stage=stage,
        score=score,
        properties=_properties(obj),
        **strings,  # type: ignore[arg-type]
        **times,  # type: ignore[arg-type]
    )


def parse_owner(obj: Any) -> Owner:
    """An owner from the JSON value of one line; ``BadRecord`` says what is wrong."""
    obj = _object(obj)
    _unknown_keys(obj, _OWNER_KEYS, f"an owner has only {', '.join(sorted(_OWNER_KEYS))}")
    active = obj.get("active", True)
    if active is None:
        active = True
    if not isinstance(active, bool):
        raise BadRecord(f"`active` must be true or false, got {active!r}")
    teams = obj.get("teams") or []
    if not isinstance(teams, list) or not all(isinstance(t, str) for t in teams):
        raise BadRecord("`teams` must be a list of strings")
    capacity = obj.get("capacity_per_day")
    if capacity is not None and (isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 0):
        raise BadRecord(f"`capacity_per_day` must be a whole number >= 0 or null, got {capacity!r}")
    return Owner(
        id=_string(obj, "id", required=True) or "",
        name=_string(obj, "name"),
        email=_string(obj, "email"),
        active=active,
        teams=teams,
        capacity_per_day=capacity,
    )


def read_contacts(path: Path) -> Iterator[tuple[int, Contact]]:
    """(line number, contact) for each contact of a file; a ``RecordsError`` at the end naming
    every bad line. Repeated ids are the caller's to find (``load_contacts`` does)."""
    return _read(path, parse_contact)


def load_contacts(path: Path) -> list[Contact]:
    """All contacts of a file; a repeated id is an error naming both lines."""
    return unique_contacts(str(path), _read(path, parse_contact))


def unique_contacts(name: str, numbered: Iterable[tuple[int, Contact]]) -> list[Contact]:
    """The contacts of (line number, contact) pairs; a repeated id is an error naming both
    lines of file ``name``."""
    seen: dict[str, int] = {}
    contacts: list[Contact] = []
    problems: list[Problem] = []
    for number, contact in numbered:
        first = seen.setdefault(contact.id, number)
        if first != number:
            problems.append(Problem(name, number, f"contact `{contact.id}` is already on line {first}"))
        else:
            contacts.append(contact)
    if problems:
        raise RecordsError(problems[:MAX_PROBLEMS])
    return contacts


def load_owners(path: Path) -> dict[str, Owner]:
    """All owners of a file by id; a repeated id is an error naming both lines."""
    seen: dict[str, int] = {}
    owners: dict[str, Owner] = {}
    problems: list[Problem] = []
    for number, owner in _read(path, parse_owner):
        first = seen.setdefault(owner.id, number)
        if first != number:
            problems.append(Problem(str(path), number, f"owner `{owner.id}` is already on line {first}"))
        owners[owner.id] = owner
    if problems:
        raise RecordsError(problems[:MAX_PROBLEMS])
    return owners


class Projector:
    """``properties`` cut down to the keys the rules read (``keep``; None keeps them all).

    Activities mostly repeat a few values (``{"url": "/pricing"}``): equal projections share
    one read-only dict, found by the tuple of the wanted keys' values (``absent`` for a
    missing key; built in C, ``tuple(map(props.get, wanted, absent))``: it runs for every
    activity of a run).
    """

    def __init__(self, keep: frozenset[str] | None) -> None:
        self.keep = keep
        self.wanted = tuple(sorted(keep)) if keep is not None else ()
        self.absent = (_ABSENT,) * len(self.wanted)
        self.shared: dict[tuple[Any, ...], dict[str, Any]] = {}

    def __call__(self, props: dict[str, Any] | None) -> dict[str, Any]:
        if not props:
            return _EMPTY
        if self.keep is None:
            return props
        return self.find(tuple(map(props.get, self.wanted, self.absent)))

    def find(self, values: tuple[Any, ...]) -> dict[str, Any]:
        """The shared projection with these values of ``wanted``."""
        try:
            found = self.shared.get(values)
        except TypeError:  # an unhashable value (a list, an object): its own copy
            return self._build(values)
        if found is None:
            found = self.shared[values] = self._build(values)
        return found

    def _build(self, values: tuple[Any, ...]) -> dict[str, Any]:
        items = {k: v for k, v in zip(self.wanted, values, strict=True) if v is not _ABSENT}
        return items or _EMPTY


def activity_parser(
    known_types: frozenset[str],
    keep: frozenset[str] | None = None,
    contact_ids: dict[str, str] | None = None,
) -> Callable[[dict[str, Any]], Activity]:
    """A parser for activity objects; ``keep`` limits ``properties`` to the keys rules read.

    Well-formed lines take a fast path (millions of them are read per run); anything else goes
    through the careful path that names what is wrong.
    """
    # One string object per type, owner and contact, shared by every activity that names it.
    types = {t: t for t in known_types}
    owners: dict[str, str] = {}
    contacts = contact_ids if contact_ids is not None else {}
    fromisoformat = datetime.fromisoformat

    project = Projector(keep)

    def careful(obj: Any) -> Activity:
        obj = _object(obj)
        _unknown_keys(obj, _ACTIVITY_KEYS, "put other fields under `properties`")
        kind = _string(obj, "type", required=True) or ""
        if kind not in known_types:
            raise BadRecord(
                f"unknown activity type `{kind}`; declare it under `activity_types` in the rules"
                " file (as `contact` or `sales`)"
            )
        at = _time(obj, "at", required=True)
        assert at is not None
        owner = _string(obj, "owner_id")
        cid = _string(obj, "contact_id", required=True) or ""
        return Activity(
            _string(obj, "id", required=True) or "",
            contacts.get(cid, cid),
            types[kind],
            at,
            owner if owner is None else owners.setdefault(owner, owner),
            project(_properties(obj)),
        )

    def build(obj: Any) -> Activity:
        # The fast path: any surprise (a missing key, a wrong type) goes to `careful`, which
        # either accepts the line after all or names what is wrong with it.
        try:
            aid = obj["id"]
            cid = obj["contact_id"]
            kind = types[obj["type"]]
            ts = fromisoformat(obj["at"])
        except (KeyError, TypeError, ValueError, IndexError):
            return careful(obj)
        owner = obj.get("owner_id")
        props = obj.get("properties")
        if (
            ts.tzinfo is None
            or not EARLIEST <= ts < LATEST  # careful() says why (timeutil.in_range)
            or type(aid) is not str
            or type(cid) is not str
            or not aid
            or not cid
            or not obj.keys() <= _ACTIVITY_KEYS
            or (owner is not None and type(owner) is not str)
            or (props is not None and type(props) is not dict)
        ):
            return careful(obj)
        if ts.tzinfo is not UTC:
            ts = ts.astimezone(UTC)
        if owner is not None:
            owner = owners.setdefault(owner, owner)
        return Activity(aid, contacts.get(cid, cid), kind, ts, owner, project(props))

    return build


def load_activities(
    path: Path,
    known_types: frozenset[str],
    keep_properties: frozenset[str] | None = None,
    contact_ids: dict[str, str] | None = None,
) -> Iterator[Activity]:
    """Every activity of a file, in file order. Types must be built-in or declared in the rules.

    To save memory on large files: ``keep_properties`` drops the other keys of ``properties``,
    and ``contact_ids`` (id to itself) lets activities share their contact's id string.
    """
    for _, activity in _read(path, activity_parser(known_types, keep_properties, contact_ids)):
        yield activity
