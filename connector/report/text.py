"""The report for a person at a terminal: headings, aligned columns, and what each number means.

Rates show as percentages (the JSON's 0.333 is 33.3%); an empty rate or speed (nothing to divide
by, no first touch) shows as ``-``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from leadsync.report.window import local_date, month_key
from leadsync.rules.compiled import Rules
from leadsync.timeutil import parse_iso_ts

__all__ = ["render_text"]


def _show(value: Any, percent: bool = False) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if percent:
        return f"{value * 100:.1f}%"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _table(
    header: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1, last_left: bool = False
) -> list[str]:
    """Columns aligned: the first ``left`` to the left (names), the rest to the right (numbers),
    but the last one to the left when ``last_left`` (a list of words)."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        last = len(cells) - 1
        parts = [
            c.ljust(w) if i < left or (last_left and i == last) else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return ("  " + "  ".join(parts)).rstrip()

    return [line(header), *(line(r) for r in rows)] if rows else ["  (none)"]


def _funnel_rows(rows: list[dict[str, Any]], key: str) -> list[list[str]]:
    return [
        [
            r[key],
            *(
                _show(r[c])
                for c in ("handoffs", "sql", "opportunity", "customer", "nurture", "disqualified", "open")
            ),
            _show(r["sql_rate"], True),
            _show(r["customer_rate"], True),
        ]
        for r in rows
    ]


_FUNNEL = [
    "handoffs",
    "SQL",
    "opportunity",
    "customer",
    "nurture",
    "disqualified",
    "open",
    "SQL rate",
    "customer rate",
]
_SLA = ["handoffs", "on time", "late", "open", "compliance", "median min", "p90 min"]


def _sla_cells(r: dict[str, Any]) -> list[str]:
    speed = r["speed_to_lead_min"]
    cells = [_show(r[c]) for c in ("handoffs", "on_time", "late", "open")]
    return [*cells, _show(r["compliance"], True), _show(speed["median"]), _show(speed["p90"])]


def _commitment(report: dict[str, Any], now_month: str) -> list[str]:
    rows = report["commitment"]
    committed = rows[0]["committed"] if rows else None
    title = "MQLs handed to sales, month by month"
    title += (
        f" (marketing commits {committed:,} a month)" if committed is not None else " (no commitment set)"
    )
    cells = [
        [
            r["month"] + (" *" if r["month"] == now_month else ""),
            _show(r["handoffs"]),
            _show(r["projected"]),
            _show(r["committed"]),
            _show(r["met"]),
        ]
        for r in rows
    ]
    out = [title, *_table(["month", "handoffs", "projected", "committed", "met"], cells)]
    out.append("  * the month in progress: projected = handoffs so far at the same pace to the month's end.")
    if committed is not None:
        out.append("  met = the projected handoffs reach the commitment.")
    return out


def _sla(report: dict[str, Any], rules: Rules, by: str) -> list[str]:
    sla = report["sla"]
    rule = rules.sla
    assert rule is not None and rule.first_touch is not None
    amount, unit = rule.first_touch
    hours = "business hours" if rule.business_hours else "around the clock"
    out = [f"Speed to lead: first sales touch within {amount}{unit} ({hours}), by {by} of handoff"]
    out += _table(["period", *_SLA], [[r["period"], *_sla_cells(r)] for r in sla["periods"]])
    out += ["", "By owner (the whole window)"]
    out += _table(
        ["owner", "name", *_SLA],
        [[r["owner_id"], r["name"] or "-", *_sla_cells(r)] for r in sla["by_owner"]],
        2,
    )
    minutes = "business minutes" if rule.business_hours else "minutes"
    out.append(
        "  on time = first touch at or before the due time; late = after it, or none yet and past due;"
    )
    out.append(
        f"  compliance = on time / (on time + late); speed to lead in {minutes} from handoff to first touch."
    )
    return out


def _reasons(report: dict[str, Any]) -> list[str]:
    reasons = report["reasons"]
    out = [f"Why leads were lost or sent back to nurture (by date of that change): {reasons['total']:,}"]
    rows = [
        [
            r["reason"],
            r["label"] or "-",
            _show(r["count"]),
            _show(r["share"], True),
            ", ".join(f"{s} {n:,}" for s, n in r["by_source"].items()),
        ]
        for r in reasons["rows"]
    ]
    out += _table(["reason", "label", "count", "share", "by source"], rows, 2, last_left=True)
    if reasons["unknown"]:
        out += ["", "Reasons matching no code (add each as an alias under `reasons:` in the rules):"]
        out += _table(["text", "count"], [[repr(u["value"]), _show(u["count"])] for u in reasons["unknown"]])
    return out


def render_text(report: dict[str, Any], rules: Rules) -> str:
    """The whole report as text for a terminal."""
    w = report["window"]
    by = w["by"]
    now = w["now"]
    out = [
        f"leadsync report: {w['rules'] or rules.file}",
        f"From {w['from']} to {w['to']} ({rules.source.timezone} dates), by {by}; "
        f"now {now}; {w['contacts']:,} contacts decided.",
        "",
    ]
    out += _commitment(report, month_key(local_date(parse_iso_ts(now), rules.calendar.tz)))
    funnel = report["funnel"]
    out += ["", f"Funnel: what became of the leads handed to sales, by {by} of handoff"]
    out += _table(["period", *_FUNNEL], _funnel_rows(funnel["periods"], "period"))
    out += ["", "By source (the whole window)"]
    out += _table(["source", *_FUNNEL], _funnel_rows(funnel["by_source"], "source"))
    out.append("  SQL = became sales-qualified; opportunity counts customers too; open = still mql or sql.")
    if "sla" in report:
        out += ["", *_sla(report, rules, by)]
    out += ["", *_reasons(report)]
    return "\n".join(out) + "\n"
