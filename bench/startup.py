#!/usr/bin/env python3
"""What starting `leadsync` costs: CPU seconds of `--version`, `--help` and `evaluate --help`.

    python bench/startup.py [--repeat 5] [--json]

Each command runs as a child process pinned to one core, ``--repeat`` times; the best (least CPU:
user + system, from ``os.wait4``) counts, with the largest peak RSS, and its ratio to the floor: the
same interpreter starting and doing nothing (``python -c pass``, the Python beside the ``leadsync``
script), measured alike, since the machine is noisy. The target is
``leadsync --version`` within ``TARGET_CPU_S`` CPU seconds (issue 14): a command that needs neither
the engine nor the daemon's layers must not import them. Prints a Markdown table on standard output
(or, with ``--json``, a one-line JSON summary) and the machine on standard error; exits 0 either
way (a target missed is a figure, not a failure), 1 when a command fails.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

from run import ROOT, cpu_model, pick_cpu, run_once  # bench/run.py: stdlib only

TARGET_CPU_S = 0.2  # leadsync --version
COMMANDS = (("--version",), ("--help",), ("evaluate", "--help"))


def measure(cmd: list[str], repeat: int, cpu: int) -> dict[str, object]:
    cpus, walls, peak = [], [], 0
    for _ in range(max(1, repeat)):
        wall, cpu_s, rss, code, tail = run_once(cmd, cpu)
        if code != 0:
            raise SystemExit(f"startup: {' '.join(cmd)} exited with {code}:\n{tail}")
        cpus.append(cpu_s)
        walls.append(wall)
        peak = max(peak, rss)
    return {
        "command": " ".join([Path(cmd[0]).name, *cmd[1:]]),
        "cpu_s": round(min(cpus), 3),
        "wall_s": round(min(walls), 3),
        "rss_mib": round(peak / 1024, 1),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=5, help="runs of each command; the best counts")
    p.add_argument("--leadsync", default=str(ROOT / ".venv" / "bin" / "leadsync"))
    p.add_argument("--cpu", type=int, default=None, help="the core to pin to (default: the first allowed)")
    p.add_argument("--json", action="store_true", help="print a one-line JSON summary instead of the table")
    a = p.parse_args(argv)
    cpu = pick_cpu() if a.cpu is None else a.cpu
    print(f"# {cpu_model()}, pinned to CPU {cpu}; Python {platform.python_version()}", file=sys.stderr)
    python = Path(a.leadsync).with_name("python")
    floor = measure([str(python) if python.exists() else sys.executable, "-c", "pass"], a.repeat, cpu)
    rows = [measure([a.leadsync, *args], a.repeat, cpu) for args in COMMANDS]
    base = floor["cpu_s"]
    assert isinstance(base, float)
    for r in (floor, *rows):
        assert isinstance(r["cpu_s"], float)
        r["x_floor"] = round(r["cpu_s"] / base, 2) if base else None
    version = rows[0]["cpu_s"]
    assert isinstance(version, float)
    met = version <= TARGET_CPU_S
    if a.json:
        print(json.dumps({"target_cpu_s": TARGET_CPU_S, "target_met": met, "floor": floor, "commands": rows}))
    else:
        print("| command | CPU s | ÷ floor | wall s | peak RSS MiB |")
        print("|---|---:|---:|---:|---:|")
        for r in (floor, *rows):
            print(
                f"| `{r['command']}` | {r['cpu_s']:.3f} | {r['x_floor']} "
                f"| {r['wall_s']:.3f} | {r['rss_mib']:.0f} |"
            )
    verdict = "met" if met else "NOT met"
    print(f"# leadsync --version <= {TARGET_CPU_S} CPU s: {verdict} ({version:.3f})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
