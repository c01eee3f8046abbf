"""Contacts that stop being themselves: deleted in the CRM, or become another record.

Each function runs inside the caller's transaction and is idempotent (a page read again after a
crash applies it again to no effect).

- ``forget``: a contact deleted (or merged away) in the CRM. Its snapshot, written values and
  conflicts go; writes and tasks still waiting for it are dropped (the CRM would refuse them).
  Tasks already made keep their keys, so a contact that comes back (an undelete) gets none twice.
- ``move``: a contact that became another record — a converted Salesforce Lead and its Contact.
  Written values (what "manual changes win" compares with), task keys and conflicts move to the
  new id; the written stage does not (the conversion itself moved the stage, on purpose). The
  snapshot moves only if the new record has none; pending writes are dropped, since the new
  record is decided afresh in the same run. Its decision history moves too (one person's
  timeline); a forgotten contact's stays, under its id, until the retention deletes it.
- ``forget_unread``: after a full re-read (the CRM could no longer list deletions), every contact
  not read since it began is gone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from leadsync.sync.bulk import chunks
from leadsync.sync.tables import (
    ActionRow,
    ConflictRow,
    ContactRow,
    CursorRow,
    HistoryRow,
    OutboxRow,
    WrittenRow,
)

__all__ = ["REREAD", "finish_reread", "forget", "forget_unread", "move", "start_reread"]


def forget(s: Session, connection: str, ids: Sequence[str]) -> int:
    """Drop what leadsync holds for these contacts; how many it knew."""
    known = 0
    for chunk in chunks(list(dict.fromkeys(ids))):
        known += _count(s, connection, chunk)
        for model in (ContactRow, WrittenRow, ConflictRow):
            s.execute(delete(model).where(model.connection == connection, model.contact_id.in_(chunk)))
        s.execute(
            delete(OutboxRow).where(
                OutboxRow.connection == connection,
                OutboxRow.contact_id.in_(chunk),
                OutboxRow.status == "pending",
            )
        )
        s.execute(
            delete(ActionRow).where(
                ActionRow.connection == connection,
                ActionRow.contact_id.in_(chunk),
                ActionRow.status == "pending",
            )
        )
    return known


def move(s: Session, connection: str, moves: Mapping[str, str]) -> int:
    """Move each old id's state to its new id; how many old ids leadsync knew."""
    moved = 0
    for old, new in moves.items():
        if old == new or not _count(s, connection, [old]):
            continue
        moved += 1
        if _count(s, connection, [new]):
            s.execute(
                delete(ContactRow).where(ContactRow.connection == connection, ContactRow.contact_id == old)
            )
        else:
            s.execute(
                update(ContactRow)
                .where(ContactRow.connection == connection, ContactRow.contact_id == old)
                .values(contact_id=new)
            )
        taken = set(
            s.scalars(
                select(WrittenRow.field).where(
                    WrittenRow.connection == connection, WrittenRow.contact_id == new
                )
            )
        )
        s.execute(
            update(WrittenRow)
            .where(
                WrittenRow.connection == connection,
                WrittenRow.contact_id == old,
                WrittenRow.field.not_in(taken | {"stage"}),
            )
            .values(contact_id=new)
        )
        s.execute(delete(WrittenRow).where(WrittenRow.connection == connection, WrittenRow.contact_id == old))
        s.execute(
            update(ActionRow)
            .where(ActionRow.connection == connection, ActionRow.contact_id == old)
            .values(contact_id=new)
        )
        s.execute(
            delete(OutboxRow).where(
                OutboxRow.connection == connection, OutboxRow.contact_id == old, OutboxRow.status == "pending"
            )
        )
        s.execute(
            delete(ConflictRow).where(ConflictRow.connection == connection, ConflictRow.contact_id == old)
        )
        s.execute(  # one person's timeline: what was decided of the Lead shows under its Contact
            update(HistoryRow)
            .where(HistoryRow.connection == connection, HistoryRow.contact_id == old)
            .values(contact_id=new)
        )
    return moved


def forget_unread(s: Session, connection: str, before: datetime) -> list[str]:
    """Forget every contact last read before ``before``; their ids."""
    ids = list(
        s.scalars(
            select(ContactRow.contact_id).where(
                ContactRow.connection == connection, ContactRow.read_at < before
            )
        )
    )
    forget(s, connection, ids)
    return ids


def _count(s: Session, connection: str, ids: Sequence[str]) -> int:
    q = select(ContactRow.contact_id).where(
        ContactRow.connection == connection, ContactRow.contact_id.in_(ids)
    )
    return len(list(s.scalars(q)))


REREAD = "reread"  # the cursor table's row holding when a full re-read began (the loop's clock)


def start_reread(s: Session, connection: str, now: datetime) -> None:
    """Remember when a full re-read began, unless one under way began earlier."""
    row = s.get(CursorRow, (connection, REREAD))
    if row is None or not row.value:
        s.merge(CursorRow(connection=connection, object=REREAD, value=now.isoformat(), updated_at=now))


def finish_reread(s: Session, connection: str) -> list[str]:
    """The re-read is complete: forget what it did not read; the ids forgotten."""
    row = s.get(CursorRow, (connection, REREAD))
    if row is None or not row.value:
        return []
    began = datetime.fromisoformat(row.value)
    row.value = ""
    return forget_unread(s, connection, began)
