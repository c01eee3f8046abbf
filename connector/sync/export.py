"""``leadsync export`` (CONTRACT §7): the state store's records as canonical JSON Lines files.

``DIR/contacts.jsonl`` (each contact as leadsync last read it, with what leadsync last wrote to it
applied), ``DIR/activities.jsonl`` and ``DIR/owners.jsonl`` (§1), for ``evaluate``, ``report`` or
any other tool to run offline on a copy of production. Contacts and owners come in id order, the
activities contact by contact in that order (each contact's as stored). Streamed: a batch of
contacts in memory at a time.

The folder is written whole or not at all: the files go into a new hidden folder beside ``DIR``,
which is then renamed to ``DIR``. An earlier export in ``DIR`` is moved aside first and removed
after; a folder holding anything else is refused.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import orjson

from leadsync.errors import InputError, Problem
from leadsync.records import activity_to_json, contact_to_json, owner_to_json
from leadsync.sync.state import StateStore
from leadsync.sync.stored import stored_owners, stored_records

__all__ = ["FILES", "Exported", "check_out", "export_records", "run_export"]

FILES = ("contacts.jsonl", "activities.jsonl", "owners.jsonl")


@dataclass(frozen=True)
class Exported:
    """How many records of each kind an export wrote."""

    contacts: int
    activities: int
    owners: int

    def summary(self, out: Path) -> str:
        return (
            f"{self.contacts:,} contacts, {self.activities:,} activities, {self.owners:,} owners "
            f"written to {out}"
        )


def _line(handle: IO[bytes], obj: object) -> None:
    handle.write(orjson.dumps(obj))
    handle.write(b"\n")


def check_out(out: Path) -> None:
    """Refuse an ``--out`` that is a file, or a folder holding more than an earlier export."""
    if out.exists() and not out.is_dir():
        raise InputError([Problem("--out", 0, f"{out} is a file; name a folder for the three files")])
    if out.is_dir():
        others = sorted(p.name for p in out.iterdir() if p.name not in FILES)
        if others:
            shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
            text = f"{out} holds other files ({shown}); name a new or empty folder, or an earlier export's"
            raise InputError([Problem("--out", 0, text)])


def _write_files(store: StateStore, connection: str, known: frozenset[str], folder: Path) -> Exported:
    n_contacts = n_activities = 0
    with (
        open(folder / "contacts.jsonl", "wb") as contacts,
        open(folder / "activities.jsonl", "wb") as activities,
    ):
        for contact, its_activities in stored_records(store, connection, known):
            _line(contacts, contact_to_json(contact))
            n_contacts += 1
            for activity in its_activities:
                _line(activities, activity_to_json(activity))
            n_activities += len(its_activities)
        for handle in (contacts, activities):
            handle.flush()
            os.fsync(handle.fileno())
    owners = stored_owners(store, connection)
    with open(folder / "owners.jsonl", "wb") as handle:
        for owner in owners:
            _line(handle, owner_to_json(owner))
        handle.flush()
        os.fsync(handle.fileno())
    return Exported(n_contacts, n_activities, len(owners))


def _put_in_place(folder: Path, out: Path) -> None:
    """``folder`` becomes ``out``; an earlier export there is moved aside, then removed."""
    if not out.exists():
        os.rename(folder, out)
        return
    aside = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    os.rename(out, aside / out.name)
    os.rename(folder, out)
    shutil.rmtree(aside, ignore_errors=True)


def export_records(store: StateStore, connection: str, known: frozenset[str], out: Path) -> Exported:
    """Write the three files of ``connection``'s records into the folder ``out`` (whole or not at
    all). ``known``: the activity types the connection's rules declare (others are left out)."""
    check_out(out)
    parent = out.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=parent))
    try:
        exported = _write_files(store, connection, known, folder)
        folder.chmod(0o755)  # mkdtemp's folder is the user's only; an export is a plain folder
        _put_in_place(folder, out)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return exported


def run_export(config: Path | None, connection: str | None, out: Path) -> Exported:
    """The command: the connection of the config, its state store opened read-only, its rules'
    activity types (ConfigError, InputError for a bad config, rules or ``--out``)."""
    from leadsync.commands import find_config
    from leadsync.logging import configure_logging
    from leadsync.rules.loader import load_rules
    from leadsync.settings import load_settings
    from leadsync.sync.opening import open_state

    check_out(out)
    settings = load_settings(find_config(config))
    configure_logging(settings.log.level, settings.log.format)
    conn = settings.connection(connection)
    rules = load_rules(conn.rules)
    store = open_state(settings.state, settings.state_at, read_only=True)
    try:
        return export_records(store, conn.name, rules.activity_types, out)
    finally:
        store.close()
