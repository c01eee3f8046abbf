"""``evaluate`` over a memory budget (issue 14, item 3): the input partitioned by contact on disk
gives the same bytes, summary and explanations as the input decided in memory, the same FILE:LINE
problems for bad input, nothing written, and no temporary file left behind."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from leadsync.errors import RecordsError
from leadsync.evaluate import Evaluation, evaluate, partitions
from leadsync.explain import render_explanation
from leadsync.rules.loader import load_rules
from leadsync.timeutil import parse_iso_ts

ROOT = Path(__file__).resolve().parents[2]
NOW = "2026-11-23T10:00:00Z"
TINY = 40_000  # input bytes per partition: a few dozen contacts each


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("data")
    size = ["--contacts", "400", "--activities-per-contact", "4"]
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "generate.py"), *size, "--now", NOW, "--out", str(out)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return out


def _run(rules: str, data: Path, budget: int, explain: str | None = None) -> tuple[bytes, Evaluation]:
    buffer = io.BytesIO()
    result = evaluate(
        load_rules(ROOT / "examples" / "rules" / rules),
        data / "contacts.jsonl",
        data / "activities.jsonl",
        data / "owners.jsonl",
        parse_iso_ts(NOW),
        explain=explain,
        write=None if explain else buffer.write,
        budget=budget,
    )
    return buffer.getvalue(), result


@pytest.mark.parametrize("rules", ["bant.yaml", "smarketing-2h.yaml"])
def test_partitioned_decisions_are_the_in_memory_ones(data: Path, rules: str) -> None:
    assert partitions(data / "contacts.jsonl", data / "activities.jsonl", TINY) > 5
    whole, a = _run(rules, data, 1 << 40)
    parts, b = _run(rules, data, TINY)
    assert parts == whole
    assert b.summary() == a.summary()
    assert a.stages.get("mql", 0) + a.stages.get("sql", 0) > 10  # routing was exercised


@pytest.mark.parametrize("rules", ["bant.yaml", "smarketing-2h.yaml"])
def test_partitioned_explanations_are_the_in_memory_ones(data: Path, rules: str) -> None:
    import orjson

    whole, _ = _run(rules, data, 1 << 40)
    decisions = [orjson.loads(line) for line in whole.splitlines()]
    routed = [d["contact_id"] for d in decisions if d["routing"] not in ("none",)][:3]
    others = [d["contact_id"] for d in decisions if d["routing"] == "none"][:2]
    now = datetime.fromisoformat(NOW)
    loaded = load_rules(ROOT / "examples" / "rules" / rules)
    for cid in routed + others:
        texts = []
        for budget in (1 << 40, TINY):
            _, result = _run(rules, data, budget, explain=cid)
            assert result.explained is not None
            texts.append(render_explanation(result.explained, result.notes, loaded, now))
        assert texts[0] == texts[1], cid


def test_a_repeated_contact_is_named_with_both_lines_when_partitioned(data: Path, tmp_path: Path) -> None:
    lines = (data / "contacts.jsonl").read_bytes().splitlines(keepends=True)
    bad = tmp_path / "contacts.jsonl"
    bad.write_bytes(b"".join([*lines, lines[3], lines[7]]))
    for name in ("activities.jsonl", "owners.jsonl"):
        (tmp_path / name).write_bytes((data / name).read_bytes())
    problems = []
    for budget in (1 << 40, TINY):
        with pytest.raises(RecordsError) as caught:
            _run("bant.yaml", tmp_path, budget)
        problems.append([str(p) for p in caught.value.problems])
    assert problems[0] == problems[1]
    assert problems[0][0].endswith("is already on line 4")


def test_a_bad_activity_late_in_a_partitioned_run_writes_nothing(data: Path, tmp_path: Path) -> None:
    for name in ("contacts.jsonl", "owners.jsonl"):
        (tmp_path / name).write_bytes((data / name).read_bytes())
    text = (data / "activities.jsonl").read_bytes()
    (tmp_path / "activities.jsonl").write_bytes(text + b'{"id": "late", "contact_id": "c1"}\n')
    spill = tmp_path / "spill"
    spill.mkdir()
    out = tmp_path / "decisions.jsonl"
    inputs = [f"--{name}={tmp_path / name}.jsonl" for name in ("contacts", "activities", "owners")]
    leadsync = [str(Path(sys.executable).parent / "leadsync"), "evaluate", "--rules=examples/rules/bant.yaml"]
    done = subprocess.run(
        [*leadsync, *inputs, "--now", NOW, "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        env={**os.environ, "LEADSYNC_EVALUATE_PARTITION_MB": "1", "TMPDIR": str(spill)},
        check=False,
    )
    lines = text.count(b"\n") + 1
    assert done.returncode == 2, done.stderr
    assert done.stderr.decode().strip() == f"{tmp_path / 'activities.jsonl'}:{lines}: `type` is required"
    assert done.stdout == b""
    assert not out.exists()
    assert list(spill.iterdir()) == []
