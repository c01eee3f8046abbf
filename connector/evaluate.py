"""``leadsync evaluate``: decide a set of canonical records offline (no CRM, no state)."""

from __future__ import annotations

import gc
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO

import orjson

from leadsync.decision import Decision
from leadsync.inputs.activities import read_activities
from leadsync.jsonl import load_contacts, load_owners
from leadsync.model import Activity, Owner
from leadsync.rules.compiled import Rules
from leadsync.rules.decide import RunStats, decide_all

__all__ = ["Evaluation", "evaluate", "write_decisions"]


@dataclass
class Evaluation:
    """The decisions of one offline run and what it counted on the way."""

    decisions: list[Decision]
    skipped_activities: int = 0
    unknown_reasons: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for standard error: decisions by stage, and anything skipped or unknown."""
        stages: dict[str, int] = {}
        changed = 0
        for d in self.decisions:
            stages[d.stage] = stages.get(d.stage, 0) + 1
            changed += bool(d.changed)
        parts = [f"{len(self.decisions)} contacts decided ({changed} changed)"]
        if stages:
            parts.append(", ".join(f"{n} {s}" for s, n in sorted(stages.items())))
        if self.skipped_activities:
            parts.append(f"{self.skipped_activities} activities skipped (unknown contact)")
        if self.unknown_reasons:
            values = ", ".join(f"{v!r} ({n})" for v, n in sorted(self.unknown_reasons.items()))
            parts.append(f"reasons matching no code: {values}")
        return "; ".join(parts)


def evaluate(
    rules: Rules,
    contacts_path: Path,
    activities_path: Path,
    owners_path: Path | None,
    now: datetime,
    explain: str | None = None,
) -> Evaluation:
    """Load every input (refusing bad ones before deciding anything) and decide."""
    # Millions of small objects and no cycles: the cyclic GC would rescan them all, again and
    # again, while they are loaded (it doubled the load time of the benchmark). Off meanwhile.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _evaluate(rules, contacts_path, activities_path, owners_path, now, explain)
    finally:
        if enabled:
            gc.enable()


def _evaluate(
    rules: Rules,
    contacts_path: Path,
    activities_path: Path,
    owners_path: Path | None,
    now: datetime,
    explain: str | None,
) -> Evaluation:
    contacts = load_contacts(contacts_path)
    owners: dict[str, Owner] | None = load_owners(owners_path) if owners_path else None
    grouped: dict[str, list[Activity]] = {c.id: [] for c in contacts}
    skipped = 0
    for batch in read_activities(activities_path, rules.activity_types, rules.activity_fields):
        get = grouped.get
        for activity in batch:
            bucket = get(activity.contact_id)
            if bucket is None:
                skipped += 1
            else:
                bucket.append(activity)

    def activities_of(contact_id: str) -> Iterator[Activity]:
        # Hand each list over once and drop it, so memory falls as contacts are decided.
        yield from grouped.pop(contact_id, ())

    stats = RunStats()
    notes: list[str] = []
    decisions = decide_all(
        rules, contacts, activities_of, owners, now, explain=explain, notes=notes, stats=stats
    )
    return Evaluation(decisions, skipped, stats.unknown_reasons, notes)


def write_decisions(decisions: list[Decision], out: Path | None, stdout: IO[bytes]) -> None:
    """JSON Lines to ``out`` (atomically: a failed run leaves no half file) or to stdout."""
    lines = b"".join(orjson.dumps(d.to_json()) + b"\n" for d in decisions)
    if out is None:
        stdout.write(lines)
        stdout.flush()
        return
    directory = out.resolve().parent
    if str(out) == os.devnull:
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(lines)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
