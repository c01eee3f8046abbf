"""The report's tables as rows of cells: what ``csv`` writes, one file per table, and what ``text``
lays out. Built from the JSON object, so every format shows the same numbers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = ["FUNNEL_COLUMNS", "SLA_COLUMNS", "Table", "tables"]

FUNNEL_COLUMNS = (
    "handoffs",
    "sql",
    "opportunity",
    "customer",
    "nurture",
    "disqualified",
    "open",
    "sql_rate",
    "customer_rate",
)
SLA_COLUMNS = (
    "handoffs",
    "on_time",
    "late",
    "open",
    "compliance",
    "speed_to_lead_median_min",
    "speed_to_lead_p90_min",
)

Table = tuple[str, list[str], list[list[Any]]]  # (file stem, header, rows)


def _sla_cells(row: dict[str, Any]) -> list[Any]:
    speed = row["speed_to_lead_min"]
    return [row[c] for c in SLA_COLUMNS[:5]] + [speed["median"], speed["p90"]]


def _reason_sources(reasons: dict[str, Any]) -> list[str]:
    """Every source among the reasons, the most reasons first, then by name."""
    totals: dict[str, int] = {}
    for row in reasons["rows"]:
        for source, n in row["by_source"].items():
            totals[source] = totals.get(source, 0) + n
    return [s for s, _ in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))]


def tables(report: dict[str, Any]) -> Iterator[Table]:
    """``commitment``, ``funnel``, ``funnel_by_source``, ``sla`` and ``sla_by_owner`` (with an SLA),
    ``reasons``: known codes (kind ``code``) then texts matching no code (kind ``unknown``), with one
    column per source."""
    yield (
        "commitment",
        ["month", "handoffs", "committed", "projected", "met"],
        [[r["month"], r["handoffs"], r["committed"], r["projected"], r["met"]] for r in report["commitment"]],
    )
    funnel = report["funnel"]
    yield (
        "funnel",
        ["period", *FUNNEL_COLUMNS],
        [[r["period"], *(r[c] for c in FUNNEL_COLUMNS)] for r in funnel["periods"]],
    )
    yield (
        "funnel_by_source",
        ["source", *FUNNEL_COLUMNS],
        [[r["source"], *(r[c] for c in FUNNEL_COLUMNS)] for r in funnel["by_source"]],
    )
    sla = report.get("sla")
    if sla is not None:
        yield ("sla", ["period", *SLA_COLUMNS], [[r["period"], *_sla_cells(r)] for r in sla["periods"]])
        yield (
            "sla_by_owner",
            ["owner_id", "name", *SLA_COLUMNS],
            [[r["owner_id"], r["name"], *_sla_cells(r)] for r in sla["by_owner"]],
        )
    reasons = report["reasons"]
    sources = _reason_sources(reasons)
    rows: list[list[Any]] = [
        [
            "code",
            r["reason"],
            r["label"],
            r["count"],
            r["share"],
            *(r["by_source"].get(s, 0) for s in sources),
        ]
        for r in reasons["rows"]
    ]
    rows += [
        ["unknown", u["value"], None, u["count"], None, *(None for _ in sources)] for u in reasons["unknown"]
    ]
    yield ("reasons", ["kind", "reason", "label", "count", "share", *sources], rows)
