"""`bench/engine.py` (evaluate's phases in one process) runs at HEAD on a tiny input."""

from __future__ import annotations

from pathlib import Path

from tests.bench.runbench import run_bench


def test_the_engine_bench_prints_a_row(tiny_data: Path) -> None:
    done = run_bench("engine.py", "--rules", "examples/rules/bant.yaml", "--data", str(tiny_data))
    assert done.stdout.startswith("| `bant.yaml` | 120 |"), done.stdout
