"""``--explain``: one contact's decision in words, for a person."""

from __future__ import annotations

from datetime import datetime

from leadsync.decision import Decision, number
from leadsync.rules.compiled import Rules
from leadsync.timeutil import format_ts

__all__ = ["render_explanation"]

# Which part of the explanation each kind of note belongs to; score notes are the breakdown.
_SECTIONS = {
    "score": "score",
    "stage": "stage",
    "sql": "stage",
    "reason": "stage",
    "owner": "owner",
    "sla": "sla",
    "action": "action",
}


def render_explanation(decision: Decision, notes: list[str], rules: Rules, now: datetime) -> str:
    d = decision
    lines = [f"Contact {d.contact_id} at {format_ts(now)} under {rules.file}", ""]
    lines.append(
        f"Score {number(d.score)} = fit {number(d.fit_score)} + engagement "
        f"{number(d.engagement_score)} + decay {number(d.decay)}"
        + (f", floor {rules.floor:g}" if rules.floor is not None else "")
    )
    if d.breakdown:
        for rule, points in d.breakdown:
            lines.append(f"  {number(points):+} {rule}")
    else:
        lines.append("  no rule gave or took points")
    grouped: dict[str, list[str]] = {}
    for note in notes:
        head, _, text = note.partition(": ")
        grouped.setdefault(_SECTIONS.get(head, "stage"), []).append(text)
    lines.append("")
    reason = f" (reason {d.disqualification_reason})" if d.disqualification_reason else ""
    lines.append(f"Stage {d.previous_stage} -> {d.stage}{reason}")
    lines += [f"  {t}" for t in grouped.get("stage", [])]
    lines.append(f"Owner {d.owner_id or '-'} (routing: {d.routing})")
    lines += [f"  {t}" for t in grouped.get("owner", [])]
    sla = d.sla
    lines.append(
        f"SLA {sla.status}"
        + (f", due {format_ts(sla.due_at)}" if sla.due_at else "")
        + (f", first touch {format_ts(sla.first_touch_at)}" if sla.first_touch_at else "")
        + f", {sla.attempts} attempt(s)"
    )
    lines += [f"  {t}" for t in grouped.get("sla", [])]
    if d.sla.status == "none" and not grouped.get("sla"):
        lines.append("  no SLA clock: only MQL and SQL contacts with an owner have one")
    lines.append("Actions" + ("" if d.actions else ": none"))
    for a in d.actions:
        what = a.describe()
        lines.append(f"  {what} for {a.owner_id or 'no owner'}  [{a.key}]")
    lines.append("Changed: " + (", ".join(d.changed) if d.changed else "nothing"))
    return "\n".join(lines)
