"""The decision history: every change leadsync decides, kept for ``state.history_days``.

A sync run appends one row per contact and changed field (and per task or notification it plans)
in the transaction that commits the decision (``commit.py``): what survives a ``kill -9`` is
exactly what the outbox and the snapshots do. A row says which field went from what to what, the
rule or step that caused it (``cause``), the run and its ``now``, and what a person needs to read
it later (``detail``): the score and its top rules for a stage or score change, the routing for an
owner, the reason's label for a reason, the SLA's due time and first touch for an SLA status.

Causes: ``mql_bar``, ``sql_rule``, ``disqualify:CODE``, ``sla_exhausted``, ``inactivity``,
``reason_code`` (a reason rewritten as its code), ``score``, ``routing:kept``,
``routing:account_match``, ``routing:pool:NAME``, ``routing:unassigned``, ``sla``, and for an
action its trigger (``action:stage_mql``).

Old rows go in small batches (``prune``: a bounded number of short DELETE transactions at the
end of each run, on the index ``ix_decision_history_at``), never a long lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, delete, select
from sqlalchemy.orm import Session

from leadsync.decision import Decision, number
from leadsync.rules.compiled import Rules
from leadsync.sync.changes import ContactPlan
from leadsync.sync.tables import HistoryRow
from leadsync.timeutil import format_ts

__all__ = [
    "HISTORY_DAYS",
    "PRUNE_BATCH",
    "PRUNE_BATCHES",
    "TOP_RULES",
    "append",
    "contact_history",
    "history_rows",
    "prune",
]

HISTORY_DAYS = 400  # the default retention (``state.history_days``)
PRUNE_BATCH = 2000  # rows deleted per transaction
PRUNE_BATCHES = 10  # transactions per run at most: 20,000 rows a run, each lock short
TOP_RULES = 5  # the breakdown's rules kept with a score or stage change, by points

_TABLE = cast(Table, HistoryRow.__table__)

# Fields that follow the stage (their cause is the stage's), the owner, the SLA, the score.
_STAGE_FIELDS = ("stage", "mql_at", "sql_at", "disqualification_reason")
_ROUTING_FIELDS = ("owner_id", "assigned_at")
_SLA_FIELDS = ("sla_status", "sla_due_at")
_SCORE_FIELDS = ("score", "score_breakdown")


def history_rows(
    connection: str,
    plans: Sequence[ContactPlan],
    writes: dict[str, tuple[dict[str, Any], dict[str, Any]]],
    rules: Rules,
    run_id: str,
    now: datetime,
) -> list[dict[str, Any]]:
    """The history rows of a batch's plans: per contact, each changed field (``writes``: contact
    id → (values to write, the CRM's values before), as JSON) and each new action."""
    rows: list[dict[str, Any]] = []
    base = {"connection": connection, "run_id": run_id, "at": now}
    for plan in plans:
        cid = plan.contact.id
        d = plan.decision
        after, before = writes.get(cid, ({}, {}))
        for name, value in after.items():
            cause, detail = _why(name, d, rules)
            rows.append(
                {
                    **base,
                    "contact_id": cid,
                    "field": name,
                    "before": before.get(name),
                    "after": value,
                    "cause": cause,
                    "detail": detail,
                }
            )
        for a in plan.actions:
            detail = {"key": a.key, "owner_id": a.owner_id, "due_at": format_ts(a.due_at), "to": a.to}
            cause = "action:" + a.key.split(":", 1)[0]
            row = {**base, "contact_id": cid, "field": a.type, "before": None, "after": a.title or a.to}
            rows.append({**row, "cause": cause, "detail": detail})
    return rows


def _why(name: str, d: Decision, rules: Rules) -> tuple[str, dict[str, Any] | None]:
    """The cause of a change to field ``name``, and what to keep with it (only on the field that
    leads its group: the stage, the reason, the owner, the SLA status, the score)."""
    if name in _STAGE_FIELDS:
        cause = _stage_cause(d, name)
        if name == "stage":
            return cause, {**_score_detail(d), **_reason_detail(d, rules)}
        if name == "disqualification_reason":
            return cause, _reason_detail(d, rules)
        return cause, None
    if name in _ROUTING_FIELDS:
        return f"routing:{d.routing}", {"routing": d.routing} if name == "owner_id" else None
    if name in _SLA_FIELDS:
        return "sla", d.sla.to_json() if name == "sla_status" else None
    if name in _SCORE_FIELDS:
        return "score", _score_detail(d) if name == "score" else None
    return "decision", None


def _stage_cause(d: Decision, name: str) -> str:
    """The step that set the stage (CONTRACT.md §4): a decision records its outcome, not its
    path, but each stage leadsync sets comes from one step only, told apart by the reason."""
    stage, reason = d.stage, d.disqualification_reason
    if stage == d.previous_stage:
        # The stage stays: a reason the CRM holds as a label or alias, written as its code.
        return "reason_code" if name == "disqualification_reason" else "decision"
    if stage == "mql":
        return "mql_bar"
    if stage == "sql":
        return "sql_rule"
    if d.sla.status == "exhausted" and stage in ("nurture", "disqualified"):
        return "sla_exhausted"
    if stage == "nurture" and reason == "inactive":
        return "inactivity"
    if stage == "disqualified":
        return f"disqualify:{reason}"
    return "decision"


def _score_detail(d: Decision) -> dict[str, Any]:
    top = sorted(d.breakdown, key=lambda rp: -abs(rp[1]))[:TOP_RULES]
    return {
        "score": number(d.score),
        "fit": number(d.fit_score),
        "engagement": number(d.engagement_score),
        "decay": number(d.decay),
        "top_rules": [[rule, number(points)] for rule, points in top],
    }


def _reason_detail(d: Decision, rules: Rules) -> dict[str, Any]:
    code = d.disqualification_reason
    if code is None:
        return {}
    return {"reason": code, "reason_label": rules.reason_labels.get(code, code)}


def append(s: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Append history rows, inside the transaction that commits their decisions."""
    if rows:  # Core's executemany: the ORM's bulk insert costs twice as much per row
        s.execute(_TABLE.insert(), list(rows))


def contact_history(s: Session, connection: str, contact_id: str) -> list[HistoryRow]:
    """A contact's history, oldest first (the index ``ix_decision_history_contact``)."""
    q = (
        select(HistoryRow)
        .where(HistoryRow.connection == connection, HistoryRow.contact_id == contact_id)
        .order_by(HistoryRow.at, HistoryRow.id)
    )
    return list(s.scalars(q))


def prune(s: Session, connection: str, now: datetime, days: int, limit: int = PRUNE_BATCH) -> int:
    """Delete at most ``limit`` rows of ``connection`` older than ``days`` before ``now``; how many.

    One short statement on the index ``ix_decision_history_at``; the caller commits and repeats
    (``PRUNE_BATCHES`` at most per run).
    """
    cutoff = now - timedelta(days=days)
    oldest = (
        select(HistoryRow.id)
        .where(HistoryRow.connection == connection, HistoryRow.at < cutoff)
        .order_by(HistoryRow.at)
        .limit(limit)
    )
    ids = list(s.scalars(oldest))
    if ids:
        s.execute(delete(HistoryRow).where(HistoryRow.id.in_(ids)))
    return len(ids)
