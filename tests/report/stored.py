"""The worked example of examples/report in a state store, as a sync leaves it (``report --config``
and ``export`` read it)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from leadsync.records import contact_from_json
from leadsync.sync.state import StateStore, open_store

__all__ = ["EXAMPLE", "NOW", "example_jsonl", "fill_store", "save_records", "write_config"]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "report"
NOW = (EXAMPLE / "now.txt").read_text().strip()


def example_jsonl(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (EXAMPLE / name).read_text().splitlines() if line]


def save_records(
    store: StateStore,
    connection: str,
    contacts: list[dict[str, Any]],
    activities: list[dict[str, Any]],
    owners: list[dict[str, Any]],
) -> None:
    """These records in the state store, as a sync leaves them (each contact's activities in its row)."""
    read_at = datetime(2026, 12, 9, 16, 0, tzinfo=UTC)
    grouped: dict[str, list[dict[str, Any]]] = {}
    for a in activities:
        grouped.setdefault(a["contact_id"], []).append(a)
    rows = []
    for record in contacts:
        c = contact_from_json(record)
        rows.append(
            {
                "connection": connection,
                "contact_id": c.id,
                "record": record,
                "activities": grouped.get(c.id, []),
                "read_at": read_at,
                "recheck_at": None,
                "stage": c.stage,
                "sla_status": None,
                "domain": c.domain,
                "created_at": c.created_at,
                "owner_id": c.owner_id,
                "assigned_at": c.assigned_at,
            }
        )
    with store.transaction() as s:
        StateStore.save_contacts(s, rows)
        StateStore.save_owners(s, connection, owners)


def fill_store(url: str, connection: str) -> None:
    """The example's records in the state store at ``url``."""
    store = open_store(url)
    try:
        save_records(
            store,
            connection,
            example_jsonl("contacts.jsonl"),
            example_jsonl("activities.jsonl"),
            example_jsonl("owners.jsonl"),
        )
    finally:
        store.close()


def write_config(path: Path, url: str) -> Path:
    """A config at ``path`` with two connections on the example's rules: ``other`` (nothing
    stored) and ``crm`` (what ``fill_store`` stored). Needs $LEADSYNC_TEST_TOKEN set."""
    path.write_text(
        f"state: {url}\n"
        "log: {level: warning, format: json}\n"
        "connections:\n"
        "  - name: other\n"
        "    adapter: tests.sync.fake_crm:from_options\n"
        f"    rules: {EXAMPLE / 'rules.yaml'}\n"
        "    token_env: LEADSYNC_TEST_TOKEN\n"
        "  - name: crm\n"
        "    adapter: tests.sync.fake_crm:from_options\n"
        f"    rules: {EXAMPLE / 'rules.yaml'}\n"
        "    token_env: LEADSYNC_TEST_TOKEN\n"
    )
    return path
