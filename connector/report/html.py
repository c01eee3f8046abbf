"""``leadsync report --format html``: one self-contained page for the weekly smarketing review.

The page carries everything it needs (styles, Chart.js, the chart script and the report's JSON
inline) and fetches nothing: its Content-Security-Policy forbids any request and runs only the
page's own scripts, by their hashes. The tables are written here, from the same rows as ``csv``
(``leadsync.report.tables``), so the page reads without JavaScript and prints; the charts are
drawn in the browser from the embedded JSON. Every text from the data is escaped.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from functools import cache
from html import escape
from importlib.resources import files
from string import Template
from typing import Any

import orjson

from leadsync import __version__
from leadsync.report.tables import tables
from leadsync.report.window import local_date, month_key
from leadsync.rules.compiled import Rules
from leadsync.timeutil import parse_iso_ts

__all__ = ["CHART_JS_VERSION", "cell_text", "render_html"]

CHART_JS_VERSION = "4.6.2"  # connector/report/assets/README.md says where it comes from
PERCENT = frozenset({"sql_rate", "customer_rate", "compliance", "share"})
_LABELS = {
    "month": "Month",
    "period": "Period",
    "source": "Source",
    "owner_id": "Owner",
    "name": "Name",
    "reason": "Reason code",
    "label": "Label",
    "handoffs": "Handoffs (MQL)",
    "committed": "Committed",
    "projected": "Projected",
    "met": "Met",
    "sql": "SQL",
    "opportunity": "Opportunity",
    "customer": "Customer",
    "nurture": "Nurture",
    "disqualified": "Disqualified",
    "open": "Open",
    "sql_rate": "SQL rate",
    "customer_rate": "Customer rate",
    "on_time": "On time",
    "late": "Late",
    "compliance": "SLA compliance",
    "speed_to_lead_median_min": "Speed to lead, median",
    "speed_to_lead_p90_min": "Speed to lead, p90",
    "count": "Contacts",
    "share": "Share",
}
_NAMES = frozenset({"month", "period", "source", "owner_id", "name", "reason", "label"})


def _asset(name: str) -> str:
    return (files("leadsync.report") / "assets" / name).read_text(encoding="utf-8")


@cache
def _assets() -> tuple[Template, str, str, str]:
    return (
        Template(_asset("page.html")),
        _asset("report.css"),
        _asset("chart.umd.min.js"),
        _asset("report.js"),
    )


def cell_text(value: Any, percent: bool = False) -> str:
    """A value as the page shows it: rates as percentages (0.333 → 33.3%), ``-`` for null."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if percent:
        return f"{value * 100:.1f}%"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _e(text: Any) -> str:
    return escape(str(text), quote=True)


