"""`bench/versus.py`: evaluate against the dataframe peer (bench/peer/score.py) runs at HEAD, the two
agree on every contact of a tiny input, and a disagreement is reported, not hidden."""

from __future__ import annotations

import importlib
import json
import re
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tests.bench.runbench import BENCH, ROOT, run_bench


@pytest.fixture(scope="module")
def versus() -> Iterator[ModuleType]:
    sys.path.insert(0, str(BENCH))  # versus.py imports run.py as the scripts do
    try:
        yield importlib.import_module("versus")
    finally:
        sys.path.remove(str(BENCH))


def test_evaluate_and_the_peer_agree_on_every_contact(tiny_data: Path) -> None:
    leadsync = str(Path(sys.executable).with_name("leadsync"))
    args = ["--data", str(tiny_data), "--repeat", "1", "--json", "--leadsync", leadsync]
    done = run_bench("versus.py", *args, "--peer-python", sys.executable)
    summary = json.loads(done.stdout)
    assert summary["ok"] is True
    rows = {r["rules"]: r for r in summary["playbooks"]}
    assert set(rows) == {"bant.yaml", "smarketing-2h.yaml"}
    for row in rows.values():
        assert row["contacts"] == 120
        assert row["agree"] is True
        assert row["checksum"] == "skipped"  # not the 100k seed-1 input
        assert row["evaluate_cpu_s"] > 0 and row["peer_cpu_s"] > 0


def test_a_difference_on_any_field_is_reported(versus: ModuleType, tmp_path: Path) -> None:
    evaluated = tmp_path / "evaluate.jsonl"
    evaluated.write_text(
        '{"contact_id":"c1","score":15,"fit_score":0,"engagement_score":25,"decay":-10}\n'
        '{"contact_id":"c2","score":0,"fit_score":0,"engagement_score":0,"decay":0}\n'
        '{"contact_id":"c3","score":50,"fit_score":50,"engagement_score":0,"decay":0}\n'
    )
    peer = tmp_path / "peer.csv"
    peer.write_text(
        "contact_id,score,fit_score,engagement_score,decay\nc1,15,0,25,-10\nc2,0,0,0,-10\nc4,0,0,0,0\n"
    )
    n, diffs = versus.disagreements(evaluated, peer)
    assert n == 3
    assert diffs == [
        "c2: evaluate score=0, fit_score=0, engagement_score=0, decay=0, "
        "peer score=0, fit_score=0, engagement_score=0, decay=-10",
        "c3: evaluate score=50, fit_score=50, engagement_score=0, decay=0, peer missing",
        "c4: evaluate missing, peer score=0, fit_score=0, engagement_score=0, decay=0",
    ]


def test_only_the_100k_seed_1_input_is_held_to_the_recorded_checksums(
    versus: ModuleType, tiny_data: Path
) -> None:
    assert versus.is_seed1_100k(tiny_data) is False
    assert set(versus.EXPECTED_OUTPUT) == {"bant.yaml", "smarketing-2h.yaml"}


def test_the_peer_environment_pins_the_polars_of_the_bench_extra() -> None:
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["bench"]
    lines = (BENCH / "peer" / "requirements.txt").read_text().splitlines()
    pins = [line for line in lines if line and not line.startswith("#")]
    assert pins == extra
    assert all(re.fullmatch(r"[a-z0-9-]+==[0-9.]+", pin) for pin in pins)
