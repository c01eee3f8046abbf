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
from leadsync.timeutil import parse_iso_ts
from tests.report.stored import EXAMPLE, NOW, fill_store, write_config


@pytest.fixture
def config(tmp_path: Path, leadsync_store_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LEADSYNC_TEST_TOKEN", "pat-na1-SECRET-123")
    fill_store(leadsync_store_url, "crm")
    return write_config(tmp_path / "leadsync.yaml", leadsync_store_url)


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
