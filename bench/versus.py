#!/usr/bin/env python3
"""`leadsync evaluate` against the dataframe peer (bench/peer/score.py), side by side in one run.

    python bench/versus.py --data /work/benchdata/100k --repeat 3 [--json]

For each playbook (``examples/rules/bant.yaml`` and ``smarketing-2h.yaml``, or the ``--rules`` named),
``--repeat`` times, alternately:

    leadsync evaluate --rules R --contacts … --activities … --owners … --now NOW --out EVAL.jsonl
    PEER_PYTHON bench/peer/score.py --playbook P --contacts … --activities … --now NOW --out PEER.csv

each as a child process pinned to one core, measured by its CPU seconds (user + system, from
``os.wait4``; the machine may be busy, so not wall time) and its peak RSS. ``evaluate`` runs the whole
decision procedure end to end (its output written to a file); the peer computes only the scores.
The best (least CPU) of the runs counts; the ratio evaluate ÷ peer is the figure (target: at most 1.0).

Checks, which fail the run (exit 1) loudly:

- the peer agrees with ``evaluate`` on every contact's score, fit_score, engagement_score and decay;
- on the 100,000 x 20 seed-1 input (recognised by its files' SHA-256), ``evaluate``'s output is
  byte-identical to today's (``EXPECTED_OUTPUT``); on any other input that check is skipped, said so.

Prints a Markdown table on standard output (or, with ``--json``, a one-line JSON summary) and the
machine and progress on standard error. The peer runs in its own environment: ``--peer-python``,
default ``bench/peer/.venv/bin/python`` when it exists, else this interpreter (which then needs
polars: ``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from run import DEFAULT_NOW, ROOT, cpu_model, pick_cpu, resolve, run_once  # bench/run.py: stdlib only

HERE = Path(__file__).resolve().parent
PEER = HERE / "peer" / "score.py"
PEER_VENV_PYTHON = HERE / "peer" / ".venv" / "bin" / "python"
DEFAULT_RULES = ["examples/rules/bant.yaml", "examples/rules/smarketing-2h.yaml"]
FIELDS = ("score", "fit_score", "engagement_score", "decay")
TARGET = 1.0  # evaluate ÷ peer, CPU seconds

# The 100,000 x 20 input: `python bench/generate.py --contacts 100000 --activities-per-contact 20
# --out DIR` (seed 1), as in /work/benchdata/100k.
SEED1_100K = {
    "contacts.jsonl": "629e24f9c63bef1864159538462102319187037b45085eb4143fbc5be5ffe272",
    "activities.jsonl": "8344dc80dcdf7b8d5a276a16c0fc9c865d29a684366f254a6996bbb058597b3e",
    "owners.jsonl": "b1f29390bfe6c3f03a05525ba30abed832466afc9f150d41896ee24da6b31292",
}
# What `leadsync evaluate --now 2026-11-23T10:00:00Z --owners …/owners.jsonl` writes on that input
# (commit 5446979, before issue 14's speed work): it must stay byte-identical. bant.yaml's changed
# once since, by CONTRACT §8 alone: its `notify: owner` (was `notify: sales`) lists `"to":
# ["owner:ID"]` where `"to": "sales"` was; every other byte of its 416 notices and 99,584 other
# decisions is as at 5446979 (e055e4e3…, compared with the `to` values masked).
EXPECTED_OUTPUT = {
    "bant.yaml": "4ed8109056910eeb852da2309585e8bb8f3d5778f9ffbf2ed6d237888677a3c7",
    "smarketing-2h.yaml": "ca62d203698ed09474c7c86d108a3bbbad1680e31340f0939acf89a115d6f96c",
}


@dataclass
class Best:
    """The least-CPU run of one side, and the largest peak RSS over its runs."""

    cpu: float = float("inf")
    wall: float = 0.0
    rss_kib: int = 0
    runs: list[float] = field(default_factory=list)

    def add(self, wall: float, cpu: float, rss_kib: int) -> None:
        self.runs.append(cpu)
        if cpu < self.cpu:
            self.cpu, self.wall = cpu, wall
        self.rss_kib = max(self.rss_kib, rss_kib)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def is_seed1_100k(data: Path) -> bool:
    """Whether ``data`` holds the input the expected checksums were made from."""
    return all(
        (data / name).exists() and sha256(data / name) == digest for name, digest in SEED1_100K.items()
    )


def disagreements(evaluated: Path, peer: Path, limit: int = 5) -> tuple[int, list[str]]:
    """(contacts compared, up to ``limit`` differences as text) between evaluate's decisions and the
    peer's scores; a contact missing from either side is a difference."""
    want: dict[str, tuple[float, ...]] = {}
    with evaluated.open("rb") as f:
        for line in f:
            d = json.loads(line)
            want[d["contact_id"]] = tuple(float(d[k]) for k in FIELDS)
    got: dict[str, tuple[float, ...]] = {}
    with peer.open(newline="") as f:
        for row in csv.DictReader(f):
            got[row["contact_id"]] = tuple(float(row[k]) for k in FIELDS)
    diffs = []
    for cid in sorted(want.keys() | got.keys()):
        w, g = want.get(cid), got.get(cid)
        if w != g:
            diffs.append(f"{cid}: evaluate {_show(w)}, peer {_show(g)}")
    return len(want), diffs[:limit] + ([f"... {len(diffs) - limit} more"] if len(diffs) > limit else [])


