"""The state store's records of one connection, streamed in id order (``report --config``, ``export``).

Each contact is its snapshot's record (as leadsync last read it, with the writes the CRM took from
it applied) and its activities as last read; the owners are the owners as last read. One query,
read a batch of rows at a time, so memory stays flat however many contacts are stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadsync.model import Activity, Contact, Owner
from leadsync.records import contact_from_json
from leadsync.sync.loop import owners_from_store
from leadsync.sync.snapshot import stored_activity
from leadsync.sync.state import StateStore
from leadsync.sync.tables import ContactRow

__all__ = ["BATCH", "stored_owners", "stored_records"]

BATCH = 500  # rows fetched from the database at a time


def _by_id(s: Session) -> Any:
    """``ORDER BY contact_id`` in code-point order, as Python sorts ids (evaluate's order).

    SQLite compares text bytewise (UTF-8: code-point order); PostgreSQL by the database's locale
    unless told ``COLLATE "C"`` (bytewise)."""
    if s.get_bind().dialect.name == "postgresql":
        return ContactRow.contact_id.collate("C")
    return ContactRow.contact_id


def stored_records(
    store: StateStore, connection: str, known: frozenset[str]
) -> Iterator[tuple[Contact, list[Activity]]]:
    """Each stored contact of ``connection`` and its activities, in id order.

    An activity whose type ``known`` does not hold (the rules no longer declare it) is left out,
    as the sync's decisions from state leave it out.
    """
    with Session(store.engine) as s:
        q = (
            select(ContactRow.record, ContactRow.activities)
            .where(ContactRow.connection == connection)
            .order_by(_by_id(s))
            .execution_options(yield_per=BATCH)
        )
        for record, activities in s.execute(q):
            stored = (stored_activity(x, known) for x in activities)
            yield contact_from_json(record), [a for a in stored if a is not None]


def stored_owners(store: StateStore, connection: str) -> list[Owner]:
    """The owners as last read, in id order (none stored: an empty list)."""
    return sorted(owners_from_store(store, connection).values(), key=lambda o: o.id)
