"""Activities from JSON Lines: a chunk at a time decoded in C, each odd chunk line by line.

The fast path accepts a chunk only when every line of it is one the careful path
(``leadsync.jsonl.activity_parser``) accepts *with the same result*; anything else (a bad line, a
blank line, a number or timestamp the two decoders read differently) sends the whole chunk down
the careful path, which names each bad line as FILE:LINE exactly as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC
from functools import partial
from operator import attrgetter, is_not
from pathlib import Path
from typing import BinaryIO

import msgspec

from leadsync.jsonl import Problems, Projector, activity_parser, careful_lines, open_records
from leadsync.model import Activity
from leadsync.timeutil import EARLIEST, LATEST

__all__ = [
    "CHUNK_BYTES",
    "chunks",
    "fast_activities",
    "group_by_contact",
    "line_count",
    "read_activities",
    "suspect",
]

CHUNK_BYTES = 1 << 22

# What msgspec reads differently from the careful path (orjson and datetime.fromisoformat):
# integers past 64 bits (orjson: a float; msgspec: an int), timestamps with more than 6 digits
# of fraction (msgspec rounds, fromisoformat truncates) or a lowercase `t`/`z` (msgspec takes
# them, fromisoformat refuses). Any of these anywhere in a chunk, even inside a string, sends it
# down the careful path. Searched for with every digit turned into `0` (a regular expression
# over 4 MB costs more than decoding it).
_ZEROS = bytes.maketrans(b"123456789", b"000000000")
_SUSPECTS = (b"0" * 19, b":00.0000000", b"0t0", b"0z")


def suspect(chunk: bytes) -> bool:
    zeroed = chunk.translate(_ZEROS)
    return any(s in zeroed for s in _SUSPECTS)


_NOT_UTC = partial(is_not, UTC)
_AT = attrgetter("at")
_TZ = attrgetter("at.tzinfo")


def chunks(handle: BinaryIO, size: int = CHUNK_BYTES) -> Iterator[tuple[int, bytes]]:
    """(number of its first line, bytes of whole lines) over a file, about ``size`` at a time."""
    number = 1
    while block := handle.read(size):
        if not block.endswith(b"\n"):
            block += handle.readline()
        yield number, block
        number += block.count(b"\n")


def line_count(chunk: bytes) -> int:
    return chunk.count(b"\n") + (not chunk.endswith(b"\n"))


class _Strings:
    """One string object per activity type and owner id, shared by every activity naming it
    (as on the careful path): fewer objects held, and the few that are stay in the cache."""

    def __init__(self, known_types: frozenset[str]) -> None:
        self.types = {t: t for t in known_types}
        self.owners: dict[str, str] = {}


def fast_activities(
    chunk: bytes,
    decode: Callable[[bytes], list[Activity]],
    strings: _Strings,
    project: Projector,
) -> list[Activity] | None:
    """Every line of ``chunk`` as an activity, or None when the careful path must read it."""
    if suspect(chunk):
        return None
    try:
        acts = decode(chunk)
    except (msgspec.DecodeError, RecursionError):
        return None
    if len(acts) != line_count(chunk):  # a blank line (skipped by decode_lines)
        return None
    if not acts:
        return acts
    # Non-empty ids and a zone on every timestamp: ``Activity``'s constraints, checked by decode.
    if any(map(_NOT_UTC, map(_TZ, acts))):
        try:
            for a in acts:
                if a.at.tzinfo is not UTC:
                    a.at = a.at.astimezone(UTC)
        except OverflowError:
            return None
    if min(map(_AT, acts)) < EARLIEST or max(map(_AT, acts)) >= LATEST:
        return None
    return acts if _settle(acts, strings, project) else None


def _settle(acts: list[Activity], strings: _Strings, project: Projector) -> bool:
    """Share the type and owner strings and the projected ``properties`` (equal projections
    share one dict, as on the careful path: held by the million, unshared dicts doubled
    evaluate's peak RSS), in one loop; False at an unknown type."""
    types, owners = strings.types, strings.owners
    wanted, absent, shared, find = project.wanted, project.absent, project.shared, project.find
    keep = project.keep is not None
    for a in acts:
        kind = types.get(a.type)
        if kind is None:
            return False
        a.type = kind
        owner = a.owner_id
        if owner is not None:
            a.owner_id = owners.setdefault(owner, owner)
        props = a.properties
        if props and keep:
            values = tuple(map(props.get, wanted, absent))
            try:
                found = shared.get(values)
            except TypeError:
                found = None
            a.properties = found if found is not None else find(values)
    return True


def read_activities(
    path: Path,
    known_types: frozenset[str],
    keep: frozenset[str] | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> Iterator[list[Activity]]:
    """The activities of a file in file order, a chunk at a time; a ``RecordsError`` at the end
    naming every bad line (as ``leadsync.jsonl.load_activities``)."""
    problems = Problems(str(path))
    careful = activity_parser(known_types, keep)
    project = Projector(keep)
    strings = _Strings(known_types)
    decode = msgspec.json.Decoder(Activity).decode_lines
    with open_records(path) as handle:
        for number, chunk in chunks(handle, chunk_bytes):
            acts = fast_activities(chunk, decode, strings, project)
            if acts is None:
                lines = chunk.split(b"\n")
                if chunk.endswith(b"\n"):
                    lines.pop()
                acts = [a for _, a in careful_lines(enumerate(lines, number), careful, problems)]
            if acts and not problems.problems:
                yield acts
    problems.raise_any()


def group_by_contact(
    ids: Iterable[str], activities: Iterable[Activity]
) -> tuple[dict[str, list[Activity]], int]:
    """Each contact's activities (in the order read), and how many named no contact of ``ids``."""
    grouped: dict[str, list[Activity]] = {cid: [] for cid in ids}
    skipped = 0
    get = grouped.get
    for activity in activities:
        bucket = get(activity.contact_id)
        if bucket is None:
            skipped += 1
        else:
            bucket.append(activity)
    return grouped, skipped
