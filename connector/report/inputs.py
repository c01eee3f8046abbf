"""Where the report's contacts come from, and the one place it asks the engine to decide them.

Two sources give the same records (CONTRACT §6): canonical JSON Lines files, as ``evaluate``
reads them, and the state store, each contact and its activities as leadsync last read them and
the owners as last read (read-only, like ``status``).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from leadsync.jsonl import load_activities, load_contacts, load_owners
from leadsync.model import Activity, Contact, Owner
from leadsync.report.tally import ReportBuilder
from leadsync.rules.compiled import Rules
from leadsync.rules.decide import decide_all
from leadsync.rules.history import History

if TYPE_CHECKING:
    from leadsync.sync.state import StateStore

__all__ = ["Records", "decide_into", "records_from_files", "records_from_store"]


@dataclass
class Records:
    """A run's input: contacts, each one's activities (asked for once), and the owners."""

    contacts: list[Contact]
    activities_of: Callable[[str], Iterable[Activity]]
    owners: Mapping[str, Owner] | None


def decide_into(builder: ReportBuilder, rules: Rules, records: Records, now: datetime) -> None:
    """Decide every contact at ``now`` exactly as ``evaluate`` does and count each one.

    The only glue between the report and the engine: when ``evaluate`` streams contact by contact,
    this function feeds ``builder.add`` from that stream instead.
    """
    histories: dict[str, History] = {}
    by_id = {c.id: c for c in records.contacts}
    enabled = gc.isenabled()
    gc.disable()  # millions of small objects and no cycles (see leadsync.evaluate)
    try:
        decisions = decide_all(
            rules, records.contacts, records.activities_of, records.owners, now, histories=histories
        )
        for decision in decisions:
            cid = decision.contact_id
            builder.add(by_id.pop(cid), histories.pop(cid), decision)
    finally:
        if enabled:
            gc.enable()


def records_from_files(
    rules: Rules, contacts_path: Path, activities_path: Path, owners_path: Path | None
) -> Records:
    """The canonical records of the files, loaded as ``evaluate`` loads them (bad input: InputError)."""
    contacts = load_contacts(contacts_path)
    owners = load_owners(owners_path) if owners_path else None
    grouped: dict[str, list[Activity]] = {c.id: [] for c in contacts}
    ids = {c.id: c.id for c in contacts}
    for activity in load_activities(activities_path, rules.activity_types, rules.activity_fields, ids):
        bucket = grouped.get(activity.contact_id)
        if bucket is not None:  # an activity of an unknown contact is skipped, as evaluate does
            bucket.append(activity)

    def activities_of(contact_id: str) -> Iterator[Activity]:
        yield from grouped.pop(contact_id, ())

    return Records(contacts, activities_of, owners)


def records_from_store(store: StateStore, connection: str, rules: Rules) -> Records:
    """The records the state store holds for ``connection``: each contact as leadsync last read it
    (with the writes the CRM took from it applied), its activities as last read, and the owners as
    last read (none stored: nobody is routed, as without an owners file)."""
    from leadsync.sync.stored import stored_owners, stored_records

    contacts: list[Contact] = []
    grouped: dict[str, list[Activity]] = {}
    for contact, activities in stored_records(store, connection, rules.activity_types):
        contacts.append(contact)
        grouped[contact.id] = activities

    def activities_of(contact_id: str) -> Iterator[Activity]:
        yield from grouped.pop(contact_id, ())

    owners = stored_owners(store, connection)
    return Records(contacts, activities_of, {o.id: o for o in owners} or None)
