"""`bench/engine.py` runs at HEAD: generated on a tiny input, in both memory layouts, as a table
row and as one line of JSON (issue 14: every bench script runs, and the engine's rate is its
contacts per CPU-second)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "examples" / "rules"
TINY = ("--contacts", "200", "--activities-per-contact", "3")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("engine-data")
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "generate.py"), "--out", str(out), *TINY],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return out


def _engine(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "engine.py"), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.parametrize("rules", ["bant.yaml", "smarketing-2h.yaml"])
def test_the_json_line_gives_the_engine_rate_in_contacts_per_cpu_second(data: Path, rules: str) -> None:
    out = _engine("--rules", str(RULES / rules), "--data", str(data), "--json")
    (line,) = out.splitlines()
    result = orjson.loads(line)
    assert result["rules"] == rules
    assert result["contacts"] == 200
    assert result["layout"] == "contact"
    assert result["engine_contacts_per_cpu_s"] > 0
    assert {"load_cpu_s", "decide_cpu_s", "write_cpu_s", "peak_rss_mib"} <= result.keys()


def test_the_table_row_in_file_order(data: Path) -> None:
    out = _engine("--rules", str(RULES / "bant.yaml"), "--data", str(data), "--file-order")
    header, row = out.splitlines()
    assert "engine contacts/CPU-s" in header
    assert row.startswith("| `bant.yaml` | 200 |")


def test_the_contact_ordered_copy_holds_every_record_grouped_by_contact(data: Path, tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from engine import contact_ordered_copy
    finally:
        sys.path.remove(str(ROOT / "bench"))
    copy = contact_ordered_copy(data, tmp_path)
    for name in ("contacts.jsonl", "activities.jsonl", "owners.jsonl"):
        before = (data / name).read_bytes().splitlines()
        after = (copy / name).read_bytes().splitlines()
        assert sorted(before) == sorted(after)
    ids = [orjson.loads(line)["contact_id"] for line in (copy / "activities.jsonl").read_bytes().splitlines()]
    assert ids == sorted(ids)

    # Within a contact the file's order is kept: a repeated activity id still means "the last one read".
    def by_contact(path: Path) -> dict[str, list[bytes]]:
        grouped: dict[str, list[bytes]] = {}
        for line in path.read_bytes().splitlines():
            grouped.setdefault(orjson.loads(line)["contact_id"], []).append(line)
        return grouped

    assert by_contact(data / "activities.jsonl") == by_contact(copy / "activities.jsonl")
