"""The backtest as text: the playbooks side by side, in the report's table style."""

from __future__ import annotations

from typing import Any

from leadsync.report.text import _show, _table

__all__ = ["LISTED", "render_text"]

LISTED = 20  # contacts gaining or losing a handoff shown in the text


def _num(value: Any) -> str:
    return "-" if value is None else f"{value:g}"


def _pct(value: Any) -> str:
    return _show(value, percent=True)


def render_text(result: dict[str, Any]) -> str:
    books = result["playbooks"]
    names = [f"{b['label']} ({b['rules']})" for b in books]
    labels = [b["label"] for b in books]
    out = [
        f"leadsync backtest: contacts created {result['from']} to {result['to']}, replayed point in time;"
        f" won within {result['window_days']} days of the handoff; data up to {result['as_of']}",
        *(f"  {label}: {name}" for label, name in zip(labels, names, strict=True)),
        "",
    ]
    for b in books:
        if b["leakage"]:
            out.append(
                f"Warning ({b['label']}): possible leakage. These fields hold only today's value,"
                f" and the replay reads them at every moment since creation: {', '.join(b['leakage'])}."
            )
    if any(b["leakage"] for b in books):
        out.append("")
    summary = [
        ("contacts", "contacts", _show),
        ("disqualified before a handoff", "disqualified", _show),
        ("handoffs (MQL + SQL)", "handoffs", _show),
        ("  of which SQL", "handoffs_sql", _show),
        ("handoffs judged (window over)", "judged", _show),
        ("  won within the window", "won_in_window", _show),
        ("precision", "precision", _pct),
        ("too recent to judge", "too_recent", _show),
        ("won contacts", "won", _show),
        ("  handed off before won", "won_handed_off_before", _show),
        ("recall", "recall", _pct),
        ("AUC of the score", "auc", _show),
    ]
    out.append("Summary")
    out += _table(["", *labels], [[title, *(fmt(b[key]) for b in books)] for title, key, fmt in summary])
    out += ["", "Handoffs per month (commitment: marketing_mqls_per_month)"]
    header = ["month"]
    for label in labels:
        header += [f"{label} handoffs", "commit", "won ever", "judged", "won", "precision", "too recent"]
    rows = []
    for i, month in enumerate(books[0]["months"]):
        row = [month["month"]]
        for b in books:
            m = b["months"][i]
            row += [
                _show(m["handoffs"]),
                _num(m["commitment"]),
                _show(m["won_ever"]),
                _show(m["judged"]),
                _show(m["won_in_window"]),
                _pct(m["precision"]),
                _show(m["too_recent"]),
            ]
        rows.append(row)
    out += _table(header, rows)
    out += ["", "Conversion by score band (won, any time)"]
    for b in books:
        out.append(f" {b['label']}")
        out += _table(
            ["band", "contacts", "won", "conversion"],
            [[r["band"], _show(r["contacts"]), _show(r["won"]), _pct(r["conversion"])] for r in b["bands"]],
        )
    out += ["", "Lift by decile of the score (decile 1: the highest scores)"]
    header = ["decile"]
    for label in labels:
        header += [f"{label} scores", "won", "conversion", "lift"]
    rows = []
    for i in range(max(len(b["deciles"]) for b in books)):
        row = [str(i + 1)]
        for b in books:
            d = b["deciles"][i] if i < len(b["deciles"]) else None
            row += (
                ["", "", "", ""]
                if d is None
                else [
                    f"{d['score_from']:g}..{d['score_to']:g}",
                    _show(d["won"]),
                    _pct(d["conversion"]),
                    _show(d["lift"]),
                ]
            )
        rows.append(row)
    out += _table(header, rows)
    out += ["", "By source (lead_source): won rate of the contacts, precision of the handoffs"]
    header = ["source", "contacts", "won", "won rate"]
    for label in labels:
        header += [f"{label} handoffs", "precision"]
    by_source = [{s["source"]: s for s in b["sources"]} for b in books]
    rows = []
    for s in books[0]["sources"]:
        row = [s["source"], _show(s["contacts"]), _show(s["won"]), _pct(s["won_rate"])]
        for table in by_source:
            t = table[s["source"]]
            row += [_show(t["handoffs"]), _pct(t["precision"])]
        rows.append(row)
    out += _table(header, rows)
    out += ["", "Load per owner per month under the routing rules"]
    for b in books:
        out.append(f" {b['label']}")
        if b["owners"] is None:
            out.append("  (no owners: nobody is routed; give --owners)")
        else:
            out += _table(
                ["owner", "month", "handoffs"],
                [[r["owner"], r["month"], _show(r["handoffs"])] for r in b["owners"]],
            )
    changes = result["changes"]
    listed = changes["listed"][:LISTED]
    if len(books) == 2:
        out += [
            "",
            f"Contacts that {labels[0]} hands off and {labels[1]} does not: {changes['gains']};"
            f" the reverse: {changes['losses']}",
        ]
        out += _table(
            ["contact", "change", "handoff", "won", "why"],
            [
                [c["contact_id"], c["change"], c["handoff_at"], _show(c["won_at"]), "; ".join(c["why"])]
                for c in changes["listed"]
            ],
            last_left=True,
        )
        if changes["gains"] + changes["losses"] > len(listed):
            out.append(f"  (the first {len(listed)} by id; --format json lists {len(changes['listed'])})")
    mismatches = sum(b["replay_mismatches"] for b in books)
    if mismatches:
        out += [
            "",
            f"Internal check: {mismatches} handoffs where the replay's score differs from the engine's.",
        ]
    return "\n".join(out) + "\n"
