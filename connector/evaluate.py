"""``leadsync evaluate``: decide a set of canonical records offline (no CRM, no state).

An input that fits the memory budget is read whole and decided by ``decide_all``; a larger one is
partitioned by contact on disk (``leadsync.inputs.partitioned``), so memory stays flat however
many contacts there are. Both give the same bytes.
"""

from __future__ import annotations

import gc
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain
from pathlib import Path
from typing import IO

import orjson

from leadsync.decision import Decision
from leadsync.inputs.activities import group_by_contact, read_activities
from leadsync.inputs.contacts import load_contacts
from leadsync.inputs.partitioned import decide_partitioned
from leadsync.jsonl import load_owners
from leadsync.model import Activity, Owner
from leadsync.rules.compiled import Rules
from leadsync.rules.decide import RunStats, decide_all

__all__ = ["PARTITION_BYTES", "Evaluation", "evaluate", "output"]

# Input bytes (contacts and activities files) decided in memory at once; larger inputs are split
# into partitions of about this size. Decoded, a byte of input takes about 3 bytes of memory.
PARTITION_BYTES = int(os.environ.get("LEADSYNC_EVALUATE_PARTITION_MB", "512")) << 20
_MAX_PARTITIONS = 250  # three files open per partition


@dataclass
class Evaluation:
    """What one offline run decided and counted on the way (the decisions went to ``write``)."""

    decided: int = 0
    changed: int = 0
    stages: dict[str, int] = field(default_factory=dict)
    explained: Decision | None = None
    skipped_activities: int = 0
    unknown_reasons: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    explain: str | None = None

    def tally(self, d: Decision) -> None:
        self.decided += 1
        self.changed += bool(d.changed)
        self.stages[d.stage] = self.stages.get(d.stage, 0) + 1
        if d.contact_id == self.explain:
            self.explained = d

    def summary(self) -> str:
        """One line for standard error: decisions by stage, and anything skipped or unknown."""
        parts = [f"{self.decided} contacts decided ({self.changed} changed)"]
        if self.stages:
            parts.append(", ".join(f"{n} {s}" for s, n in sorted(self.stages.items())))
        if self.skipped_activities:
            parts.append(f"{self.skipped_activities} activities skipped (unknown contact)")
        if self.unknown_reasons:
            values = ", ".join(f"{v!r} ({n})" for v, n in sorted(self.unknown_reasons.items()))
            parts.append(f"reasons matching no code: {values}")
        return "; ".join(parts)


def partitions(contacts_path: Path, activities_path: Path, budget: int = PARTITION_BYTES) -> int:
    """How many partitions the inputs need to fit ``budget`` each (1: all in memory)."""
    size = 0
    for path in (contacts_path, activities_path):
        try:
            stat = path.stat()
        except OSError:
            continue  # reading it will say what is wrong
        # A pipe's size is unknown: partitioned, in case it is large.
        size += stat.st_size if path.is_file() else 16 * budget
    return max(1, min(_MAX_PARTITIONS, math.ceil(size / max(1, budget))))


def evaluate(
    rules: Rules,
    contacts_path: Path,
    activities_path: Path,
    owners_path: Path | None,
    now: datetime,
    explain: str | None = None,
    write: Callable[[bytes], object] | None = None,
    budget: int = PARTITION_BYTES,
) -> Evaluation:
    """Check every input (refusing bad ones before writing anything), decide, ``write`` the
    decisions as JSON lines in order of id."""
    # Millions of small objects and no cycles: the cyclic GC would rescan them all, again and
    # again, while they are loaded. Off meanwhile.
    enabled = gc.isenabled()
    gc.disable()
    result = Evaluation(explain=explain)
    stats = RunStats(result.unknown_reasons)
    try:
        count = partitions(contacts_path, activities_path, budget)
        if count > 1:
            result.skipped_activities = decide_partitioned(
                rules,
                contacts_path,
                activities_path,
                owners_path,
                now,
                count,
                (explain, result.notes),
                stats,
                result.tally,
                write,
            )
        else:
            _in_memory(rules, contacts_path, activities_path, owners_path, now, result, stats, write)
    finally:
        if enabled:
            gc.enable()
    return result


def _in_memory(
    rules: Rules,
    contacts_path: Path,
    activities_path: Path,
    owners_path: Path | None,
    now: datetime,
    result: Evaluation,
    stats: RunStats,
    write: Callable[[bytes], object] | None,
) -> None:
    contacts = load_contacts(contacts_path)
    owners: dict[str, Owner] | None = load_owners(owners_path) if owners_path else None
    batches = read_activities(activities_path, rules.activity_types, rules.activity_fields)
    grouped, result.skipped_activities = group_by_contact(
        (c.id for c in contacts), chain.from_iterable(batches)
    )

    def activities_of(contact_id: str) -> list[Activity]:
        # Hand each list over once and drop it, so memory falls as contacts are decided. (The
        # list itself, not a generator over it: ``History`` takes a list as it is.)
        return grouped.pop(contact_id, [])

    decisions = decide_all(
        rules, contacts, activities_of, owners, now, explain=result.explain, notes=result.notes, stats=stats
    )
    for d in decisions:
        result.tally(d)
    if write is not None:
        # `+ b"\n"`, not orjson's OPT_APPEND_NEWLINE: with it each held line keeps orjson's
        # first, larger buffer (shrunk in place), which doubled the peak RSS at 100,000 contacts.
        write(b"".join(orjson.dumps(d.to_json()) + b"\n" for d in decisions))


@contextmanager
def output(out: Path | None, stdout: IO[bytes]) -> Iterator[Callable[[bytes], object]]:
    """Where decisions go: ``out`` (atomically: a failed run leaves no file) or stdout."""
    if out is None:
        yield stdout.write
        stdout.flush()
        return
    if str(out) == os.devnull:
        yield len
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.resolve().parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle.write
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
