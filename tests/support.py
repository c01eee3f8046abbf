"""Builders for table-driven tests: rules from YAML text, records from dicts, decisions as JSON."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from leadsync.decision import Decision, LastWritten
from leadsync.model import Activity
from leadsync.records import activity_from_json, contact_from_json, owner_from_json
from leadsync.rules.compiled import Rules
from leadsync.rules.decide import RunStats, decide_all
from leadsync.rules.loader import rules_from_source
from leadsync.rules.routing import RoutingState
from leadsync.rules.yamlsource import load_yaml_text
from leadsync.timeutil import parse_iso_ts

NOW = "2026-11-23T10:00:00Z"  # a Monday
NOW_DT = datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)


def ago(days: float = 0, hours: float = 0, seconds: float = 0) -> str:
    """A timestamp that long before NOW (negative: after NOW)."""
    ts = NOW_DT - timedelta(days=days, hours=hours, seconds=seconds)
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def table(rows: list[tuple[Any, ...]]) -> list[Any]:
    """pytest params from rows whose first item is the test id."""
    return [pytest.param(*row[1:], id=row[0]) for row in rows]


def rules(text: str, name: str = "rules.yaml") -> Rules:
    """Compile rules from YAML text; ``version: 1`` is added when missing."""
    text = textwrap.dedent(text)
    if "version:" not in text:
        text = "version: 1\n" + text
    return rules_from_source(load_yaml_text(text, name))


def contact(id: str = "c1", **fields: Any) -> dict[str, Any]:
    """A contact dict with a created_at default."""
    return {"id": id, "created_at": "2026-11-01T09:00:00Z", **fields}


def activity(id: str, type: str, at: str, contact_id: str = "c1", **props: Any) -> dict[str, Any]:
    owner = props.pop("owner_id", None)
    record: dict[str, Any] = {"id": id, "contact_id": contact_id, "type": type, "at": at}
    if owner:
        record["owner_id"] = owner
    if props:
        record["properties"] = props
    return record


def decide_objects(
    r: Rules,
    contacts: list[dict[str, Any]],
    activities: list[dict[str, Any]] | None = None,
    owners: list[dict[str, Any]] | None = None,
    now: str = NOW,
    *,
    last_written: dict[str, LastWritten] | None = None,
    routing_state: RoutingState | None = None,
    explain: str | None = None,
    notes: list[str] | None = None,
    stats: RunStats | None = None,
) -> list[Decision]:
    """Decide dict records through the same parsers and engine as ``leadsync evaluate``."""
    parsed = [contact_from_json(c) for c in contacts]
    grouped: dict[str, list[Activity]] = {}
    for a in activities or []:
        act = activity_from_json(a, r.activity_types)
        grouped.setdefault(act.contact_id, []).append(act)
    owner_map = None if owners is None else {o["id"]: owner_from_json(o) for o in owners}
    return decide_all(
        r,
        parsed,
        lambda cid: grouped.get(cid, []),
        owner_map,
        parse_iso_ts(now),
        last_written=last_written,
        routing_state=routing_state,
        explain=explain,
        notes=notes,
        stats=stats,
    )


def decide(
    r: Rules,
    contacts: list[dict[str, Any]],
    activities: list[dict[str, Any]] | None = None,
    owners: list[dict[str, Any]] | None = None,
    now: str = NOW,
    **kw: Any,
) -> dict[str, dict[str, Any]]:
    """Decisions as evaluate's JSON, by contact id."""
    return {d.contact_id: d.to_json() for d in decide_objects(r, contacts, activities, owners, now, **kw)}
