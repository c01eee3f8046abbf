"""`bench/run.py` (evaluate end to end, pinned, CPU seconds and peak RSS) runs at HEAD on a tiny input."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.bench.runbench import run_bench


def test_the_run_bench_prints_a_row_per_rules_file(tiny_data: Path) -> None:
    leadsync = str(Path(sys.executable).with_name("leadsync"))
    done = run_bench("run.py", "--data", str(tiny_data), "--leadsync", leadsync)
    rows = [line for line in done.stdout.splitlines() if line.startswith("| `")]
    assert [row.split(" | ")[0:2] for row in rows] == [
        ["| `bant.yaml`", "120"],
        ["| `smarketing-2h.yaml`", "120"],
    ]
