"""Reports of dict records, through the same parsers, engine and glue as ``leadsync report``."""

from __future__ import annotations

from datetime import date
from typing import Any

from leadsync.model import Activity
from leadsync.records import activity_from_json, contact_from_json, owner_from_json
from leadsync.report import ReportBuilder, make_window
from leadsync.report.inputs import Records, decide_into
from leadsync.timeutil import parse_iso_ts
from tests.support import rules

__all__ = ["report"]


def report(
    rules_text: str,
    contacts: list[dict[str, Any]],
    activities: list[dict[str, Any]] | None = None,
    owners: list[dict[str, Any]] | None = None,
    *,
    now: str,
    start: str | None = None,
    end: str | None = None,
    by: str = "month",
) -> dict[str, Any]:
    """The report's JSON object for these records at ``now``."""
    r = rules(rules_text)
    grouped: dict[str, list[Activity]] = {}
    for a in activities or []:
        act = activity_from_json(a, r.activity_types)
        grouped.setdefault(act.contact_id, []).append(act)
    owner_map = None if owners is None else {o["id"]: owner_from_json(o) for o in owners}
    at = parse_iso_ts(now)
    window = make_window(
        at,
        r.calendar.tz,
        None if start is None else date.fromisoformat(start),
        None if end is None else date.fromisoformat(end),
        by,
    )
    builder = ReportBuilder(r, window, owner_map)
    records = Records([contact_from_json(c) for c in contacts], lambda cid: grouped.get(cid, []), owner_map)
    decide_into(builder, r, records, at)
    return builder.result()
