#!/usr/bin/env python3
"""Time `leadsync evaluate` end to end on one core and report its peak RSS.

    python bench/run.py --generate                      # both example rules files, 100k x 20
    python bench/run.py --rules examples/rules/bant.yaml --data DIR [--now ...] [--repeat 3]

Runs, for each rules file,

    leadsync evaluate --rules R --contacts DIR/contacts.jsonl --activities DIR/activities.jsonl
                      --owners DIR/owners.jsonl --now NOW --out /dev/null

as a child process pinned to one CPU (``taskset -c N`` when it exists, else
``os.sched_setaffinity`` in the child before exec), measures its CPU seconds (user + system, from
``os.wait4``: what a per-core rate is read on, since the machine may be busy), the wall time from
spawn to exit and the child's peak resident set size (``ru_maxrss``, KiB on Linux), and prints a
Markdown table row per rules file: the best (least CPU) of ``--repeat`` runs, with the largest peak
RSS seen over them.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_NOW = "2026-11-23T10:00:00Z"
DEFAULT_RULES = ["examples/rules/bant.yaml", "examples/rules/smarketing-2h.yaml"]
DEFAULT_DATA = HERE / "out" / "data"
FILES = ("contacts.jsonl", "activities.jsonl", "owners.jsonl")
TARGET_RATE = 20_000  # contacts per CPU-second
TARGET_RSS_MIB = 1024


def count_lines(path: Path) -> int:
    n = 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 22):
            n += chunk.count(b"\n")
    return n


_COUNT = """
import sys, orjson
lines, ids = 0, set()
with open(sys.argv[1], "rb") as f:
    for raw in f:
        if raw.strip():
            lines += 1
            ids.add(str(orjson.loads(raw)["id"]))
