"""Issue 13: what ``evaluate`` says of input leadsync cannot compute with: ``FILE:LINE: what``,
exit 2, no traceback (defect 2: timestamps near year 1 or 9999; defect 8: control characters)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_cli import CONTACTS, evaluate, files, jsonl, problem_lines

__all__ = ["files"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("created_at", "0001-01-01T00:00:00+14:00"),
        ("created_at", "9999-12-31T23:59:59.999Z"),
        ("mql_at", "9999-12-31T23:59:59.999Z"),
        ("stage_changed_at", "0001-01-01T00:00:00+00:30"),
    ],
)
def test_a_timestamp_out_of_range_is_file_line_exit_2(files: dict[str, Path], field: str, value: str) -> None:
    rows = [dict(c) for c in CONTACTS]
    rows[1][field] = value
    files["contacts"].write_text(jsonl(rows))
    result = evaluate(files)
    assert result.exit_code == 2, result.output
    assert ("Traceback" not in result.output and result.exception is None) or isinstance(
        result.exception, SystemExit
    )
    assert problem_lines(result.stderr, files["contacts"]) == [2]
    assert f"`{field}`: timestamp `{value}` is outside what leadsync can compute with" in result.stderr


def test_an_activity_out_of_range_is_file_line_exit_2(files: dict[str, Path]) -> None:
    text = files["activities"].read_text().replace("2026-11-21T09:00:00Z", "9999-12-31T23:59:59.999Z")
    files["activities"].write_text(text)
    result = evaluate(files)
    assert result.exit_code == 2 and problem_lines(result.stderr, files["activities"]) == [3]


def test_a_horizon_past_what_leadsync_computes_is_a_rules_problem(files: dict[str, Path]) -> None:
    files["rules"].write_text(files["rules"].read_text().replace("due_in: 15m", "due_in: 99999999999d"))
    result = evaluate(files)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert (
        problem_lines(result.stderr, files["rules"]) and "longer than leadsync computes with" in result.stderr
    )


@pytest.mark.parametrize(
    "value", ["\x1b[2J\x1b[31mlead", "mql\nrules.yaml:1: all good", "sql\u2028x", "a\x00b\x7f"]
)
def test_control_characters_in_a_value_are_escaped_in_the_message(files: dict[str, Path], value: str) -> None:
    """Defect 8: a value quoted in a problem can neither drive the terminal nor forge a line."""
    rows = [dict(c) for c in CONTACTS]
    rows[0]["stage"] = value
    files["contacts"].write_text(jsonl(rows))
    result = evaluate(files)
    assert result.exit_code == 2
    assert problem_lines(result.stderr, files["contacts"]) == [1]
    assert len(result.stderr.strip().splitlines()) == 1  # one problem, one line
    assert not any(ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 or ch == "\u2028" for ch in result.stderr.strip())
    assert value.encode("unicode_escape").decode("ascii").replace("\\\\", "\\")[:6] in result.stderr
