"""`leadsync report` on the command line: the worked example (examples/report/, computed by hand
in its WHY.md) in every format, and bad flags and input refused with exit 2, nothing written."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from leadsync.cli import main
from leadsync.report.tables import tables

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "report"
NOW = (EXAMPLE / "now.txt").read_text().strip()
RECORDS = [
    "--rules",
    str(EXAMPLE / "rules.yaml"),
    "--contacts",
    str(EXAMPLE / "contacts.jsonl"),
    "--activities",
    str(EXAMPLE / "activities.jsonl"),
    "--owners",
    str(EXAMPLE / "owners.jsonl"),
    "--now",
    NOW,
]


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["report", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("expected", "flags"),
    [("expected.json", []), ("expected-week.json", ["--by", "week", "--from", "2026-11-30"])],
)
def test_the_worked_example_as_computed_by_hand(expected: str, flags: list[str]) -> None:
    code, out, err = invoke(*RECORDS, *flags, "--format", "json")
    assert code == 0, err
    assert json.loads(out) == json.loads((EXAMPLE / expected).read_text())


def test_json_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    code, stdout, _ = invoke(*RECORDS, "--format", "json", "--out", str(out))
    assert code == 0 and stdout == ""
    assert json.loads(out.read_text()) == json.loads((EXAMPLE / "expected.json").read_text())


def test_csv_one_file_per_table_with_the_json_numbers(tmp_path: Path) -> None:
    folder = tmp_path / "review"
    code, stdout, err = invoke(*RECORDS, "--format", "csv", "--out", str(folder))
    assert code == 0 and stdout == "", err
    names = ["commitment", "funnel", "funnel_by_source", "sla", "sla_by_owner", "reasons"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{n}.csv" for n in names)
    report = json.loads((EXAMPLE / "expected.json").read_text())
    for stem, header, rows in tables(report):
        with (folder / f"{stem}.csv").open(newline="") as handle:
            got = list(csv.reader(handle))
        shown = [
            ["" if v is None else str(v).lower() if isinstance(v, bool) else str(v) for v in r] for r in rows
        ]
        assert got == [header, *shown], stem
    commitment = (folder / "commitment.csv").read_text().splitlines()
    assert commitment == [
        "month,handoffs,committed,projected,met",
        "2026-10,2,4,2,false",
        "2026-11,2,4,2,false",
        "2026-12,4,4,14,true",
    ]
    reasons = (folder / "reasons.csv").read_text().splitlines()
    assert reasons[0] == "kind,reason,label,count,share,(none),organic,paid_search"
    assert reasons[1] == "code,no_budget,Sin presupuesto,1,0.333,0,0,1"
    assert reasons[-1] == "unknown,No Contesta,,1,,,,"


def test_text_for_a_person() -> None:
    code, out, err = invoke(*RECORDS)
    assert code == 0, err
    assert "MQLs handed to sales, month by month (marketing commits 4 a month)" in out
    assert "  2026-12 *         4         14          4  yes" in out
    assert "  u-ben   Ben Ortiz         3        2     1     0       66.7%          75      240" in out
    assert "met = the projected handoffs reach the commitment." in out
    assert "'No Contesta'" in out


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--from", "2026-13-01"], "--from:0: `2026-13-01` is not a date; write it as YYYY-MM-DD"),
        (["--to", "12/09/2026"], "--to:0: `12/09/2026` is not a date"),
        (["--from", "2026-12-10"], "--from:0: the window is empty: from 2026-12-10 to 2026-12-09"),
        (["--format", "csv"], "--out:0: `--format csv` writes one file per table: give a folder with --out"),
        (["--out", "/nonexistent/r.json"], "--out:0: the folder /nonexistent does not exist; create it"),
        (["--config", "leadsync.yaml"], "--config:0: give either --rules with the record files, or --config"),
    ],
)
def test_bad_flags(flags: list[str], message: str) -> None:
    code, out, err = invoke(*RECORDS, *flags)
    assert code == 2 and out == ""
    assert message in err


def test_the_records_form_needs_its_files_and_now() -> None:
    code, out, err = invoke("--rules", str(EXAMPLE / "rules.yaml"))
    assert code == 2 and out == ""
    for flag in ("--contacts", "--activities", "--now"):
        assert f"{flag}:0: missing: the report from records needs {flag} with --rules" in err


def test_an_unknown_format_is_refused() -> None:
    code, _, err = invoke(*RECORDS, "--format", "pdf")
    assert code == 2 and "'pdf' is not one of 'text', 'json', 'csv', 'html'" in err


def test_bad_input_is_refused_at_its_line_and_nothing_is_written(tmp_path: Path) -> None:
    contacts = tmp_path / "contacts.jsonl"
    lines = (EXAMPLE / "contacts.jsonl").read_text().splitlines()
    lines[2] = lines[2].replace('"2026-09-01T09:00:00Z"', '"2026-09-01 09:00"')
    contacts.write_text("\n".join(lines) + "\n")
    out = tmp_path / "review"
    flags = [*RECORDS]
    flags[flags.index("--contacts") + 1] = str(contacts)
    code, stdout, err = invoke(*flags, "--format", "csv", "--out", str(out))
    assert code == 2 and stdout == ""
    assert f"{contacts}:3:" in err and "offset" in err
    assert not out.exists()
