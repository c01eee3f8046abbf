#!/usr/bin/env python3
"""Peak RSS of ``leadsync evaluate`` at two input sizes, and their ratio (issue 14, item 3).

    python bench/evaluate_memory.py                      # 100,000 and 1,000,000 contacts x 20
    python bench/evaluate_memory.py --sizes 200,2000 --activities-per-contact 3 --json
    python bench/evaluate_memory.py --data 100000=/work/benchdata/100k --sizes 100000,1000000

For each size, the input is generated with ``bench/generate.py`` (seed 1) under ``--work`` (default
a new directory in ``$TMPDIR``; 1,000,000 x 20 is about 4 GB and 3-4 minutes) unless ``--data
SIZE=DIR`` names one already made, and deleted at the end unless ``--keep``. Then

    leadsync evaluate --rules R --contacts C --activities A --owners O --now NOW --out /dev/null

runs as a child process; its peak resident set size is ``ru_maxrss`` from ``os.wait4`` (KiB on
Linux, shown in MiB), its CPU seconds user + system from the same call. This harness imports only
the standard library, so that its own RSS stays small (Linux charges a parent's high-water RSS at
fork/exec to the child). Prints a Markdown row per size and the ratio of the largest size's peak
RSS to the smallest's (target: at most 1.2); ``--json`` adds a one-line summary.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_NOW = "2026-11-23T10:00:00Z"
TARGET_RATIO = 1.2


def generate(contacts: int, per_contact: int, out: Path, now: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            sys.executable,
            str(HERE / "generate.py"),
            "--contacts",
            str(contacts),
            "--activities-per-contact",
            str(per_contact),
            "--seed",
            "1",
            "--now",
            now,
            "--out",
            str(out),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def run_evaluate(cmd: list[str]) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, peak RSS KiB) of one child; exits on its failure."""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            err.seek(0)
            sys.exit(
                f"leadsync evaluate exited with {code}:\n{err.read()[-3000:].decode('utf-8', 'replace')}"
            )
    rss = usage.ru_maxrss if sys.platform != "darwin" else usage.ru_maxrss // 1024
    return wall, usage.ru_utime + usage.ru_stime, rss


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--sizes", default="100000,1000000", help="contact counts, comma-separated")
    p.add_argument("--activities-per-contact", type=int, default=20)
    p.add_argument("--rules", default=str(ROOT / "examples" / "rules" / "bant.yaml"))
    p.add_argument("--now", default=DEFAULT_NOW)
    p.add_argument("--data", action="append", default=[], metavar="SIZE=DIR", help="use this input for SIZE")
    p.add_argument(
        "--work", type=Path, default=None, help="where to generate (default: a temporary directory)"
    )
    p.add_argument("--keep", action="store_true", help="keep the generated inputs")
    p.add_argument(
        "--leadsync", default=str(ROOT / ".venv" / "bin" / "leadsync"), help="the leadsync executable"
    )
    p.add_argument("--json", action="store_true", help="also print a one-line JSON summary")
    a = p.parse_args(argv)

    sizes = [int(s) for s in a.sizes.split(",") if s.strip()]
    given = {int(k): Path(v) for k, v in (d.split("=", 1) for d in a.data)}
    if not (Path(a.leadsync).exists() or shutil.which(a.leadsync)):
        p.error(f"no leadsync executable at {a.leadsync}; pass --leadsync PATH")
    work = a.work or Path(tempfile.mkdtemp(prefix="leadsync-evaluate-memory-"))
    made: list[Path] = []
    rows = []
    try:
        print("| contacts | activities/contact | input MiB | CPU s | wall s | peak RSS MiB |")
        print("|---:|---:|---:|---:|---:|---:|")
        for size in sizes:
            data = given.get(size)
            if data is None:
                data = work / str(size)
                print(f"generating {size:,} x {a.activities_per_contact} into {data} ...", file=sys.stderr)
                generate(size, a.activities_per_contact, data, a.now)
                made.append(data)
            files = [data / f for f in ("contacts.jsonl", "activities.jsonl", "owners.jsonl")]
            cmd = [a.leadsync, "evaluate", "--rules", a.rules, "--contacts", str(files[0])]
            cmd += [
                "--activities",
                str(files[1]),
                "--owners",
                str(files[2]),
                "--now",
                a.now,
                "--out",
                os.devnull,
            ]
            wall, cpu, rss = run_evaluate(cmd)
            mib = (files[0].stat().st_size + files[1].stat().st_size) / 2**20
            rows.append(
                {"contacts": size, "input_mib": round(mib, 1), "cpu_s": round(cpu, 2), "rss_mib": rss / 1024}
            )
            per = a.activities_per_contact
            cells = f"{size:,} | {per} | {mib:,.0f} | {cpu:.1f} | {wall:.1f} | {rss / 1024:,.0f}"
            print(f"| {cells} |", flush=True)
            if data in made and not a.keep:
                shutil.rmtree(data, ignore_errors=True)
    finally:
        if not a.keep:
            for data in made:
                shutil.rmtree(data, ignore_errors=True)
            if a.work is None:
                shutil.rmtree(work, ignore_errors=True)
    ratio = rows[-1]["rss_mib"] / rows[0]["rss_mib"]
    verdict = "meets" if ratio <= TARGET_RATIO else "MISSES"
    print(f"\nRSS({sizes[-1]:,}) / RSS({sizes[0]:,}) = {ratio:.2f} ({verdict} the target <= {TARGET_RATIO})")
    if a.json:
        print(json.dumps({"runs": rows, "rss_ratio": round(ratio, 3), "target": TARGET_RATIO}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
