#!/usr/bin/env python3
"""``leadsync report`` against ``leadsync evaluate`` on the same input, side by side.

    python bench/report.py --data /work/benchdata/100k [--rules examples/rules/smarketing-2h.yaml]
                           [--repeat 3] [--cpu N]

Each repeat runs ``evaluate --out /dev/null`` and then ``report --format json --out /dev/null``
as separate processes pinned to one core, and reads each process's own CPU seconds (user +
system) and peak RSS from ``wait4``. CPU seconds, not wall time: the machine may be shared.
Prints the best of the repeats for each and the ratio report ÷ evaluate (the target: at most
1.5, with peak RSS under 1 GB).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _measure(args: list[str], cpu: int) -> tuple[float, float]:
    """(CPU seconds, peak RSS in MiB) of one process."""
    process = subprocess.Popen(["taskset", "-c", str(cpu), *args], stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(args)}")
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--rules", type=Path, default=ROOT / "examples" / "rules" / "smarketing-2h.yaml")
    parser.add_argument("--now", default="2026-11-23T10:00:00Z")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cpu", type=int, default=None)
    parser.add_argument("--leadsync", default=str(ROOT / ".venv" / "bin" / "leadsync"))
    args = parser.parse_args()
    cpu = args.cpu if args.cpu is not None else min(os.sched_getaffinity(0))
    records = [
        "--rules", str(args.rules),
        "--contacts", str(args.data / "contacts.jsonl"),
        "--activities", str(args.data / "activities.jsonl"),
        "--owners", str(args.data / "owners.jsonl"),
        "--now", args.now,
    ]  # fmt: skip
    evaluate = [args.leadsync, "evaluate", *records, "--out", os.devnull]
    report = [args.leadsync, "report", *records, "--format", "json", "--out", os.devnull]
    runs: dict[str, list[tuple[float, float]]] = {"evaluate": [], "report": []}
    for _ in range(args.repeat):
        runs["evaluate"].append(_measure(evaluate, cpu))
        runs["report"].append(_measure(report, cpu))
    best = {name: (min(c for c, _ in r), max(m for _, m in r)) for name, r in runs.items()}
    for name, (seconds, rss) in best.items():
        print(f"{name:8}  {seconds:6.1f} CPU s (best of {args.repeat})  peak RSS {rss:,.0f} MiB")
    ratio = best["report"][0] / best["evaluate"][0]
    print(f"report / evaluate: {ratio:.2f} (target <= 1.5); report's peak RSS {best['report'][1]:,.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
