"""`leadsync report --config` reads the state store (each contact and its activities as leadsync
last read them, the owners as last read) and gives the same JSON as the records form for the same
records, on SQLite and on PostgreSQL; the store is opened read-only."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from leadsync.cli import main
from leadsync.records import contact_from_json
from leadsync.sync.state import StateStore, open_store
from leadsync.timeutil import parse_iso_ts

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "report"
NOW = (EXAMPLE / "now.txt").read_text().strip()


def _jsonl(name: str) -> list[dict]:
    return [json.loads(line) for line in (EXAMPLE / name).read_text().splitlines() if line]


def _fill(url: str, connection: str) -> None:
    """The example's records in the state store, as a sync leaves them."""
    contacts, activities = _jsonl("contacts.jsonl"), _jsonl("activities.jsonl")
    store = open_store(url)
    read_at = datetime(2026, 12, 9, 16, 0, tzinfo=UTC)
    rows = []
    for record in contacts:
        c = contact_from_json(record)
        rows.append(
            {
                "connection": connection,
                "contact_id": c.id,
                "record": record,
                "activities": [a for a in activities if a["contact_id"] == c.id],
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
        StateStore.save_owners(s, connection, _jsonl("owners.jsonl"))
    store.close()


@pytest.fixture
def config(tmp_path: Path, leadsync_store_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LEADSYNC_TEST_TOKEN", "pat-na1-SECRET-123")
    _fill(leadsync_store_url, "crm")
    path = tmp_path / "leadsync.yaml"
    path.write_text(
        f"state: {leadsync_store_url}\n"
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


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["report", *args])
    return result.exit_code, result.stdout, result.stderr


def test_the_same_json_as_from_the_records(config: Path) -> None:
    code, out, err = _run("--config", str(config), "--connection", "crm", "--now", NOW, "--format", "json")
    assert code == 0, err
    assert json.loads(out) == json.loads((EXAMPLE / "expected.json").read_text())
    week = ("--by", "week", "--from", "2026-11-30")
    code, out, err = _run(
        "--config", str(config), "--connection", "crm", "--now", NOW, *week, "--format", "json"
    )
    assert code == 0, err
    assert json.loads(out) == json.loads((EXAMPLE / "expected-week.json").read_text())


def test_a_connection_with_nothing_stored_reports_zeros(config: Path) -> None:
    code, out, err = _run("--config", str(config), "--connection", "other", "--now", NOW, "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["window"]["contacts"] == 0
    assert [r["handoffs"] for r in report["commitment"]] == [0, 0, 0]


def test_several_connections_need_one_named(config: Path) -> None:
    code, out, err = _run("--config", str(config), "--now", NOW)
    assert code == 2 and out == ""
    assert "several connections (other, crm); pick one with --connection" in err


def test_now_defaults_to_the_current_time(config: Path) -> None:
    code, out, err = _run("--config", str(config), "--connection", "crm", "--format", "json")
    assert code == 0, err
    now = parse_iso_ts(json.loads(out)["window"]["now"])
    assert abs((datetime.now(UTC) - now).total_seconds()) < 3600