def _show(values: tuple[float, ...] | None) -> str:
    if values is None:
        return "missing"
    return ", ".join(f"{k}={v:g}" for k, v in zip(FIELDS, values, strict=True))


def peer_python(given: str | None) -> str:
    if given:
        return given
    return str(PEER_VENV_PYTHON) if PEER_VENV_PYTHON.exists() else sys.executable


def check_polars(python: str) -> str | None:
    """None when ``python`` imports polars, else what to do."""
    probe = subprocess.run([python, "-c", "import polars"], capture_output=True, text=True)
    if probe.returncode == 0:
        return None
    return (
        f"{python} cannot import polars; make the peer's environment: python3 -m venv bench/peer/.venv "
        "&& bench/peer/.venv/bin/pip install -r bench/peer/requirements.txt (or pass --peer-python)"
    )


def compare(a: argparse.Namespace, rules: Path, out: Path, cpu: int, seed1: bool) -> dict[str, Any]:
    """One playbook: the alternating runs, the checks, and its summary."""
    data: Path = a.data
    playbook = rules.name.removesuffix(".yaml")
    evaluated, scored = out / f"evaluate-{playbook}.jsonl", out / f"peer-{playbook}.csv"
    common = ["--contacts", str(data / "contacts.jsonl"), "--activities", str(data / "activities.jsonl")]
    evaluate = [a.leadsync, "evaluate", "--rules", str(rules), *common]
    evaluate += ["--owners", str(data / "owners.jsonl"), "--now", a.now, "--out", str(evaluated)]
    peer = [a.peer_python, str(PEER), "--playbook", playbook, *common, "--now", a.now, "--out", str(scored)]
    sides = {"evaluate": (evaluate, Best()), "peer": (peer, Best())}
    for k in range(max(1, a.repeat)):
        for name, (cmd, best) in sides.items():
            wall, cpu_s, rss, code, tail = run_once(cmd, cpu)
            if code != 0:
                raise SystemExit(f"versus: {name} exited with {code} on {rules.name}:\n{tail}")
            best.add(wall, cpu_s, rss)
            print(
                f"#   {playbook} run {k + 1}: {name} {cpu_s:.2f} CPU s, {rss / 1024:.0f} MiB", file=sys.stderr
            )
    n, diffs = disagreements(evaluated, scored)
    if diffs:
        print(f"versus: the peer DISAGREES with evaluate on {rules.name}:", file=sys.stderr)
        for line in diffs:
            print(f"  {line}", file=sys.stderr)
    expected = EXPECTED_OUTPUT.get(rules.name) if seed1 else None
    digest = sha256(evaluated)
    checksum = "skipped" if expected is None else ("ok" if digest == expected else "WRONG")
    if checksum == "WRONG":
        print(
            f"versus: evaluate's output on {rules.name} has sha256 {digest}, not {expected}", file=sys.stderr
        )
    ev, pe = sides["evaluate"][1], sides["peer"][1]
    return {
        "rules": rules.name,
        "contacts": n,
        "evaluate_cpu_s": round(ev.cpu, 3),
        "peer_cpu_s": round(pe.cpu, 3),
        "ratio": round(ev.cpu / pe.cpu, 3) if pe.cpu else None,
        "evaluate_wall_s": round(ev.wall, 3),
        "peer_wall_s": round(pe.wall, 3),
        "evaluate_rss_mib": round(ev.rss_kib / 1024, 1),
        "peer_rss_mib": round(pe.rss_kib / 1024, 1),
        "agree": not diffs,
        "checksum": checksum,
        "sha256": digest,
    }


