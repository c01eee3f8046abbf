"""A contact's decision history for a person (``leadsync history``): text, or JSON.

The rows of one run (one decision) make one entry of the timeline. Each entry says, in the
words of the field, what happened: when the contact became an MQL and on which points (the
score's top rules at that moment), who it was routed to and why, when its SLA was met or
breached, when and why it was recycled or disqualified (the reason's code and label), the tasks
it got; then any other field that changed, from → to. The JSON form is the rows as stored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import Any

from leadsync.errors import InputError, Problem
from leadsync.sync.database import utc
from leadsync.sync.history import contact_history
from leadsync.sync.state import StateStore
from leadsync.sync.tables import HistoryRow
from leadsync.timeutil import format_ts

__all__ = ["Change", "Timeline", "load_timeline"]

# Fields whose change is told on the line of the field that leads them (in the same entry).
_FOLDED = {
    "mql_at": "stage",
    "sql_at": "stage",
    "disqualification_reason": "stage",
    "assigned_at": "owner_id",
    "sla_due_at": "sla_status",
    "score": "mql_bar",
}
_FOLDED_ALWAYS = ("score_breakdown",)  # the score's line names the top rules
_ROUTES = {"account_match": "account match (the owner of the same company's first contact)"}


@dataclass(frozen=True)
class Change:
    """One row of the history."""

    at: datetime
    run_id: str
    field: str
    before: Any
    after: Any
    cause: str
    detail: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "at": format_ts(self.at),
            "run_id": self.run_id,
            "field": self.field,
            "before": self.before,
            "after": self.after,
            "cause": self.cause,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Timeline:
    """One contact's history on one connection, oldest first; ``owners``: id → name."""

    connection: str
    contact_id: str
    label: str | None  # the contact's email or name, when the state store knows the contact
    changes: list[Change]
    owners: dict[str, str]
    history_days: int

    def to_json(self) -> str:
        body = {
            "connection": self.connection,
            "contact_id": self.contact_id,
            "history_days": self.history_days,
            "changes": [c.to_json() for c in self.changes],
        }
        return json.dumps(body, indent=2, ensure_ascii=False)

    def to_text(self) -> str:
        who = f"{self.contact_id} ({self.label})" if self.label else self.contact_id
        n = len(self.changes)
        head = f"{self.connection} contact {who}: {n} change{'s' if n != 1 else ''} recorded"
        out = [f"{head} (kept {self.history_days} days), oldest first"]
        if not self.changes:
            out.append(
                f"  none: leadsync has changed nothing of this contact in the last {self.history_days} days"
            )
        for (at, run_id), group in groupby(self.changes, key=lambda c: (c.at, c.run_id)):
            out.append(f"{format_ts(at)}  (run {run_id})")
            out.extend(f"  {line}" for line in self._entry(list(group)))
        return "\n".join(out)

    def _entry(self, changes: list[Change]) -> list[str]:
        fields = {c.field for c in changes}
        if any(c.field == "stage" and c.cause == "mql_bar" for c in changes):
            fields.add("mql_bar")  # its line gives the score and its top rules
        lines = []
        for c in changes:
            leader = _FOLDED.get(c.field)
            if c.field in _FOLDED_ALWAYS or (leader is not None and leader in fields):
                continue
            lines.append(self._line(c))
        return lines

    def _owner(self, owner_id: Any) -> str:
        if owner_id in (None, ""):
            return "nobody"
        name = self.owners.get(str(owner_id))
        return f"{owner_id} ({name})" if name else str(owner_id)

    def _line(self, c: Change) -> str:
        d = c.detail
        if c.field == "stage":
            return _stage_line(c)
        if c.field == "owner_id":
            how = str(d.get("routing") or c.cause.removeprefix("routing:"))
            route = _ROUTES.get(how) or (f"pool {how[5:]}" if how.startswith("pool:") else how)
            if how == "unassigned":
                return f"owner: unassigned (no eligible owner), was {self._owner(c.before)}"
            return f"routed to {self._owner(c.after)} by {route} (was {self._owner(c.before)})"
        if c.field == "sla_status":
            return _sla_line(c)
        if c.field == "score":
            return f"score {_show(c.before)} -> {_show(c.after)}{_points(d)}"
        if c.field == "disqualification_reason":
            return f"reason {_show(c.before)} -> {_reason(d) if c.after else '-'} ({_cause(c.cause)})"
        if c.field in ("task", "notify"):
            owner = self._owner(d.get("owner_id"))
            due = f", due {d['due_at']}" if d.get("due_at") else ""
            what = f'task "{c.after}" for {owner}{due}' if c.field == "task" else f"notified {c.after}"
            return f"{what} [{c.cause.removeprefix('action:')}]"
        return f"{c.field}: {_show(c.before)} -> {_show(c.after)}"


