"""``leadsync validate``: a one-screen summary of a valid rules file."""

from __future__ import annotations

from leadsync.rules.compiled import Rules
from leadsync.rules.yamlsource import YamlSource

__all__ = ["summarize"]


def _pts(points: float) -> str:
    return f"{points:+g}"


def _cond(value: object) -> str:
    """A condition as compact one-line text."""
    if isinstance(value, dict):
        if "field" in value:
            ops = " ".join(f"{k} {_cond(v)}" for k, v in value.items() if k != "field")
            return f"{value['field']} {ops}"
        if "activity" in value:
            text = f"{value['activity']}"
            if value.get("where"):
                text += f" where {_cond(value['where'])}"
            if value.get("min_count", 1) != 1:
                text += f" x{value['min_count']}+"
            if value.get("within_days"):
                text += f" in {value['within_days']}d"
            return text
        for combinator in ("all", "any"):
            if combinator in value:
                return f"{combinator}(" + "; ".join(_cond(v) for v in value[combinator]) + ")"
        if "not" in value:
            return f"not({_cond(value['not'])})"
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def summarize(rules: Rules, source: YamlSource) -> str:
    m = rules.source
    out = [f"{rules.file}: valid — {m.name or 'unnamed'} (version {m.version}, time zone {m.timezone})"]
    out.append("Scoring")
    for f in m.scoring.fit:
        out.append(f"  fit         {_pts(f.points):>5}  {f.name}: {_cond(f.if_)}")
    for e in m.scoring.engagement:
        what = _cond(
            {"activity": e.activity, "where": e.where, "min_count": e.min_count, "within_days": e.within_days}
        )
        per = f" each, max {e.max_points:g}" if e.per else ""
        out.append(f"  engagement  {_pts(e.points):>5}  {e.name}: {what}{per}")
    if m.scoring.decay:
        d = m.scoring.decay
        again = f", again every {d.every_days} days" if d.every_days else ""
        out.append(f"  decay       {_pts(d.points):>5}  after {d.after_inactive_days} idle days{again}")
    if m.scoring.floor is not None:
        out.append(f"  floor       {m.scoring.floor:g}")
    out.append("Stages")
    if m.stages.mql:
        fit = f" and fit >= {m.stages.mql.fit_at_least:g}" if m.stages.mql.fit_at_least is not None else ""
        out.append(f"  MQL at {m.stages.mql.score_at_least:g} points{fit}")
    else:
        out.append("  no MQL bar")
    if rules.sql:
        crit = "; ".join(f"{k}: {_cond(v)}" for k, v in m.stages.sql.bant.items())  # type: ignore[union-attr]
        out.append(f"  SQL when {rules.sql.require} of {len(rules.sql.criteria)} hold: {crit}")
    for rule in m.disqualify:
        out.append(f"  disqualify as {rule.reason}: {_cond(rule.if_)}")
    if m.sla:
        s = m.sla
        hours = "24/7"
        if s.business_hours:
            b = s.business_hours
            hours = f"{','.join(b.days)} {b.from_}-{b.to}"
        out.append("SLA")
        out.append(
            f"  first touch within {s.first_touch_within or '-'} ({hours}"
            f"{', ' + str(len(s.holidays)) + ' holidays' if s.holidays else ''})"
        )
        if s.attempts:
            out.append(f"  {s.attempts} attempts, then {s.on_exhausted.stage} ({s.on_exhausted.reason})")
        if s.archive_after_inactive_days:
            out.append(f"  archive to nurture after {s.archive_after_inactive_days} inactive days")
    out.append("Routing")
    out.append(f"  account match: {'on' if m.routing.account_match else 'off'}")
    for p in m.routing.pools:
        cond = f" if {_cond(p.if_)}" if p.if_ is not None else ""
        weights = ""
        if p.strategy == "weighted":
            weights = " (" + ", ".join(f"{o}:{(p.weights or {}).get(o, 1):g}" for o in p.owners) + ")"
        out.append(f"  pool {p.name}{cond}: {p.strategy} over {', '.join(p.owners)}{weights}")
    if m.actions:
        out.append("Actions")
        for a in m.actions:
            who = a.notify if isinstance(a.notify, str) else ", ".join(a.notify or ())
            what = f'task "{a.task.title}" due {a.task.due_in}' if a.task else f"notify {who}"
            where = f" where {_cond(a.where)}" if a.where is not None else ""
            before = f" ({a.before} before the due time)" if a.before else ""
            out.append(f"  on {a.trigger}{before}{where}: {what}")
    custom = [c for c in m.reasons if c not in ("",)]
    if custom:
        out.append("Reasons: " + ", ".join(f'{c} = "{rules.reason_labels[c]}"' for c in custom))
    return "\n".join(out)
