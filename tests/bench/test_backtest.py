"""`bench/backtest.py` (backtest against evaluate, pinned, CPU seconds and peak RSS) runs at HEAD
on a tiny input."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.bench.runbench import run_bench


def test_the_backtest_bench_prints_the_commands_and_their_ratio(tiny_data: Path) -> None:
    leadsync = str(Path(sys.executable).with_name("leadsync"))
    done = run_bench("backtest.py", "--data", str(tiny_data), "--repeat", "1", "--leadsync", leadsync)
    lines = done.stdout.splitlines()
    assert lines[0].startswith("evaluate ") and lines[1].startswith("backtest ")
    assert lines[2].startswith("backtest+baseline ")
    assert lines[3].startswith("backtest / evaluate: ")