def _stage_line(c: Change) -> str:
    d = c.detail
    was = f"(was {_show(c.before)})"
    if c.cause == "mql_bar":
        return f"became MQL {was} on {_show(d.get('score'))} points{_points(d, 'top rules')}"
    if c.cause == "sql_rule":
        return f"became SQL {was}: the SQL rule holds; score {_show(d.get('score'))}"
    if c.cause == "sla_exhausted":
        return f"recycled to {c.after} {was}: {_reason(d)}; SLA attempts exhausted"
    if c.cause == "inactivity":
        return f"recycled to {c.after} {was}: {_reason(d)}; no activity for the archive window"
    if c.cause.startswith("disqualify:"):
        return f"disqualified {was}: {_reason(d)}, by the `{c.cause[11:]}` rule"
    return f"stage {_show(c.before)} -> {_show(c.after)} ({_cause(c.cause)})"


def _sla_line(c: Change) -> str:
    d = c.detail
    due = f"due {d['due_at']}" if d.get("due_at") else "no due time"
    touch = d.get("first_touch_at")
    if c.after == "met":
        return f"SLA met: first touch {touch}, {due}"
    if c.after == "breached":
        return f"SLA breached: {due}, " + (f"first touch {touch}" if touch else "no touch by then")
    if c.after == "pending":
        return f"SLA clock running: first touch {due}"
    if c.after == "none":
        return "SLA status: none (no owner, or not an MQL or SQL)"
    if c.after == "exhausted":
        return f"SLA exhausted: {d.get('attempts', 0)} touches without a connected call or meeting"
    return f"SLA {_show(c.before)} -> {_show(c.after)}"


def _points(d: dict[str, Any], label: str = "top") -> str:
    rules = d.get("top_rules") or []
    if not rules:
        return ""
    return f" ({label}: " + ", ".join(f"{rule} {points:+g}" for rule, points in rules) + ")"


def _reason(d: dict[str, Any]) -> str:
    code, label = d.get("reason"), d.get("reason_label")
    if code is None:
        return "no reason"
    return f"{code} ({label})" if label and label != code else str(code)


def _cause(cause: str) -> str:
    return {"reason_code": "the reason written as its code"}.get(cause, cause)


def _show(value: Any) -> str:
    return "-" if value in (None, "") else str(value)


def load_timeline(store: StateStore, connection: str, contact_id: str, history_days: int) -> Timeline:
    """The timeline of ``contact_id``; an id the state store has never seen is an InputError."""
    with store.transaction() as s:
        rows: list[HistoryRow] = contact_history(s, connection, contact_id)
        known = store.records_in(s, connection, [contact_id]).get(contact_id)
    if not rows and known is None:
        text = (
            f"no contact `{contact_id}` in the state store's connection `{connection}`; check the id "
            "(the CRM's own, as `leadsync explain` takes it) and --connection"
        )
        raise InputError([Problem(connection, 0, text)])
    label = None
    if known is not None:
        name = " ".join(str(known[k]) for k in ("first_name", "last_name") if known.get(k))
        label = ", ".join(x for x in (known.get("email"), name) if x) or None
    owners = {str(o["id"]): str(o.get("name") or "") for o in store.owners(connection) if o.get("name")}
    changes = [
        Change(utc(r.at) or r.at, r.run_id, r.field, r.before, r.after, r.cause, r.detail or {}) for r in rows
    ]
    return Timeline(connection, contact_id, label, changes, owners, history_days)
