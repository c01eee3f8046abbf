"""Golden files: every example playbook decides its data set exactly as worked out by hand.

The expected decisions in ``examples/data/<name>/expected.jsonl`` were computed by hand from
CONTRACT.md (the arithmetic is in each WHY.md), not recorded from the engine.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from leadsync.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NAMES = sorted(p.stem for p in (EXAMPLES / "rules").glob("*.yaml"))


def test_every_playbook_has_a_data_set():
    assert NAMES == ["bant", "qualification-matrix", "score-70-24h", "smarketing-2h"]
    for name in NAMES:
        assert (EXAMPLES / "data" / name / "expected.jsonl").is_file()


@pytest.mark.parametrize("name", NAMES)
def test_playbook_decides_as_computed_by_hand(name: str) -> None:
    data = EXAMPLES / "data" / name
    args = [
        "evaluate",
        "--rules",
        str(EXAMPLES / "rules" / f"{name}.yaml"),
        "--contacts",
        str(data / "contacts.jsonl"),
        "--activities",
        str(data / "activities.jsonl"),
        "--owners",
        str(data / "owners.jsonl"),
        "--now",
        (data / "now.txt").read_text().strip(),
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    got = [json.loads(line) for line in result.stdout.splitlines()]
    expected = [json.loads(line) for line in (data / "expected.jsonl").read_text().splitlines() if line]
    assert [d["contact_id"] for d in got] == [d["contact_id"] for d in expected]
    for mine, theirs in zip(got, expected, strict=True):
        assert mine == theirs, mine["contact_id"]
        assert list(mine) == list(theirs)  # the key order of CONTRACT.md §5


@pytest.mark.parametrize("name", NAMES)
def test_playbook_validates(name: str) -> None:
    result = CliRunner().invoke(main, ["validate", str(EXAMPLES / "rules" / f"{name}.yaml")])
    assert result.exit_code == 0, result.output
    assert "valid" in result.stdout
