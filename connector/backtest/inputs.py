"""The backtest's input: contacts and activities (files or the state store), and the outcomes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from pathlib import Path
from typing import Any

from leadsync.errors import Problem, RecordsError
from leadsync.inputs.activities import group_by_contact, read_activities
from leadsync.jsonl import BadRecord, Problems, careful_lines, load_contacts, load_owners, open_records
from leadsync.model import Activity
from leadsync.report.inputs import Records
from leadsync.rules.compiled import Rules
from leadsync.timeutil import parse_iso_ts

__all__ = ["Outcome", "load_outcomes", "records_from_files", "won_from_store"]


@dataclass(frozen=True, slots=True)
class Outcome:
    outcome: str  # "won" or "lost"
    at: datetime


def _outcome(obj: Any) -> tuple[str, Outcome]:
    if not isinstance(obj, dict):
        raise BadRecord(f"expected a JSON object, got {type(obj).__name__}")
    unknown = sorted(set(obj) - {"contact_id", "outcome", "at"})
    if unknown:
        raise BadRecord(
            f"unknown field {', '.join(f'`{k}`' for k in unknown)}; an outcome has contact_id, outcome, at"
        )
    cid = obj.get("contact_id")
    if not isinstance(cid, str) or not cid:
        raise BadRecord("`contact_id` is required (a string)")
    outcome = obj.get("outcome")
    if outcome not in ("won", "lost"):
        raise BadRecord(f"`outcome` must be won or lost, got {outcome!r}")
    try:
        at = parse_iso_ts(obj.get("at"))
    except ValueError as exc:
        raise BadRecord(f"`at`: {exc}") from None
    return cid, Outcome(outcome, at)


def load_outcomes(path: Path) -> dict[str, Outcome]:
    """``{"contact_id", "outcome": "won"|"lost", "at"}`` per line; a contact at most once."""
    problems = Problems(str(path))
    seen: dict[str, int] = {}
    out: dict[str, Outcome] = {}
    with open_records(path) as handle:
        for number, (cid, outcome) in careful_lines(enumerate(handle, start=1), _outcome, problems):
            first = seen.setdefault(cid, number)
            if first != number:
                problems.add(
                    number, f"contact `{cid}` already has an outcome at line {first}; one per contact"
                )
            out[cid] = outcome
    problems.raise_any()
    return out


def records_from_files(
    rules: tuple[Rules, ...], contacts_path: Path, activities_path: Path, owners_path: Path | None
) -> tuple[Records, int]:
    """The records as ``evaluate`` reads them (activity types and fields of every playbook), and
    how many activities named no known contact (skipped)."""
    contacts = load_contacts(contacts_path)
    owners = load_owners(owners_path) if owners_path else None
    types = frozenset().union(*(r.activity_types for r in rules))
    fields = frozenset().union(*(r.activity_fields for r in rules))
    batches = read_activities(activities_path, types, fields)
    grouped, skipped = group_by_contact((c.id for c in contacts), chain.from_iterable(batches))

    def activities_of(contact_id: str) -> Iterator[Activity]:
        yield from grouped.pop(contact_id, ())

    return Records(contacts, activities_of, owners), skipped


def won_from_store(records: Records, now: datetime) -> dict[str, Outcome]:
    """With ``--config``: a contact now in ``customer`` is won, when its stage changed (else now)."""
    return {
        c.id: Outcome("won", c.stage_changed_at or now) for c in records.contacts if c.stage == "customer"
    }


def bad_flag(flag: str, message: str) -> RecordsError:
    return RecordsError([Problem(flag, 0, message)])
