"""A connection's rules file, re-read when it changes; the hash that says the rules changed."""

from __future__ import annotations

from pathlib import Path

import structlog
from structlog.testing import capture_logs

from leadsync.sync.rulesource import RulesFile, rules_sha

PLAYBOOK = Path(__file__).resolve().parents[2] / "examples" / "rules" / "score-70-24h.yaml"


def test_an_edit_is_read_at_the_next_look_and_a_comment_changes_no_hash(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    text = PLAYBOOK.read_text(encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    rules = RulesFile(path)
    first = rules.current(structlog.get_logger())
    assert first is rules.rules
    path.write_text("# a comment only\n" + text, encoding="utf-8")
    assert rules_sha(rules.current(structlog.get_logger())) == rules_sha(first)
    path.write_text(text.replace("score_at_least: 70", "score_at_least: 20"), encoding="utf-8")
    edited = rules.current(structlog.get_logger())
    assert edited.mql is not None and edited.mql.score_at_least == 20
    assert rules_sha(edited) != rules_sha(first)


def test_an_invalid_edit_keeps_the_last_rules_and_says_where(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(PLAYBOOK.read_text(encoding="utf-8"), encoding="utf-8")
    rules = RulesFile(path)
    good = rules.rules
    path.write_text("version: 1\nstages: {mql: {score_at_least: lots}}\n", encoding="utf-8")
    with capture_logs() as logs:
        assert rules.current(structlog.get_logger()) is good
    [event] = [e for e in logs if e["event"] == "rules_invalid"]
    assert event["log_level"] == "error" and any(p.startswith(f"{path}:") for p in event["problems"])
