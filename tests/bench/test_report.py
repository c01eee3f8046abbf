"""`bench/report.py` (report against evaluate, pinned, CPU seconds and peak RSS) runs at HEAD on a
tiny input."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.bench.runbench import run_bench


def test_the_report_bench_prints_both_commands_and_their_ratio(tiny_data: Path) -> None:
    leadsync = str(Path(sys.executable).with_name("leadsync"))
    done = run_bench("report.py", "--data", str(tiny_data), "--repeat", "1", "--leadsync", leadsync)
    lines = done.stdout.splitlines()
    assert lines[0].startswith("evaluate ") and lines[1].startswith("report ")
    assert lines[2].startswith("report / evaluate: ")
