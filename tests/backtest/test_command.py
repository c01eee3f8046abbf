"""``leadsync backtest`` from the command line: files in, text or JSON out; bad flags; Olist."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner, Result

from leadsync.cli import main

ROOT = Path(__file__).resolve().parents[2]
DATASETS = ROOT.parent / "shared" / "datasets"

NEW = """\
version: 1
timezone: UTC
scoring:
  fit:
    - {name: director, if: {field: title, matches: "(?i)director"}, points: 50}
  engagement:
    - {name: demo, activity: demo_request, points: 60}
stages:
  mql: {score_at_least: 100}
  sql:
    bant:
      budget: {field: budget_status, in: [approved]}
    require: 1
routing:
  pools:
    - {name: all, owners: [u1, u2], strategy: round_robin}
commitments:
  marketing_mqls_per_month: 2
"""
BASE = NEW.replace("points: 60", "points: 100")

CONTACTS = [
    {"id": "c1", "created_at": "2026-01-05T10:00:00Z", "title": "Director", "lead_source": "web"},
    {"id": "c2", "created_at": "2026-01-06T10:00:00Z", "title": "Analyst", "lead_source": "web"},
    {
        "id": "c3",
        "created_at": "2026-02-01T10:00:00Z",
        "title": "Analyst",
        "lead_source": "ads",
        "properties": {"budget_status": "approved"},
    },
]
ACTIVITIES = [
    {"id": "a1", "contact_id": "c1", "type": "demo_request", "at": "2026-01-10T10:00:00Z"},
    {"id": "a2", "contact_id": "c2", "type": "demo_request", "at": "2026-01-20T10:00:00Z"},
]
OUTCOMES = [
    {"contact_id": "c1", "outcome": "won", "at": "2026-02-15T10:00:00Z"},
    {"contact_id": "c2", "outcome": "lost", "at": "2026-03-01T10:00:00Z"},
]


def jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return path


def run(*args: object) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def args(tmp_path: Path) -> list[object]:
    (tmp_path / "new.yaml").write_text(NEW)
    (tmp_path / "base.yaml").write_text(BASE)
    return [
        "backtest", "--rules", tmp_path / "new.yaml", "--baseline", tmp_path / "base.yaml",
        "--contacts", jsonl(tmp_path / "c.jsonl", CONTACTS),
        "--activities", jsonl(tmp_path / "a.jsonl", ACTIVITIES),
        "--outcomes", jsonl(tmp_path / "o.jsonl", OUTCOMES),
        "--owners", jsonl(tmp_path / "owners.jsonl", [{"id": "u1"}, {"id": "u2"}]),
        "--from", "2026-01-01", "--to", "2026-02-28",
    ]  # fmt: skip


def test_json_side_by_side(args: list[object]) -> None:
    result = run(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    out = orjson.loads(result.stdout)
    new, base = out["playbooks"]
    # NEW: c1 (50 + 60) at its demo, c3 by the SQL rule at creation; c2 (60) never.
    # Baseline: c2's demo alone reaches 100 too.
    assert (new["handoffs"], new["handoffs_sql"], base["handoffs"]) == (2, 1, 3)
    assert [m["handoffs"] for m in new["months"]] == [1, 1]
    assert new["months"][0]["commitment"] == 2
    assert (new["won"], new["won_handed_off_before"], new["recall"]) == (1, 1, 1.0)
    assert (new["judged"], new["won_in_window"], new["precision"]) == (0, 0, None)  # data ends 2026-03-01
    assert new["too_recent"] == 2
    assert new["owners"] == [
        {"owner": "u1", "month": "2026-01", "handoffs": 1},
        {"owner": "u2", "month": "2026-02", "handoffs": 1},
    ]
    assert new["leakage"] == ["budget_status (sql)"]
    assert out["changes"]["gains"] == 0 and out["changes"]["losses"] == 1
    [loss] = out["changes"]["listed"]
    assert loss["contact_id"] == "c2" and loss["change"] == "loses"
    assert loss["why"] == ["demo: +100 -> +60", "score 100 -> 60"]


def test_text_names_both_playbooks_and_warns(args: list[object]) -> None:
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert "Warning (new): possible leakage" in result.stdout and "budget_status (sql)" in result.stdout
    assert "Handoffs per month" in result.stdout and "Lift by decile" in result.stdout
    assert "loses  2026-01-20T10:00:00Z    -  demo: +100 -> +60; score 100 -> 60" in result.stdout


def test_bad_flags_and_outcomes_are_refused(args: list[object], tmp_path: Path) -> None:
    result = run(*args[:-4], "--from", "2026-02-01", "--to", "2026-01-01", "--window", "2h")
    assert result.exit_code == 2
    assert "--window:0: `2h` must be in days" in result.output
    assert "--to:0: --to 2026-01-01 is before --from 2026-02-01" in result.output
    bad = jsonl(
        tmp_path / "o.jsonl", [{"contact_id": "c1", "outcome": "maybe", "at": "2026-01-01T00:00:00Z"}]
    )
    result = run(*args)
    assert result.exit_code == 2
    assert f"{bad}:1: `outcome` must be won or lost" in result.output


OLIST = DATASETS / "olist_marketing_funnel"


@pytest.mark.skipif(not OLIST.is_dir(), reason="../shared/datasets absent")
def test_olist_monthly_mqls_and_won_rate_by_origin(tmp_path: Path) -> None:
    csv_file = OLIST / "olist_marketing_qualified_leads_dataset.csv"
    done = run("convert", "--mapping", ROOT / "examples/convert/olist.yaml", csv_file, "--out", tmp_path)
    assert done.exit_code == 0, done.output
    result = run(
        "backtest", "--rules", ROOT / "examples/backtest/olist_current.yaml",
        "--contacts", tmp_path / "contacts.jsonl", "--activities", tmp_path / "activities.jsonl",
        "--outcomes", tmp_path / "outcomes.jsonl", "--from", "2017-06-01", "--to", "2018-05-31",
        "--window", "180d", "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    [book] = orjson.loads(result.stdout)["playbooks"]
    # The data set's own table (shared/datasets/PROFILE.md), in Brazil's time.
    assert [m["handoffs"] for m in book["months"]] == [
        4,
        239,
        386,
        312,
        416,
        445,
        200,
        1141,
        1028,
        1174,
        1352,
        1303,
    ]
    assert [m["won_ever"] for m in book["months"]] == [0, 2, 9, 7, 14, 18, 11, 152, 149, 167, 183, 130]
    rates = {s["source"]: s["won_rate"] for s in book["sources"]}
    assert rates["organic_search"] == 0.118 and rates["paid_search"] == 0.123 and rates["social"] == 0.056
    assert rates["unknown"] == 0.163 and rates["email"] == 0.030 and rates["(none)"] == 0.233
    assert book["won"] == 842 and book["handoffs"] == 8000
    # The last cohort is too recent for a 180-day window (data ends 2018-11-14).
    assert book["months"][-1]["too_recent"] > 0 and book["months"][0]["too_recent"] == 0
