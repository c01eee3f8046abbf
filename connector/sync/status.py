"""What ``leadsync status`` shows for one connection, read from the state store's tables.

The last runs (counts and errors), the backlog (pending writes and actions), dead letters and
conflicts, dead letters by cause (``leadsync.sync.refusals.letter_cause``), and how many known
contacts are at each stage and SLA status.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leadsync.sync.database import utc
from leadsync.sync.tables import ActionRow, ConflictRow, ContactRow, DeadLetterRow, OutboxRow, RunRow

__all__ = ["backlog", "connection_status"]


def backlog(s: Session, connection: str) -> dict[str, int]:
    """What waits on ``connection``: pending writes and actions, dead letters, conflicts on record.

    Also what the daemon's metrics read at each scrape: four counts on indexed columns.
    """

    def count(model: Any, *where: Any) -> int:
        return _count(s, model, *where)

    return {
        "pending_writes": count(OutboxRow, OutboxRow.connection == connection, OutboxRow.status == "pending"),
        "pending_actions": count(
            ActionRow, ActionRow.connection == connection, ActionRow.status == "pending"
        ),
        "dead_letters": count(DeadLetterRow, DeadLetterRow.connection == connection),
        "conflicts": count(ConflictRow, ConflictRow.connection == connection),
    }


def connection_status(s: Session, connection: str, runs: int = 5) -> dict[str, Any]:
    """The status of ``connection``: its last ``runs`` runs, backlog and counts."""
    last = s.scalars(
        select(RunRow).where(RunRow.connection == connection).order_by(RunRow.id.desc()).limit(runs)
    ).all()
    sla = dict(
        s.execute(
            select(ContactRow.sla_status, func.count())
            .where(ContactRow.connection == connection)
            .group_by(ContactRow.sla_status)
        ).all()
    )
    stages = dict(
        s.execute(
            select(ContactRow.stage, func.count())
            .where(ContactRow.connection == connection)
            .group_by(ContactRow.stage)
        ).all()
    )
    causes = s.execute(
        select(DeadLetterRow.cause, DeadLetterRow.kind, func.count())
        .where(DeadLetterRow.connection == connection)
        .group_by(DeadLetterRow.cause, DeadLetterRow.kind)
    ).all()
    by_cause: dict[str, dict[str, int]] = {}
    for cause, kind, n in causes:
        by_cause.setdefault(cause or "unclassified", {})[kind] = int(n)
    return {
        "dead_letters_by_cause": by_cause,
        "runs": [
            {
                "run_id": r.run_id,
                "kind": r.kind,
                "status": r.status,
                "started_at": utc(r.started_at),
                "finished_at": utc(r.finished_at),
                "counts": r.counts,
                "error": r.error,
            }
            for r in last
        ],
        **backlog(s, connection),
        "contacts": _count(s, ContactRow, ContactRow.connection == connection),
        "sla": {k or "none": v for k, v in sla.items()},
        "stages": {k or "lead": v for k, v in stages.items()},
    }


def _count(s: Session, model: Any, *where: Any) -> int:
    return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)