def _table(
    table_id: str,
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    marks: Sequence[str] = (),
    counts_from: int | None = None,
) -> str:
    """A scrolling table; ``marks``: a CSS class per row (``in-progress``) or ''; columns from
    ``counts_from`` on are counts headed by a name from the data (the reasons' sources)."""
    if not rows:
        return '<p class="empty">Nothing in this window.</p>'
    kinds = [
        "num" if counts_from is not None and i >= counts_from else "name" if h in _NAMES else "num"
        for i, h in enumerate(header)
    ]
    percent = [
        k == "num" and h in PERCENT and (counts_from is None or i < counts_from)
        for i, (h, k) in enumerate(zip(header, kinds, strict=True))
    ]
    labels = [
        h if counts_from is not None and i >= counts_from else _LABELS.get(h, h) for i, h in enumerate(header)
    ]
    head = "".join(f'<th scope="col" class="{k}">{_e(t)}</th>' for t, k in zip(labels, kinds, strict=True))
    body = []
    for i, row in enumerate(rows):
        mark = marks[i] if i < len(marks) else ""
        cells = []
        for j, value in enumerate(row):
            if kinds[j] == "name":
                tag = '<span class="tag">in progress, projected</span>' if mark and j == 0 else ""
                cells.append(f'<td class="name">{_e(cell_text(value))}{tag}</td>')
            else:
                cells.append(f"<td>{_e(cell_text(value, percent[j]))}</td>")
        opening = f'<tr class="{mark}">' if mark else "<tr>"
        body.append(f"{opening}{''.join(cells)}</tr>")
    return (
        f'<div class="table-scroll"><table id="table-{table_id}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _chart(kind: str, label: str, how: str, rows: int) -> str:
    if not rows:
        return ""
    return (
        f'<div class="chart"><canvas data-chart="{kind}" role="img" aria-label="{_e(label)}"></canvas></div>'
        f'<p class="how">{how}</p>'
    )


class _Page:
    """The page's parts, from the report and (when known) its rules."""

    def __init__(self, report: dict[str, Any], rules: Rules | None) -> None:
        self.report = report
        self.rules = rules
        self.tables = {stem: (header, rows) for stem, header, rows in tables(report)}
        window = report["window"]
        now = parse_iso_ts(window["now"])
        self.now_month = month_key(local_date(now, rules.calendar.tz)) if rules else now.strftime("%Y-%m")
        self.by = window["by"]
        business = bool(rules and rules.sla and rules.sla.business_hours)
        self.speed_unit = "business minutes" if business else "minutes"

    def header(self) -> str:
        w = self.report["window"]
        zone = f" ({_e(self.rules.source.timezone)} dates)" if self.rules else ""
        nav = [("commitment", "MQLs vs commitment"), ("funnel", "Funnel")]
        if "sla" in self.report:
            nav.append(("sla", "SLA &amp; speed to lead"))
        nav.append(("reasons", "Reasons"))
        links = "".join(f'<a href="#{a}">{t}</a>' for a, t in nav)
        return (
            f"<header><h1>Weekly review: {_e(w['rules'] or 'leadsync report')}</h1>"
            f'<p class="meta">From {_e(w["from"])} to {_e(w["to"])}{zone}, by {_e(self.by)}; '
            f"decided at {_e(w['now'])}; {w['contacts']:,} contacts.</p>"
            f'<nav class="toc">{links}</nav></header>'
        )

    def commitment(self) -> str:
        rows = self.report["commitment"]
        committed = rows[0]["committed"] if rows else None
        current = next((r for r in rows if r["month"] == self.now_month), None)
        verdict = ""
        if current is not None and committed is not None:
            ok = bool(current["met"])
            verdict = (
                f'<p class="verdict {"good" if ok else "bad"}">This month: {current["handoffs"]:,} MQLs so '
                f"far, on pace for {current['projected']:,} against {committed:,} committed "
                f"({'on track' if ok else 'behind'}).</p>"
            )
        pledge = f"{committed:,} MQLs a month" if committed is not None else "no commitment set in the rules"
        how = (
            "each bar is the MQLs marketing handed to sales in a month (a handoff: the lead became MQL, "
            f"or SQL directly); the line is the commitment ({_e(pledge)}). The month in progress is "
            "projected: its handoffs so far at the same pace to the month's end (the dashed part)."
        )
        header, cells = self.tables["commitment"]
        marks = ["in-progress" if r["month"] == self.now_month else "" for r in rows]
        return (
            '<section id="commitment"><h2>MQLs handed to sales against the commitment</h2>'
            f"{verdict}{_chart('commitment', 'MQLs by month against the commitment', how, len(rows))}"
            f"{_table('commitment', header, cells, marks)}</section>"
        )

    def funnel(self) -> str:
        periods = self.report["funnel"]["periods"]
        sources = self.report["funnel"]["by_source"]
        how_p = (
            f"for the MQLs handed off in each {self.by}, how many sales accepted as SQL, how many became "
            "an opportunity (customers included) and how many a customer. A recent period has had less "
            "time to convert: compare it with care."
        )
        how_s = (
            "the same over the whole window, one group per lead source, most handoffs first. A source "
            "with many handoffs and few SQLs brings leads sales does not want."
        )
        return (
            f'<section id="funnel"><h2>Funnel: what became of the MQLs, by {_e(self.by)} of handoff</h2>'
            f"{_chart('funnel_periods', 'Funnel by period', how_p, len(periods))}"
            f"{_table('funnel', *self.tables['funnel'])}"
            "<h3>By source</h3>"
            f"{_chart('funnel_sources', 'Funnel by source', how_s, len(sources))}"
            f"{_table('funnel_by_source', *self.tables['funnel_by_source'])}"
            '<p class="how">SQL rate = SQL ÷ handoffs; customer rate = customers ÷ handoffs; open = still '
            "MQL or SQL; opportunity counts customers too.</p></section>"
        )

    def sla(self) -> str:
        if "sla" not in self.report:
            return ""
        sla = self.report["sla"]
        target = ""
        if self.rules and self.rules.sla and self.rules.sla.first_touch:
            amount, unit = self.rules.sla.first_touch
            hours = "business hours" if self.rules.sla.business_hours else "around the clock"
            target = f" (first sales touch within {amount}{_e(unit)}, {hours})"
        how_c = (
            "each bar is the MQLs handed off in the period: touched on time (green), late (orange: "
            "touched after the SLA, or not yet and past due), or with the clock still running (grey). "
            "The line is SLA compliance: on time ÷ (on time + late)."
        )
        how_o = (
            "each bar is the MQLs handed off to the owner over the window: touched on time (green), "
            "late (orange) or with the clock still running (grey); the table gives each owner's SLA "
            "compliance."
        )
        how_s = (
            f"speed to lead, in {self.speed_unit} from the handoff to the first sales touch: half the "
            "leads were touched within the median, nine in ten within the p90. Lower is better."
        )
        return (
            f'<section id="sla"><h2>SLA compliance and speed to lead{target}</h2>'
            f"<h3>By {_e(self.by)} of handoff</h3>"
            f"{_chart('sla_periods', 'SLA compliance by period', how_c, len(sla['periods']))}"
            f"{_chart('speed_periods', 'Speed to lead by period', how_s, len(sla['periods']))}"
            f"{_table('sla', *self.tables['sla'])}"
            "<h3>By owner (the whole window)</h3>"
            f"{_chart('sla_owners', 'SLA by owner', how_o, len(sla['by_owner']))}"
            f"{_chart('speed_owners', 'Speed to lead by owner', how_s, len(sla['by_owner']))}"
            f"{_table('sla_by_owner', *self.tables['sla_by_owner'])}"
            f'<p class="how">speed to lead in {self.speed_unit}; (none) = handed off to nobody.</p></section>'
        )

    def reasons(self) -> str:
        reasons = self.report["reasons"]
        header, rows = self.tables["reasons"]
        codes = [r[1:] for r in rows if r[0] == "code"]
        how = (
            "why leads were disqualified or sent back to nurture, by the date of that change, each bar "
            "split by lead source: a reason that comes mostly from one source points at that channel."
        )
        parts = [
            f'<section id="reasons"><h2>Why leads were lost or recycled: {reasons["total"]:,}</h2>',
            _chart("reasons", "Reasons by source", how, len(reasons["rows"])),
            _table("reasons", header[1:], codes, counts_from=4),
            "<h3>Reason texts that match no code: to map</h3>",
        ]
        unknown = reasons["unknown"]
        if unknown:
            example = orjson.dumps([unknown[0]["value"]]).decode()
            items = "".join(
                f"<li><q>{_e(u['value'])}</q>: {u['count']:,} contact{'s' if u['count'] != 1 else ''}</li>"
                for u in unknown
            )
            parts.append(
                '<p class="hint">add each text below as an alias of the reason code it means, under '
                f"<code>reasons:</code> in the rules file (e.g. <code>no_response: {{aliases: "
                f"{_e(example)}}}</code>, with the code it means); from the next run on those "
                "contacts count under that code.</p>"
                f'<ul class="todo" id="unknown-reasons">{items}</ul>'
            )
        else:
            parts.append('<p class="empty">None: every reason maps to a code.</p>')
        parts.append("</section>")
        return "".join(parts)


def _csp_hash(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


def _json_in_script(report: dict[str, Any]) -> str:
    """The JSON, safe inside a ``<script>`` element: no ``<``, ``>`` or ``&`` appear as such."""
    text = orjson.dumps(report).decode()
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_html(report: dict[str, Any], rules: Rules | None = None) -> bytes:
    """The report as one self-contained HTML page (UTF-8).

    ``rules``, when given, name the time zone (which month is in progress), the SLA's target and
    whether speed to lead counts business minutes; without them the month of ``now`` in UTC.
    """
    template, style, chart_js, script = _assets()
    page = _Page(report, rules)
    footer = f"<footer>leadsync {_e(__version__)}; charts by Chart.js {CHART_JS_VERSION} (MIT).</footer>"
    body = "".join([page.header(), page.commitment(), page.funnel(), page.sla(), page.reasons(), footer])
    csp = (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
        f"script-src {_csp_hash(chart_js)} {_csp_hash(script)}; base-uri 'none'; form-action 'none'"
    )
    text = template.substitute(
        csp=csp,
        version=_e(__version__),
        title=_e(f"Weekly review: {report['window']['rules'] or 'leadsync report'}"),
        style=style,
        now_month=_e(page.now_month),
        speed_unit=_e(page.speed_unit),
        body=body,
        data=_json_in_script(report),
        chart_js=chart_js,
        script=script,
    )
    return text.encode("utf-8")
