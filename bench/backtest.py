#!/usr/bin/env python3
"""``leadsync backtest`` against ``leadsync evaluate`` on the same input, side by side.

    python bench/backtest.py --data /work/benchdata/100k [--rules examples/rules/smarketing-2h.yaml]
                             [--baseline examples/rules/score-70-24h.yaml] [--repeat 3] [--cpu N]

The generated data has no outcomes: each contact now in ``customer`` is taken as won at its
``stage_changed_at`` (else 30 days after creation), written to a temporary outcomes.jsonl.
Each repeat runs ``evaluate --out /dev/null``, ``backtest`` with the one playbook, and
``backtest`` with the baseline too (``--format json --out /dev/null``), as separate processes
pinned to one core; CPU seconds (user + system) and peak RSS from ``wait4``. Prints the best of
the repeats and the ratio backtest ÷ evaluate (the target: at most 5, peak RSS under 2 GB).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # report.py, next to this file
from report import _measure

ROOT = Path(__file__).resolve().parents[1]


def write_outcomes(contacts: Path, out: Path) -> tuple[str, str]:
    """Customers as won; returns the first and last creation dates (the backtest's period)."""
    first, last = "9999", "0000"
    with contacts.open() as src, out.open("w") as dst:
        for line in src:
            c = json.loads(line)
            first, last = min(first, c["created_at"][:10]), max(last, c["created_at"][:10])
            if c.get("stage") == "customer":
                created = datetime.fromisoformat(c["created_at"])
                at = c.get("stage_changed_at") or (created + timedelta(days=30)).isoformat()
                dst.write(json.dumps({"contact_id": c["id"], "outcome": "won", "at": at}) + "\n")
    return first, last


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--rules", type=Path, default=ROOT / "examples" / "rules" / "smarketing-2h.yaml")
    parser.add_argument("--baseline", type=Path, default=ROOT / "examples" / "rules" / "score-70-24h.yaml")
    parser.add_argument("--now", default="2026-11-23T10:00:00Z")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cpu", type=int, default=None)
    parser.add_argument("--leadsync", default=str(ROOT / ".venv" / "bin" / "leadsync"))
    args = parser.parse_args()
    cpu = args.cpu if args.cpu is not None else min(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory() as tmp:
        outcomes = Path(tmp) / "outcomes.jsonl"
        first, last = write_outcomes(args.data / "contacts.jsonl", outcomes)
        inputs = [
            "--contacts", str(args.data / "contacts.jsonl"),
            "--activities", str(args.data / "activities.jsonl"),
            "--owners", str(args.data / "owners.jsonl"),
        ]  # fmt: skip
        evaluate = [args.leadsync, "evaluate", "--rules", str(args.rules), *inputs, "--now", args.now]
        evaluate += ["--out", os.devnull]
        backtest = [
            args.leadsync,
            "backtest",
            "--rules",
            str(args.rules),
            *inputs,
            "--outcomes",
            str(outcomes),
        ]
        backtest += ["--from", first, "--to", last, "--format", "json", "--out", os.devnull]
        both = [*backtest, "--baseline", str(args.baseline)]
        runs: dict[str, list[tuple[float, float]]] = {"evaluate": [], "backtest": [], "backtest+baseline": []}
        for _ in range(args.repeat):
            runs["evaluate"].append(_measure(evaluate, cpu))
            runs["backtest"].append(_measure(backtest, cpu))
            runs["backtest+baseline"].append(_measure(both, cpu))
    best = {name: (min(c for c, _ in r), max(m for _, m in r)) for name, r in runs.items()}
    for name, (seconds, rss) in best.items():
        print(f"{name:17}  {seconds:6.1f} CPU s (best of {args.repeat})  peak RSS {rss:,.0f} MiB")
    ratio = best["backtest"][0] / best["evaluate"][0]
    both_ratio = best["backtest+baseline"][0] / best["evaluate"][0]
    print(
        f"backtest / evaluate: {ratio:.2f} (target <= 5); with the baseline too: {both_ratio:.2f};"
        f" peak RSS {best['backtest+baseline'][1]:,.0f} MiB (target < 2048)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