print(lines, len(ids))
"""


def count_activities(path: Path) -> tuple[int, int]:
    """(lines, distinct activity ids); repeated ids are the same activity (CONTRACT §1).

    Done in a child so this process stays small: Linux charges the parent's high-water RSS at
    fork/exec time to the child's ``ru_maxrss``.
    """
    out = subprocess.run(
        [sys.executable, "-c", _COUNT, str(path)], check=True, capture_output=True, text=True
    ).stdout.split()
    return int(out[0]), int(out[1])


def pick_cpu() -> int:
    """The first CPU this process may run on (CPU 0 may be outside a container's set)."""
    try:
        return min(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return 0


def resolve(path: str) -> Path:
    """A path as given, else relative to the repository root."""
    p = Path(path)
    if p.exists() or p.is_absolute():
        return p
    q = ROOT / p
    return q if q.exists() else p


def run_once(
    cmd: list[str], cpu: int, stdout: int | None = subprocess.DEVNULL
) -> tuple[float, float, int, int, str]:
    """(wall seconds, CPU seconds, peak RSS KiB, exit status, stderr tail) of one pinned run."""
    preexec = None
    taskset = shutil.which("taskset")
    if taskset:
        cmd = [taskset, "-c", str(cpu), *cmd]  # taskset execs: same pid, same rusage
    elif hasattr(os, "sched_setaffinity"):

        def preexec() -> None:
            os.sched_setaffinity(0, {cpu})

    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=stdout, stderr=err, preexec_fn=preexec)
        _, status, usage = os.wait4(proc.pid, 0)
        secs = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)  # we reaped it, not Popen
        err.seek(0)
        tail = err.read()[-4000:].decode("utf-8", "replace")
    rss_kib = usage.ru_maxrss if sys.platform != "darwin" else usage.ru_maxrss // 1024
    return secs, usage.ru_utime + usage.ru_stime, rss_kib, proc.returncode, tail


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--rules",
        action="append",
        help="rules file (repeatable; default: " + " and ".join(DEFAULT_RULES) + ")",
    )
    p.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="directory with contacts.jsonl, activities.jsonl, owners.jsonl (default bench/out/data)",
    )
    p.add_argument("--now", default=DEFAULT_NOW, help=f"default {DEFAULT_NOW}")
    p.add_argument("--repeat", type=int, default=1, help="runs per rules file; the best is shown")
    p.add_argument(
        "--leadsync",
        default=str(ROOT / ".venv" / "bin" / "leadsync"),
        help="the leadsync executable (default .venv/bin/leadsync of this repo)",
    )
    p.add_argument(
        "--generate", action="store_true", help="generate the data into --data first if it is missing"
    )
    p.add_argument("--contacts", type=int, default=100_000, help="with --generate")
    p.add_argument("--activities-per-contact", type=int, default=20, help="with --generate")
    p.add_argument("--seed", type=int, default=1, help="with --generate")
    p.add_argument("--cpu", type=int, default=None, help="CPU to pin to (default: first allowed)")
    a = p.parse_args(argv)

    data: Path = a.data
    missing = [f for f in FILES if not (data / f).exists()]
    if missing and a.generate:
        print(f"generating {a.contacts:,} x {a.activities_per_contact} into {data} ...", file=sys.stderr)
        subprocess.run(
            [
                sys.executable,
                str(HERE / "generate.py"),
                "--contacts",
                str(a.contacts),
                "--activities-per-contact",
                str(a.activities_per_contact),
                "--seed",
                str(a.seed),
                "--now",
                a.now,
                "--out",
                str(data),
            ],
            check=True,
        )
    elif missing:
        p.error(f"{data} lacks {', '.join(missing)}; pass --generate or run bench/generate.py")

    leadsync = Path(a.leadsync)
    if not (leadsync.exists() or shutil.which(a.leadsync)):
        p.error(f"no leadsync executable at {leadsync}; pass --leadsync PATH")
    rules_files = [resolve(r) for r in (a.rules or DEFAULT_RULES)]
    for r in rules_files:
        if not r.exists():
            p.error(f"rules file {r} does not exist")

    contacts = count_lines(data / "contacts.jsonl")
    act_lines, activities = count_activities(data / "activities.jsonl")
    cpu = pick_cpu() if a.cpu is None else a.cpu
    print(
        f"# {cpu_model()}, pinned to CPU {cpu}; Python {platform.python_version()}; "
        f"{contacts:,} contacts, {activities:,} activities ({act_lines:,} lines); "
        f"best of {a.repeat}",
        file=sys.stderr,
    )

    print("| rules | contacts | activities | CPU s | contacts per CPU-s | wall s | peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    failed = False
    for rules in rules_files:
        cmd = [
            str(leadsync),
            "evaluate",
            "--rules",
            str(rules),
            "--contacts",
            str(data / "contacts.jsonl"),
            "--activities",
            str(data / "activities.jsonl"),
            "--owners",
            str(data / "owners.jsonl"),
            "--now",
            a.now,
            "--out",
            os.devnull,
        ]
        best: tuple[float, float] | None = None  # (CPU s, wall s) of the run with the least CPU
        peak = 0
        for _ in range(max(1, a.repeat)):
            secs, cpu_s, rss, code, tail = run_once(cmd, cpu)
            if code != 0:
                print(f"leadsync exited with {code} for {rules}:\n{tail}", file=sys.stderr)
                failed = True
                break
            best = (cpu_s, secs) if best is None else min(best, (cpu_s, secs))
            peak = max(peak, rss)
        if best is None:
            continue
        rate = contacts / best[0]
        mib = peak / 1024
        print(
            f"| `{rules.name}` | {contacts:,} | {activities:,} | {best[0]:.2f} | {rate:,.0f} "
            f"| {best[1]:.2f} | {mib:,.0f} |",
            flush=True,
        )
        ok = rate >= TARGET_RATE and mib < TARGET_RSS_MIB
        print(
            f"#   {rules.name}: {'meets' if ok else 'MISSES'} the target "
            f"(>= {TARGET_RATE:,} contacts per CPU-second, < {TARGET_RSS_MIB} MiB)",
            file=sys.stderr,
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
