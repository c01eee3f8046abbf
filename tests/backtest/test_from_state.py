"""`leadsync backtest --config` reads contacts, activities and owners from the state store (on
SQLite and PostgreSQL), a contact now in `customer` being won; the same replays as the files."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from leadsync.cli import main
from tests.report.test_from_state import EXAMPLE, config  # noqa: F401 - the fixture

PERIOD = ("--from", "2026-06-01", "--to", "2026-12-31", "--format", "json")


def _run(*args: object) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["backtest", *(str(a) for a in args)])
    return result.exit_code, result.stdout, result.stderr


def test_the_store_gives_the_replays_of_the_files(config: Path, tmp_path: Path) -> None:  # noqa: F811
    code, out, err = _run("--config", config, "--connection", "crm", *PERIOD)
    assert code == 0, err
    stored = json.loads(out)["playbooks"][0]
    outcomes = tmp_path / "outcomes.jsonl"
    contacts = [json.loads(line) for line in (EXAMPLE / "contacts.jsonl").read_text().splitlines() if line]
    won = [c for c in contacts if c.get("stage") == "customer"]
    outcomes.write_text(
        "".join(
            json.dumps({"contact_id": c["id"], "outcome": "won", "at": c["stage_changed_at"]}) + "\n"
            for c in won
        )
    )
    code, out, err = _run(
        "--rules", EXAMPLE / "rules.yaml", "--contacts", EXAMPLE / "contacts.jsonl",
        "--activities", EXAMPLE / "activities.jsonl", "--owners", EXAMPLE / "owners.jsonl",
        "--outcomes", outcomes, *PERIOD,
    )  # fmt: skip
    assert code == 0, err
    files = json.loads(out)["playbooks"][0]
    assert stored["won"] == files["won"] == len([c for c in won if c["created_at"] >= "2026-06"])
    for key in ("contacts", "handoffs", "handoffs_sql", "won_handed_off_before", "auc", "deciles", "owners"):
        assert stored[key] == files[key], key
    assert stored["handoffs"] > 0 and stored["owners"]


def test_config_excludes_the_record_files(config: Path) -> None:  # noqa: F811
    code, _, err = _run("--config", config, "--contacts", EXAMPLE / "contacts.jsonl", *PERIOD)
    assert code == 2
    assert "--contacts:0: --contacts and --config exclude each other" in err
