"""`bench/startup.py` (what starting leadsync costs) runs at HEAD and reports every command."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.bench.runbench import run_bench


def test_the_startup_bench_reports_three_commands() -> None:
    leadsync = str(Path(sys.executable).with_name("leadsync"))
    summary = json.loads(run_bench("startup.py", "--repeat", "1", "--json", "--leadsync", leadsync).stdout)
    assert summary["floor"]["command"] == "python -c pass"
    assert [c["command"] for c in summary["commands"]] == [
        "leadsync --version",
        "leadsync --help",
        "leadsync evaluate --help",
    ]
    assert summary["target_cpu_s"] == 0.2
    assert all(c["cpu_s"] > 0 for c in summary["commands"])