def print_table(rows: list[dict[str, Any]]) -> None:
    print(
        "| rules | contacts | evaluate CPU s | peer CPU s | **evaluate ÷ peer** | evaluate MiB "
        "| peer MiB | agree | output sha256 |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|---|")
    for r in rows:
        print(
            f"| `{r['rules']}` | {r['contacts']:,} | {r['evaluate_cpu_s']:.2f} | {r['peer_cpu_s']:.2f} "
            f"| **{r['ratio']:.2f}** | {r['evaluate_rss_mib']:,.0f} | {r['peer_rss_mib']:,.0f} "
            f"| {'yes' if r['agree'] else 'NO'} | {r['checksum']} |"
        )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--data", type=Path, default=HERE / "out" / "data", help="contacts/activities/owners.jsonl"
    )
    p.add_argument("--rules", action="append", help="repeatable; default: " + " and ".join(DEFAULT_RULES))
    p.add_argument("--now", default=DEFAULT_NOW, help=f"default {DEFAULT_NOW}")
    p.add_argument("--repeat", type=int, default=3, help="runs of each side per playbook; the best counts")
    p.add_argument("--leadsync", default=str(ROOT / ".venv" / "bin" / "leadsync"))
    p.add_argument(
        "--peer-python", default=None, help="default bench/peer/.venv/bin/python, else this Python"
    )
    p.add_argument("--cpu", type=int, default=None, help="the core to pin to (default: the first allowed)")
    p.add_argument("--json", action="store_true", help="print a one-line JSON summary instead of the table")
    a = p.parse_args(argv)
    a.peer_python = peer_python(a.peer_python)
    for name in SEED1_100K:
        if not (a.data / name).exists():
            p.error(f"{a.data / name} does not exist; make it with bench/generate.py --out {a.data}")
    rules_files = [resolve(r) for r in (a.rules or DEFAULT_RULES)]
    for r in rules_files:
        if r.name not in EXPECTED_OUTPUT:
            p.error(f"the peer knows bant.yaml and smarketing-2h.yaml only, not {r}")
    if problem := check_polars(a.peer_python):
        p.error(problem)
    os.environ["POLARS_MAX_THREADS"] = "1"  # the peer runs on one thread, as leadsync does
    cpu = pick_cpu() if a.cpu is None else a.cpu
    seed1 = is_seed1_100k(a.data)
    print(
        f"# {cpu_model()}, pinned to CPU {cpu}; Python {platform.python_version()}; best of {a.repeat}; "
        f"input {a.data} ({'100k seed-1: output checksums checked' if seed1 else 'checksums skipped'})",
        file=sys.stderr,
    )
    with tempfile.TemporaryDirectory(prefix="versus-") as tmp:
        rows = [compare(a, r, Path(tmp), cpu, seed1) for r in rules_files]
    ok = all(r["agree"] and r["checksum"] != "WRONG" for r in rows)
    met = all(r["ratio"] is not None and r["ratio"] <= TARGET for r in rows)
    if a.json:
        print(json.dumps({"ok": ok, "target": TARGET, "target_met": met, "playbooks": rows}))
    else:
        print_table(rows)
    print(
        f"# evaluate ÷ peer <= {TARGET}: {'met' if met else 'NOT met'}; "
        f"checks {'passed' if ok else 'FAILED'}",
        file=sys.stderr,
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
